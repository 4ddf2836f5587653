"""Feedback pages: inbox, item page and its actions, recurring issues, surveys, reports, the customer's points,
and the public pages (embeddable feedback form, survey answer, resolution rating) that need no sign-in."""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from guanxi.core.forms import apply_service_errors
from guanxi.core.http import AuthedRequest
from guanxi.core.models import Tag
from guanxi.core.selectors import users_visible_to
from guanxi.core.views import list_page, page_of, staff_perm
from guanxi.customers import selectors as customer_selectors
from guanxi.customers.models import Contact

from . import lists, selectors, services
from .forms import (
    CorrectForm,
    PublicFeedbackForm,
    RedeemForm,
    RoutingRuleForm,
    ScheduleForm,
    SettingsForm,
    StaffFeedbackForm,
    SurveyForm,
    SurveySendForm,
    TopicForm,
)
from .models import Channel, FeedbackItem, FeedbackTopic, RoutingRule, Survey, SurveySchedule

PUBLIC_LIMIT = 5  # public form submissions per IP address per hour
PUBLIC_WINDOW = 3600
LINK_LIMIT = 30  # survey and rating link posts, and refused (forged, used) links, per IP address per hour


def _errors(request: AuthedRequest, exc: ValidationError) -> None:
    for message in exc.messages:
        messages.error(request, message)


# --- staff pages ------------------------------------------------------------------------------


@staff_perm("feedback.view_feedbackitem")
def feedback_list(request: AuthedRequest) -> HttpResponse:
    return list_page(request, lists.FEEDBACK, "feedback/feedback_list.html")


@staff_perm("feedback.add_feedbackitem")
def feedback_create(request: AuthedRequest) -> HttpResponse:
    """Agents log feedback heard on the phone, on a visit or by email."""
    form = StaffFeedbackForm(request.POST or None, initial={"contact": request.GET.get("contact")})
    contact = None
    contact_id = request.POST.get("contact") or request.GET.get("contact")
    if contact_id and str(contact_id).isdigit():
        contact = get_object_or_404(customer_selectors.contacts_visible_to(request.user), pk=contact_id)
    if request.method == "POST" and form.is_valid():
        try:
            item = services.feedback_create(
                kind=form.cleaned_data["kind"],
                channel=form.cleaned_data["channel"],
                text=form.cleaned_data["text"],
                severity=form.cleaned_data["severity"],
                contact=contact,
                actor=request.user,
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("Feedback recorded."))
            return redirect(item)
    return render(request, "feedback/feedback_form.html", {"form": form, "contact": contact})


def _item(request: AuthedRequest, pk: int, action: str = "view") -> FeedbackItem:
    return get_object_or_404(selectors.feedback_visible_to(request.user, action), pk=pk)


@staff_perm("feedback.view_feedbackitem")
def feedback_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    item = _item(request, pk)
    context = {
        "item": item,
        "correct_form": CorrectForm(initial={"topic": item.topic_id, "sentiment": item.sentiment}),
        "owners": users_visible_to(request.user).filter(is_active=True)
        if request.user.has_perm("feedback.change_feedbackitem")
        else [],
        "overdue": item.status in lists.OPEN and item.response_due_at and item.response_due_at < timezone.now(),
        "customer_email": services.customer_email(item),
    }
    return render(request, "feedback/feedback_detail.html", context)


