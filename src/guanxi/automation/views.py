"""Automation settings pages (administrators): rules, the builder, dry runs, runs, versions, webhooks."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from guanxi.core.customfields import active_fields
from guanxi.core.forms import apply_service_errors
from guanxi.core.http import AuthedRequest
from guanxi.core.views import page_of, staff_perm

from . import engine, selectors, services
from .conditions import OPERATORS, field_info, record_type_key
from .forms import ImportForm, InboundForm, RuleForm, SubscriptionForm
from .models import InboundWebhook, Rule, RuleRun, WebhookDelivery
from .triggers import MODELS


def _fields_of(label: str) -> list[str]:
    model = engine.model_of(label)
    if model is None:
        return []
    names = [
        f.name
        for f in model._meta.concrete_fields
        if field_info(model, f.name) is not None and not f.name.endswith(("_pinyin", "_initials"))
    ]
    record_type = record_type_key(model)
    if record_type is not None:
        names += [f"custom.{cf.key}" for cf in active_fields(record_type)]
    if hasattr(model, "tags"):
        names.append("tags")
    return names


def _builder(rule: Rule | None, data: dict[str, Any] | None = None) -> dict[str, Any]:
    """What the Alpine builder starts from and offers."""
    current = data or (rule.definition() if rule else {})
    return {
        "rule": {
            "trigger": current.get("trigger") or "record.created",
            "trigger_config": current.get("trigger_config") or {"model": "customers.lead"},
            "conditions": current.get("conditions") or {"match": "all", "groups": []},
            "actions": current.get("actions") or [],
        },
        "triggers": [{"kind": t.kind, "label": str(t.label)} for t in engine.triggers().values()],
        "actions": [{"kind": a.kind, "label": str(a.label)} for a in engine.actions().values()],
        "models": [{"model": k, "label": str(v)} for k, v in MODELS.items()],
        "fields": {label: _fields_of(label) for label in MODELS},
        "operators": list(OPERATORS),
        "inbound": list(InboundWebhook.objects.values_list("slug", flat=True)),
        **selectors.builder_choices(),
    }


@staff_perm("automation.view_rule")
def rule_list(request: AuthedRequest) -> HttpResponse:
    rules = selectors.rules_visible_to(request.user).order_by("name")
    return render(request, "automation/rule_list.html", {"page": page_of(request, rules)})


def _rule_form_page(request: AuthedRequest, rule: Rule | None) -> HttpResponse:
    initial = {"name": rule.name, "description": rule.description, "trigger": rule.trigger} if rule else {}
    form = RuleForm(request.POST or None, initial=initial)
    posted: dict[str, Any] | None = None
    if request.method == "POST" and form.is_valid():
        values = form.cleaned_data
        posted = values
        try:
            if rule is None:
                saved = services.rule_create(actor=request.user, **values)
                messages.success(
                    request, _("Rule “%(name)s” saved; it is off until you switch it on.") % {"name": saved}
                )
            else:
                saved = services.rule_update(rule=rule, actor=request.user, **values)
                messages.success(request, _("Changes saved."))
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            return redirect("automation-rule-detail", saved.pk)
    elif request.method == "POST":
        posted = {k: request.POST.get(k) for k in ("trigger",)}
    context = {"form": form, "rule": rule, "builder": _builder(rule, posted)}
    return render(request, "automation/rule_form.html", context)


@staff_perm("automation.add_rule")
def rule_create(request: AuthedRequest) -> HttpResponse:
    return _rule_form_page(request, None)


@staff_perm("automation.change_rule")
def rule_edit(request: AuthedRequest, pk: int) -> HttpResponse:
    rule = get_object_or_404(selectors.rules_visible_to(request.user, "change"), pk=pk)
    return _rule_form_page(request, rule)


@staff_perm("automation.view_rule")
def rule_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    rule = get_object_or_404(selectors.rules_visible_to(request.user), pk=pk)
    spec = engine.trigger_get(rule.trigger)
    model = spec.model(rule.trigger_config) if spec else ""
    runs = selectors.runs_visible_to(request.user, rule=rule.pk)[:20]
    context = {
        "rule": rule,
        "trigger_label": spec.label if spec else rule.trigger,
        "record_model": model,
        "record_label": MODELS.get(model, model),
        "runs": runs,
        "action_labels": {a.kind: a.label for a in engine.actions().values()},
        "problems": selectors.rule_problems(rule),
    }
    return render(request, "automation/rule_detail.html", context)


@require_POST
@staff_perm("automation.change_rule")
def rule_toggle(request: AuthedRequest, pk: int) -> HttpResponse:
    rule = get_object_or_404(selectors.rules_visible_to(request.user, "change"), pk=pk)
    switch_on = not rule.active
    try:
        services.rule_set_active(rule=rule, active=switch_on, actor=request.user)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        on = _("Rule “%(name)s” is on.") if switch_on else _("Rule “%(name)s” is off.")
        messages.success(request, on % {"name": rule.name})
    return redirect(request.POST.get("next") or "automation-rule-list")


@require_POST
@staff_perm("automation.change_rule")
def rule_dry_run(request: AuthedRequest, pk: int) -> HttpResponse:
    """The dry-run panel: the chosen record, each condition's result and each action's plan (htmx partial)."""
    rule = get_object_or_404(selectors.rules_visible_to(request.user, "change"), pk=pk)
    spec = engine.trigger_get(rule.trigger)
    model = spec.model(rule.trigger_config) if spec else ""
    record = None
    error = ""
    if model:
        record = selectors.record_for_dry_run(request.user, model, request.POST.get("record_id"))
        if record is None:
            error = _("No %(kind)s with the id “%(id)s” that you may see.") % {
                "kind": MODELS.get(model, model),
                "id": request.POST.get("record_id", ""),
            }
    result = engine.rule_dry_run(rule=rule, record=record, actor=request.user) if not error else None
    return render(request, "automation/_dry_run.html", {"rule": rule, "result": result, "error": error})


@staff_perm("automation.view_rule")
def rule_versions(request: AuthedRequest, pk: int) -> HttpResponse:
    rule = get_object_or_404(selectors.rules_visible_to(request.user), pk=pk)
    versions = rule.versions.select_related("changed_by").all()
    return render(request, "automation/rule_versions.html", {"rule": rule, "versions": versions})


@staff_perm("automation.view_rule")
def rule_export(request: AuthedRequest) -> HttpResponse:
    data = services.rules_export(selectors.rules_visible_to(request.user).order_by("name"))
    response = JsonResponse(data, json_dumps_params={"ensure_ascii": False, "indent": 2})
    response["Content-Disposition"] = 'attachment; filename="guanxi-rules.json"'
    return response


@staff_perm("automation.add_rule")
def rule_import(request: AuthedRequest) -> HttpResponse:
    form = ImportForm(request.POST or None, request.FILES or None)
    problems: list[str] = []
    if request.method == "POST" and form.is_valid():
        try:
            made = services.rules_import(
                data=form.cleaned_data["file"], actor=request.user, replace=form.cleaned_data["replace"]
            )
        except ValidationError as exc:
            problems = [f"{key}: {' '.join(msgs)}" for key, msgs in exc.message_dict.items()]
        else:
            messages.success(request, _("%(count)s rules imported.") % {"count": len(made)})
            return redirect("automation-rule-list")
    return render(request, "automation/rule_import.html", {"form": form, "problems": problems})


@staff_perm("automation.view_rulerun")
def run_list(request: AuthedRequest) -> HttpResponse:
    rule = request.GET.get("rule", "")
    outcome = request.GET.get("outcome", "")
    if outcome not in RuleRun.Outcome.values:
        outcome = ""
    mode = request.GET.get("mode", "")
    dry = {"dry": True, "live": False}.get(mode)
    runs = selectors.runs_visible_to(
        request.user, rule=int(rule) if rule.isdigit() else None, outcome=outcome, dry_run=dry
    )
    context = {
        "page": page_of(request, runs),
        "rules": selectors.rules_visible_to(request.user).order_by("name").values_list("pk", "name"),
        "outcomes": RuleRun.Outcome.choices,
        "rule": rule,
        "outcome": outcome,
        "mode": mode,
    }
    return render(request, "automation/run_list.html", context)


@staff_perm("automation.view_webhooksubscription")
def webhook_list(request: AuthedRequest) -> HttpResponse:
    form = SubscriptionForm(request.POST or None)
    if request.method == "POST":
        if not request.user.has_perm("automation.add_webhooksubscription"):
            raise Http404
        if form.is_valid():
            try:
                sub = services.subscription_create(actor=request.user, **form.cleaned_data)
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(
                    request, _("Subscription saved. Its signing secret: %(secret)s") % {"secret": sub.secret}
                )
                return redirect("automation-webhook-detail", sub.pk)
    subs = selectors.subscriptions_visible_to(request.user).order_by("name")
    return render(request, "automation/webhook_list.html", {"form": form, "page": page_of(request, subs)})


@staff_perm("automation.view_webhooksubscription")
def webhook_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    sub = get_object_or_404(selectors.subscriptions_visible_to(request.user), pk=pk)
    state = request.GET.get("state", "")
    deliveries = selectors.deliveries_visible_to(request.user, subscription=sub.pk, state=state)
    context = {
        "sub": sub,
        "page": page_of(request, deliveries),
        "states": WebhookDelivery.State.choices,
        "state": state,
    }
    return render(request, "automation/webhook_detail.html", context)


@require_POST
@staff_perm("automation.change_webhooksubscription")
def webhook_toggle(request: AuthedRequest, pk: int) -> HttpResponse:
    sub = get_object_or_404(selectors.subscriptions_visible_to(request.user, "change"), pk=pk)
    services.subscription_update(subscription=sub, actor=request.user, active=not sub.active)
    return redirect("automation-webhook-detail", sub.pk)


@staff_perm("automation.view_inboundwebhook")
def inbound_list(request: AuthedRequest) -> HttpResponse:
    form = InboundForm(request.POST or None)
    if request.method == "POST":
        if not request.user.has_perm("automation.add_inboundwebhook"):
            raise Http404
        if form.is_valid():
            try:
                hook = services.inbound_create(actor=request.user, **form.cleaned_data)
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, _("Endpoint saved. Its secret: %(secret)s") % {"secret": hook.secret})
                return redirect("automation-inbound-list")
    hooks = selectors.inbound_visible_to(request.user).order_by("name")
    context = {
        "form": form,
        "page": page_of(request, hooks),
        "base": request.build_absolute_uri("/api/v1/automation/hooks/"),
    }
    return render(request, "automation/inbound_list.html", context)


def builder_json(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False)
