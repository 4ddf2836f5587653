"""Automation endpoints: rules (CRUD, on/off, dry run, versions, export/import), runs, webhooks,
deliveries, inbound endpoints, and the public signed inbound hook."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from ninja import Router, Schema, Status
from ninja.pagination import paginate

from guanxi.api.errors import ApiError, error_body
from guanxi.api.pagination import PageNumbers
from guanxi.api.schemas import InputSchema
from guanxi.core.http import AuthedRequest

from . import engine, selectors, services, webhooks
from .models import InboundWebhook, RuleRun
from .triggers import MODELS

router = Router(tags=["automation"])


class RuleIn(InputSchema):
    name: str
    description: str = ""
    trigger: str
    trigger_config: dict[str, Any] = {}
    conditions: dict[str, Any] = {}
    actions: list[dict[str, Any]] = []
    active: bool = False


class RulePatch(InputSchema):
    name: str | None = None
    description: str | None = None
    trigger: str | None = None
    trigger_config: dict[str, Any] | None = None
    conditions: dict[str, Any] | None = None
    actions: list[dict[str, Any]] | None = None


class RuleOut(Schema):
    id: int
    name: str
    description: str
    active: bool
    trigger: str
    trigger_config: dict[str, Any]
    conditions: dict[str, Any]
    actions: list[dict[str, Any]]
    version: int
    updated_at: datetime


class VersionOut(Schema):
    version: int
    definition: dict[str, Any]
    changed_by: str | None = None
    changed_at: datetime
    summary: str

    @staticmethod
    def resolve_changed_by(obj: Any) -> str | None:
        return str(obj.changed_by) if obj.changed_by_id else None


class RunOut(Schema):
    id: int
    rule_id: int
    event_id: int | None
    key: str
    record_type: str
    record_id: int | None
    record_repr: str
    dry_run: bool
    outcome: str
    inputs: dict[str, Any]
    actions_done: list[dict[str, Any]]
    error: str
    duration_ms: int
    created_at: datetime


class DryRunIn(InputSchema):
    record_id: int | None = None


class DryRunOut(Schema):
    conditions_hold: bool
    conditions: list[dict[str, Any]]
    actions: list[dict[str, Any]]
    run_id: int


class ImportIn(InputSchema):
    data: dict[str, Any]
    replace: bool = False


class SubscriptionIn(InputSchema):
    name: str
    url: str
    event_types: list[str]
    conditions: dict[str, Any] = {}


class SubscriptionPatch(InputSchema):
    name: str | None = None
    url: str | None = None
    event_types: list[str] | None = None
    conditions: dict[str, Any] | None = None
    active: bool | None = None


class SubscriptionOut(Schema):
    id: int
    name: str
    url: str
    event_types: list[str]
    conditions: dict[str, Any]
    active: bool
    failure_count: int
    disabled_at: datetime | None


class SubscriptionCreated(SubscriptionOut):
    secret: str


class DeliveryOut(Schema):
    id: int
    subscription_id: int | None
    run_id: int | None
    event_id: int | None
    url: str
    attempt: int
    state: str
    status_code: int | None
    response_excerpt: str
    error: str
    duration_ms: int
    next_retry_at: datetime | None
    created_at: datetime


class InboundIn(InputSchema):
    name: str
    slug: str = ""
    target: str = InboundWebhook.Target.LEAD_CREATE
    field_mapping: dict[str, str] = {}


class InboundOut(Schema):
    id: int
    name: str
    slug: str
    target: str
    field_mapping: dict[str, str]
    active: bool
    received_count: int
    last_error: str


class InboundCreated(InboundOut):
    secret: str


class CatalogOut(Schema):
    triggers: list[dict[str, Any]]
    actions: list[dict[str, Any]]
    models: list[dict[str, Any]]


# --- rules ----------------------------------------------------------------------------------------


def _rule(request: AuthedRequest, rule_id: int, action: str = "view") -> Any:
    _require(request, f"automation.{action}_rule")
    return get_object_or_404(selectors.rules_visible_to(request.user, action), pk=rule_id)


def _require(request: AuthedRequest, perm: str) -> None:
    from django.core.exceptions import PermissionDenied

    if not request.user.has_perm(perm):
        raise PermissionDenied


@router.get("/automation/catalog", response=CatalogOut)
def automation_catalog(request: AuthedRequest) -> Any:
    """The triggers, actions and record kinds a rule may use (what the builder offers)."""
    _require(request, "automation.view_rule")
    return {
        "triggers": [{"kind": t.kind, "label": str(t.label)} for t in engine.triggers().values()],
        "actions": [{"kind": a.kind, "label": str(a.label)} for a in engine.actions().values()],
        "models": [{"model": k, "label": str(v)} for k, v in MODELS.items()],
    }


@router.get("/automation/rules", response=list[RuleOut])
@paginate(PageNumbers)
def list_rules(request: AuthedRequest) -> Any:
    _require(request, "automation.view_rule")
    return selectors.rules_visible_to(request.user)


@router.post("/automation/rules", response={201: RuleOut})
def create_rule(request: AuthedRequest, body: RuleIn) -> Any:
    _require(request, "automation.add_rule")
    data = body.model_dump()
    active = data.pop("active")
    rule = services.rule_create(actor=request.user, **data)
    if active:
        rule = services.rule_set_active(rule=rule, active=True, actor=request.user)
    return Status(201, rule)


@router.get("/automation/rules/export", response=dict[str, Any])
def export_rules(request: AuthedRequest) -> Any:
    """Every rule as portable JSON (the body `POST /automation/rules/import` takes as `data`)."""
    _require(request, "automation.view_rule")
    return services.rules_export(selectors.rules_visible_to(request.user).order_by("name"))


@router.post("/automation/rules/import", response={201: list[RuleOut]})
def import_rules(request: AuthedRequest, body: ImportIn) -> Any:
    _require(request, "automation.add_rule")
    return Status(201, services.rules_import(data=body.data, actor=request.user, replace=body.replace))


@router.get("/automation/rules/{rule_id}", response=RuleOut)
def get_rule(request: AuthedRequest, rule_id: int) -> Any:
    return _rule(request, rule_id)


@router.patch("/automation/rules/{rule_id}", response=RuleOut)
def update_rule(request: AuthedRequest, rule_id: int, body: RulePatch) -> Any:
    rule = _rule(request, rule_id, "change")
    return services.rule_update(rule=rule, actor=request.user, **body.model_dump(exclude_none=True))


@router.delete("/automation/rules/{rule_id}", response={204: None})
def delete_rule(request: AuthedRequest, rule_id: int) -> Any:
    services.rule_delete(rule=_rule(request, rule_id, "delete"), actor=request.user)
    return Status(204, None)


@router.post("/automation/rules/{rule_id}/enable", response=RuleOut)
def enable_rule(request: AuthedRequest, rule_id: int) -> Any:
    return services.rule_set_active(rule=_rule(request, rule_id, "change"), active=True, actor=request.user)


@router.post("/automation/rules/{rule_id}/disable", response=RuleOut)
def disable_rule(request: AuthedRequest, rule_id: int) -> Any:
    return services.rule_set_active(rule=_rule(request, rule_id, "change"), active=False, actor=request.user)


@router.post("/automation/rules/{rule_id}/dry-run", response=DryRunOut)
def dry_run_rule(request: AuthedRequest, rule_id: int, body: DryRunIn) -> Any:
    """What the rule would do for the chosen record; nothing is written but the dry-run log row."""
    rule = _rule(request, rule_id, "change")
    spec = engine.trigger_get(rule.trigger)
    model = spec.model(rule.trigger_config) if spec is not None else ""
    record = None
    if model:
        record = selectors.record_for_dry_run(request.user, model, body.record_id)
        if record is None:
            raise ApiError(422, "validation_error", _("Some fields are not valid."), {"record_id": [_("Not found.")]})
    result = engine.rule_dry_run(rule=rule, record=record, actor=request.user)
    return {**result, "run_id": result["run"].pk}


@router.get("/automation/rules/{rule_id}/versions", response=list[VersionOut])
def rule_versions(request: AuthedRequest, rule_id: int) -> Any:
    rule = _rule(request, rule_id)
    return rule.versions.select_related("changed_by").all()


@router.get("/automation/runs", response=list[RunOut])
@paginate(PageNumbers)
def list_runs(request: AuthedRequest, rule: int | None = None, outcome: str = "") -> Any:
    _require(request, "automation.view_rulerun")
    if outcome and outcome not in RuleRun.Outcome.values:
        raise ValidationError({"outcome": _("Unknown outcome “%(value)s”.") % {"value": outcome}})
    return selectors.runs_visible_to(request.user, rule=rule, outcome=outcome)


# --- webhooks -------------------------------------------------------------------------------------


@router.get("/automation/webhooks", response=list[SubscriptionOut])
@paginate(PageNumbers)
def list_webhooks(request: AuthedRequest) -> Any:
    _require(request, "automation.view_webhooksubscription")
    return selectors.subscriptions_visible_to(request.user)


@router.post("/automation/webhooks", response={201: SubscriptionCreated})
def create_webhook(request: AuthedRequest, body: SubscriptionIn) -> Any:
    """Subscribe a URL; the answer carries the signing secret."""
    _require(request, "automation.add_webhooksubscription")
    return Status(201, services.subscription_create(actor=request.user, **body.model_dump()))


@router.patch("/automation/webhooks/{webhook_id}", response=SubscriptionOut)
def update_webhook(request: AuthedRequest, webhook_id: int, body: SubscriptionPatch) -> Any:
    _require(request, "automation.change_webhooksubscription")
    sub = get_object_or_404(selectors.subscriptions_visible_to(request.user, "change"), pk=webhook_id)
    return services.subscription_update(subscription=sub, actor=request.user, **body.model_dump(exclude_none=True))


@router.delete("/automation/webhooks/{webhook_id}", response={204: None})
def delete_webhook(request: AuthedRequest, webhook_id: int) -> Any:
    _require(request, "automation.delete_webhooksubscription")
    sub = get_object_or_404(selectors.subscriptions_visible_to(request.user, "delete"), pk=webhook_id)
    services.subscription_delete(subscription=sub, actor=request.user)
    return Status(204, None)


@router.get("/automation/deliveries", response=list[DeliveryOut])
@paginate(PageNumbers)
def list_deliveries(request: AuthedRequest, webhook: int | None = None, state: str = "") -> Any:
    _require(request, "automation.view_webhookdelivery")
    return selectors.deliveries_visible_to(request.user, subscription=webhook, state=state)


@router.get("/automation/inbound", response=list[InboundOut])
@paginate(PageNumbers)
def list_inbound(request: AuthedRequest) -> Any:
    _require(request, "automation.view_inboundwebhook")
    return selectors.inbound_visible_to(request.user)


@router.post("/automation/inbound", response={201: InboundCreated})
def create_inbound(request: AuthedRequest, body: InboundIn) -> Any:
    """Open an inbound endpoint; the answer carries its secret."""
    _require(request, "automation.add_inboundwebhook")
    return Status(201, services.inbound_create(actor=request.user, **body.model_dump()))


@router.post("/automation/hooks/{slug}", auth=None, throttle=[], response={200: dict[str, Any]})
def receive_hook(request: HttpRequest, slug: str) -> Any:
    """Public: a signed JSON post (X-Guanxi-Timestamp, X-Guanxi-Signature: sha256=HMAC(secret, ts + "." + body))
    creates or updates a record through the customers services; bad signatures 401, bad payloads 400/422."""
    hook = InboundWebhook.objects.filter(slug=slug, active=True).select_related("run_as").first()
    if hook is None:
        return _refuse(request, webhooks.InboundRefused(404, "not_found", _("Not found.")))
    try:
        webhooks.inbound_verify(
            hook,
            timestamp=request.headers.get("X-Guanxi-Timestamp", ""),
            signature=request.headers.get("X-Guanxi-Signature", ""),
            body=request.body,
        )
        try:
            payload = json.loads(request.body or b"")
        except (ValueError, UnicodeDecodeError):
            raise webhooks.InboundRefused(400, "payload_invalid", _("The body is not valid JSON.")) from None
        try:
            return webhooks.inbound_apply(hook, payload)
        except ValidationError as exc:
            from guanxi.api.errors import django_fields

            raise webhooks.InboundRefused(
                422, "validation_error", _("Some fields are not valid."), django_fields(exc)
            ) from None
        except TypeError:
            raise webhooks.InboundRefused(
                400, "payload_invalid", _("The payload has fields this endpoint does not accept.")
            ) from None
    except webhooks.InboundRefused as refused:
        webhooks.inbound_failed(hook, refused.message)
        return _refuse(request, refused)


def _refuse(request: HttpRequest, refused: webhooks.InboundRefused) -> HttpResponse:
    from guanxi.api.api import api

    return api.create_response(
        request, error_body(refused.code, refused.message, refused.fields), status=refused.status
    )