@require_POST
@staff_perm("feedback.change_feedbackitem")
def feedback_act(request: AuthedRequest, pk: int, action: str) -> HttpResponse:
    """One of the item's actions (correct, assign, start, resolve, notify, close, adopt): scope, then the service."""
    item = _item(request, pk, "change")
    data = request.POST
    try:
        if action == "correct":
            topic = FeedbackTopic.objects.filter(pk=data.get("topic") or 0).first()
            services.feedback_correct(item=item, topic=topic, sentiment=data.get("sentiment", ""), actor=request.user)
            messages.success(request, _("Classification corrected."))
        elif action == "assign":
            owner = users_visible_to(request.user).filter(pk=data.get("owner") or 0, is_active=True).first()
            if owner is None:
                raise ValidationError({"owner": _("Choose who looks after this feedback.")})
            services.feedback_assign(item=item, owner=owner, actor=request.user)
            messages.success(request, _("Owner changed."))
        elif action == "start":
            services.feedback_start(item=item, actor=request.user)
        elif action == "resolve":
            services.feedback_resolve(item=item, resolution=data.get("resolution", ""), actor=request.user)
            messages.success(request, _("Resolved. Now tell the customer what was done."))
        elif action == "notify":
            services.feedback_notify_customer(item=item, actor=request.user, reason=data.get("reason", ""))
            messages.success(request, _("Customer notification recorded."))
        elif action == "close":
            services.feedback_close(item=item, actor=request.user)
            messages.success(request, _("Closed: the loop is complete."))
        elif action == "adopt":
            services.feedback_adopt(item=item, actor=request.user)
            messages.success(request, _("Suggestion adopted; the customer earns points."))
        else:
            raise ValidationError({"action": _("Unknown action.")})
    except ValidationError as exc:
        _errors(request, exc)
    return redirect(item)


@staff_perm("feedback.view_feedbackissue")
def issue_list(request: AuthedRequest) -> HttpResponse:
    rows = selectors.issues_visible_to(request.user)
    return render(request, "feedback/issue_list.html", {"page": page_of(request, rows)})


@staff_perm("feedback.view_feedbackissue")
def issue_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    issue = get_object_or_404(selectors.issues_visible_to(request.user), pk=pk)
    items = selectors.feedback_visible_to(request.user).filter(issue=issue)
    return render(request, "feedback/issue_detail.html", {"issue": issue, "page": page_of(request, items)})


@staff_perm("feedback.view_survey")
def survey_list(request: AuthedRequest) -> HttpResponse:
    return render(request, "feedback/survey_list.html", {"page": page_of(request, selectors.surveys_all())})


@staff_perm("feedback.add_survey")
def survey_create(request: AuthedRequest) -> HttpResponse:
    """The survey builder: kind, main question, extra questions, trigger and throttling."""
    form = SurveyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            survey = services.survey_create(
                name=form.cleaned_data["name"],
                kind=form.cleaned_data["kind"],
                question=form.cleaned_data["question"],
                questions=form.questions_list(),
                trigger=form.cleaned_data["trigger"],
                throttle_days=form.cleaned_data["throttle_days"],
                onboarding_days=7
                if form.cleaned_data["onboarding_days"] is None
                else form.cleaned_data["onboarding_days"],
                actor=request.user,
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("Survey saved."))
            return redirect(survey)
    return render(request, "feedback/survey_form.html", {"form": form})


@staff_perm("feedback.view_survey")
def survey_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    survey = get_object_or_404(selectors.surveys_all(), pk=pk)
    answers = survey.answers.select_related("contact").order_by("-created_at")[:20]
    return render(
        request, "feedback/survey_detail.html", {"survey": survey, "answers": answers, "send_form": SurveySendForm()}
    )


@require_POST
@staff_perm("feedback.change_survey")
def survey_send(request: AuthedRequest, pk: int) -> HttpResponse:
    """Send to chosen contacts or a tag's contacts — only those the sender may see."""
    survey = get_object_or_404(Survey, pk=pk)
    form = SurveySendForm(request.POST)
    form.is_valid()
    contacts = customer_selectors.contacts_visible_to(request.user).filter(archived_at__isnull=True)
    ids = [int(x) for x in re.findall(r"\d+", form.cleaned_data.get("contact_ids", ""))]
    tag = form.cleaned_data.get("tag", "").strip()
    if ids:
        contacts = contacts.filter(pk__in=ids)
    elif tag:
        contacts = contacts.filter(tags__in=Tag.objects.filter(name=tag))
    else:
        messages.error(request, _("Give contact ids or a tag."))
        return redirect(survey)
    try:
        result = services.survey_send(survey=survey, contacts=contacts.distinct(), actor=request.user)
    except ValidationError as exc:
        _errors(request, exc)
    else:
        messages.success(
            request,
            _("Sent to %(sent)d customers; %(skipped)d skipped (surveyed recently or no email).") % result,
        )
    return redirect(survey)


@staff_perm("feedback.view_surveyanswer")
def reports(request: AuthedRequest) -> HttpResponse:
    """CSAT, NPS with its confidence interval, CES over time and by channel/team/agent; topics; times; loop."""
    group = request.GET.get("by", "channel")
    if group not in selectors.GROUPS:
        group = "channel"
    scores = selectors.score_report(group=group)
    items = selectors.feedback_report(user=request.user, group=group)
    topics = {t.key: str(t) for t in FeedbackTopic.objects.all()}
    chart = {
        "months": [m["month"] for m in scores["months"]],
        "nps": [m.get("nps") for m in scores["months"]],
        "csat": [m.get("csat") for m in scores["months"]],
        "ces": [m.get("ces") for m in scores["months"]],
        "trend_months": [m["month"] for m in items["trend"]],
        "topics": [
            {"name": topics.get(t["topic__key"], "—"), "data": [m.get(t["topic__key"], 0) for m in items["trend"]]}
            for t in items["top_topics"]
            if t["topic__key"]
        ],
        "labels": {"nps": "NPS", "csat": "CSAT %", "ces": "CES"},
        "series": scores["series"],
    }
    groups = [
        ("channel", _("Channel")),
        ("team", _("Team")),
        ("agent", _("Agent")),
        ("product", _("Product")),
    ]
    context = {
        "scores": scores,
        "items": items,
        "group": group,
        "group_label": dict(groups)[group],
        "groups": groups,
        "chart": chart,
        "topics": topics,
        "item_groups": selectors.ITEM_GROUPS,
    }
    return render(request, "feedback/reports.html", context)


@staff_perm("feedback.view_pointsentry")
def contact_points(request: AuthedRequest, pk: int) -> HttpResponse:
    """The customer's points ledger and balance (also shown as a panel on the contact page)."""
    contact = get_object_or_404(customer_selectors.contacts_visible_to(request.user), pk=pk)
    form = RedeemForm(request.POST or None)
    if request.method == "POST":
        if not request.user.has_perm("feedback.add_pointsentry"):
            from django.core.exceptions import PermissionDenied

            raise PermissionDenied
        if form.is_valid():
            try:
                services.points_redeem(
                    contact=contact,
                    points=form.cleaned_data["points"],
                    note=form.cleaned_data["note"],
                    actor=request.user,
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, _("Redemption recorded."))
                return redirect("contact-points", pk=contact.pk)
    context = {
        "contact": contact,
        "form": form,
        "balance": selectors.points_balance(contact),
        "page": page_of(request, selectors.points_ledger(contact)),
    }
    return render(request, "feedback/contact_points.html", context)


# --- settings: policy, topics, routing rules ---------------------------------------------------


@staff_perm("feedback.change_feedbacksettings")
def feedback_settings(request: AuthedRequest) -> HttpResponse:
    """The feedback policy (recurring threshold, points, reminders, survey pause), topics and routing rules."""
    policy = services.feedback_settings()
    form = SettingsForm(request.POST or None, instance=policy)
    if request.method == "POST" and form.is_valid():
        try:
            services.feedback_settings_save(
                actor=request.user, **{name: form.cleaned_data[name] for name in SettingsForm.Meta.fields}
            )
        except ValidationError as exc:
            policy.refresh_from_db()
            apply_service_errors(form, exc)  # type: ignore[arg-type]
        else:
            messages.success(request, _("Saved."))
            return redirect("feedback-settings")
    context = {
        "form": form,
        "topics": FeedbackTopic.objects.order_by("-active", "key"),
        "rules": RoutingRule.objects.select_related("owner", "team").order_by("-active", "id"),
    }
    return render(request, "feedback/settings.html", context)


@staff_perm("feedback.change_feedbacksettings")
def topic_edit(request: AuthedRequest, pk: int | None = None) -> HttpResponse:
    """Add a topic, or rename one (its key stays)."""
    topic = get_object_or_404(FeedbackTopic, pk=pk) if pk is not None else None
    initial = {"key": topic.key, "name": topic.name, "name_zh": topic.name_zh} if topic else {}
    form = TopicForm(request.POST or None, initial=initial)
    if topic is not None:
        form.fields["key"].disabled = True
    if request.method == "POST" and form.is_valid():
        try:
            services.topic_save(
                actor=request.user,
                topic=topic,
                key=form.cleaned_data.get("key") or "",
                name=form.cleaned_data["name"],
                name_zh=form.cleaned_data["name_zh"],
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect("feedback-settings")
    title = _("Rename topic") if topic else _("New topic")
    return render(request, "core/form.html", {"form": form, "title": title, "back": "feedback-settings"})


@require_POST
@staff_perm("feedback.change_feedbacksettings")
def topic_active(request: AuthedRequest, pk: int) -> HttpResponse:
    """Retire a topic or bring it back."""
    topic = get_object_or_404(FeedbackTopic, pk=pk)
    try:
        services.topic_set_active(actor=request.user, topic=topic, active=request.POST.get("active") == "1")
    except ValidationError as exc:
        _errors(request, exc)
    else:
        messages.success(request, _("Saved."))
    return redirect("feedback-settings")


@staff_perm("feedback.change_feedbacksettings")
def routing_rule_edit(request: AuthedRequest, pk: int | None = None) -> HttpResponse:
    """Create or change a routing rule."""
    rule = get_object_or_404(RoutingRule, pk=pk) if pk is not None else None
    initial: dict[str, Any] = {}
    if rule is not None:
        initial = {
            "name": rule.name,
            "kind": rule.kind,
            "severity": rule.severity,
            "tier": rule.tier,
            "owner": rule.owner_id,
            "team": rule.team_id,
            "response_hours": rule.response_hours,
            "active": rule.active,
        }
    form = RoutingRuleForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.routing_rule_save(actor=request.user, rule=rule, **form.cleaned_data)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect("feedback-settings")
    title = _("Routing rule")
    return render(request, "core/form.html", {"form": form, "title": title, "back": "feedback-settings"})


# --- survey schedules -----------------------------------------------------------------------------


@staff_perm("feedback.view_survey")
def schedule_list(request: AuthedRequest) -> HttpResponse:
    """The survey schedules with their audience, cadence, last and next run."""
    rows = SurveySchedule.objects.select_related("survey", "audience_tag").order_by("-active", "next_run_at", "id")
    return render(request, "feedback/schedule_list.html", {"page": page_of(request, rows)})


@staff_perm("feedback.change_survey")
def schedule_edit(request: AuthedRequest, pk: int | None = None) -> HttpResponse:
    """Create or change a survey schedule."""
    schedule = get_object_or_404(SurveySchedule, pk=pk) if pk is not None else None
    initial: dict[str, Any] = {"next_run_at": timezone.localtime().replace(minute=0, second=0, microsecond=0)}
    if schedule is not None:
        initial = {
            "name": schedule.name,
            "survey": schedule.survey_id,
            "audience_tag": schedule.audience_tag_id,
            "audience_stage": schedule.audience_stage,
            "audience_tier": schedule.audience_tier,
            "every_days": schedule.every_days,
            "next_run_at": timezone.localtime(schedule.next_run_at),
            "active": schedule.active,
        }
    form = ScheduleForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.survey_schedule_save(actor=request.user, schedule=schedule, **form.cleaned_data)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect("survey-schedule-list")
    title = _("Survey schedule")
    return render(request, "core/form.html", {"form": form, "title": title, "back": "survey-schedule-list"})


# --- public pages -----------------------------------------------------------------------------


def _client_ip(request: Any) -> str:
    return str(request.META.get("REMOTE_ADDR", ""))


def _rate_limited(request: Any, scope: str = "public", limit: int = PUBLIC_LIMIT) -> bool:
    """Count one attempt from this address in `scope`; True once the hour's `limit` is reached."""
    key = f"feedback:{scope}:{_client_ip(request)}"
    count = cache.get_or_set(key, 0, PUBLIC_WINDOW) or 0
    if count >= limit:
        return True
    try:
        cache.incr(key)
    except ValueError:
        cache.set(key, 1, PUBLIC_WINDOW)
    return False


# embedded on other sites, where a CSRF cookie may be blocked: the honeypot and the limit guard it instead
@csrf_exempt
@xframe_options_exempt
def public_form(request: Any) -> HttpResponse:
    """The embeddable feedback form: no sign-in; a honeypot and a per-address limit keep floods out."""
    form = PublicFeedbackForm(request.POST or None)
    done = False
    status = 200
    if request.method == "POST" and form.is_valid():
        if form.cleaned_data["website"]:
            done = True  # a bot filled the hidden field: thank it and keep nothing
        elif _rate_limited(request):
            form.add_error(None, _("Too many messages from your address. Please try again in an hour."))
            status = 429
        else:
            email = form.cleaned_data["email"].strip().lower()
            contact = Contact.objects.filter(email=email, archived_at__isnull=True).first() if email else None
            try:
                services.feedback_create(
                    kind=form.cleaned_data["kind"],
                    channel=Channel.WEB_FORM if not request.GET.get("portal") else Channel.PORTAL,
                    text=form.cleaned_data["text"],
                    submitter_name=form.cleaned_data["name"],
                    submitter_email=email,
                    contact=contact,
                    language=get_language() or settings.LANGUAGE_CODE,
                    actor=None,
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                done = True
    return render(request, "feedback/public_form.html", {"form": form, "done": done}, status=status)


def _too_many(request: Any) -> HttpResponse:
    message = _("Too many attempts from your address. Please try again in an hour.")
    return render(request, "feedback/public_message.html", {"message": message}, status=429)


def _link_refused(request: Any, exc: ValidationError) -> HttpResponse:
    """A forged, expired or used link: a clear message, and the attempt counts towards the address's limit."""
    if _rate_limited(request, "link", LINK_LIMIT):
        return _too_many(request)
    return render(request, "feedback/public_message.html", {"message": exc.messages[0]}, status=400)


@csrf_exempt  # the signed single-use token is the credential
def survey_answer(request: Any, token: str) -> HttpResponse:
    """The page an emailed survey link opens: no sign-in; forged, expired and used links get a clear message;
    a honeypot and a per-address limit keep bots out."""
    try:
        invitation = services.invitation_from_token(token)
    except ValidationError as exc:
        return _link_refused(request, exc)
    survey = invitation.survey
    error = ""
    if request.method == "POST" and request.POST.get("website"):
        # a bot filled the hidden field: thank it, keep nothing, and the link stays open for the customer
        return render(request, "feedback/public_message.html", {"message": _("Thank you for your answer!"), "ok": True})
    if request.method == "POST" and _rate_limited(request, "link", LINK_LIMIT):
        return _too_many(request)
    if request.method == "POST":
        raw = request.POST.get("score", "").strip()
        try:
            score = int(raw) if raw else None
        except ValueError:
            score = -1  # refused by the service with the range in the message
        answers = {q["key"]: request.POST.get(q["key"], "") for q in survey.questions}
        try:
            services.survey_answer(token=token, score=score, text=request.POST.get("text", ""), answers=answers)
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            return render(
                request, "feedback/public_message.html", {"message": _("Thank you for your answer!"), "ok": True}
            )
    bounds = survey.score_range
    context = {
        "survey": survey,
        "scale": list(range(bounds[0], bounds[1] + 1)) if bounds else [],
        "error": error,
        "question": _(survey.question),
    }
    return render(request, "feedback/survey_answer.html", context, status=400 if error else 200)


@csrf_exempt  # the signed single-use token is the credential
def feedback_rate(request: Any, token: str) -> HttpResponse:
    """The customer says whether the resolution satisfied them (once, from the emailed link)."""
    try:
        item = services.item_from_rating_token(token)
    except ValidationError as exc:
        return _link_refused(request, exc)
    if request.method == "POST" and _rate_limited(request, "link", LINK_LIMIT):
        return _too_many(request)
    if request.method == "POST":
        try:
            services.feedback_rate(token=token, satisfied=request.POST.get("satisfied") == "yes")
        except ValidationError as exc:
            return render(request, "feedback/public_message.html", {"message": exc.messages[0]}, status=400)
        return render(request, "feedback/public_message.html", {"message": _("Thank you for telling us!"), "ok": True})
    if item.rated_at:
        return render(
            request,
            "feedback/public_message.html",
            {"message": _("You have already rated this resolution. Thank you!")},
        )
    return render(request, "feedback/rate.html", {"item": item})
