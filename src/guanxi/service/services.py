"""Every write of the service desk: one business action, one transaction, one event."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from guanxi.core.events import field_changes, record_event, snapshot
from guanxi.core.models import Event, Notification, User
from guanxi.core.services import notification_send
from guanxi.customers import services as customer_services
from guanxi.customers.comparators import email_key, phone_key
from guanxi.customers.models import Account, Contact, Lead

from .businesstime import WorkCalendar, add_business_minutes, business_minutes_between, calendar_for, hours_parse
from .models import (
    OPEN_STATUSES,
    PRIORITY_ORDER,
    AssignmentRule,
    BusinessCalendar,
    CalendarDay,
    CannedResponse,
    Channel,
    Priority,
    Queue,
    SlaPolicy,
    Status,
    Ticket,
    TicketAttachment,
    TicketMessage,
)

log = logging.getLogger(__name__)

ACTIVE = [Status.NEW, Status.OPEN, Status.REOPENED]  # the SLA clock runs; WAITING pauses it
# refused in attachments: executables and scripts a customer's email or upload could carry
_DANGEROUS = "exe com bat cmd scr pif msi msp js jse vbs vbe wsf wsh hta cpl jar ps1 psm1 lnk reg dll sys apk"
DANGEROUS_EXTENSIONS = frozenset(_DANGEROUS.split())
PLACEHOLDER = re.compile(r"\{(customer_name|ticket_number|agent_name|subject)\}")


@dataclass(frozen=True)
class Upload:
    """A file that comes with a message (from a form, the API or an email)."""

    filename: str
    content: bytes
    content_type: str = ""


def _now(value: datetime | None) -> datetime:
    return value if value is not None else timezone.now()


# --- calendars -------------------------------------------------------------------------------


def _zone_check(name: str) -> None:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError({"time_zone": _("“%(zone)s” is not a known time zone.") % {"zone": name}}) from None


@transaction.atomic
def calendar_save(
    *, actor: Any, name: str, time_zone: str, hours: dict[str, Any], calendar: BusinessCalendar | None = None
) -> BusinessCalendar:
    """Create or change a business calendar's name, time zone and weekly working hours."""
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": _("Enter a name.")})
    _zone_check(time_zone)
    hours_parse(hours)
    others = BusinessCalendar.objects.filter(name=name)
    if calendar is not None:
        others = others.exclude(pk=calendar.pk)
    if others.exists():
        raise ValidationError({"name": _("Another calendar has this name.")})
    created = calendar is None
    calendar = calendar or BusinessCalendar()
    before = snapshot(calendar, ("name", "time_zone", "hours"))
    calendar.name, calendar.time_zone, calendar.hours = name, time_zone, hours
    calendar.save()
    changes = field_changes(calendar, before, ("name", "time_zone", "hours"))
    record_event(obj=calendar, action="created" if created else "updated", actor=actor, changes=changes)
    _sla_recompute_open(calendar)
    return calendar


@transaction.atomic
def calendar_day_set(*, actor: Any, calendar: BusinessCalendar, day: date, kind: str, name: str = "") -> CalendarDay:
    """Mark one date as a holiday or an adjusted workday (replacing what it was)."""
    if kind not in CalendarDay.Kind.values:
        raise ValidationError({"kind": _("Choose holiday or adjusted workday.")})
    row, _created = CalendarDay.objects.update_or_create(
        calendar=calendar, date=day, defaults={"kind": kind, "name": (name or "")[:100]}
    )
    record_event(obj=calendar, action="updated", actor=actor, changes={"days": [None, f"{day} {kind}"]})
    return row


@transaction.atomic
def calendar_day_remove(*, actor: Any, calendar: BusinessCalendar, day: date) -> int:
    """Let a date follow the weekly hours again."""
    removed, _detail = CalendarDay.objects.filter(calendar=calendar, date=day).delete()
    if removed:
        record_event(obj=calendar, action="updated", actor=actor, changes={"days": [str(day), None]})
    return removed


@transaction.atomic
def calendar_load_china(*, actor: Any, calendar: BusinessCalendar, year: int) -> dict[str, int]:
    """Load China's official holidays and adjusted workdays (调休) of `year` from the chinesecalendar package."""
    import chinese_calendar

    days = {
        d: ("holiday", getattr(h, "value", [""])[0] if h else "")
        for d, h in chinese_calendar.holidays.items()
        if d.year == year
    }
    days.update(
        {d: ("workday", getattr(h, "value", [""])[0] if h else "") for d, h in chinese_calendar.workdays.items()}
    )
    days = {d: v for d, v in days.items() if d.year == year and (v[0] == "holiday" or d.weekday() >= 5)}
    if not days:
        raise ValidationError(
            {"year": _("The official calendar of %(year)s is not published in the installed data.") % {"year": year}}
        )
    CalendarDay.objects.filter(calendar=calendar, date__year=year).delete()
    CalendarDay.objects.bulk_create(
        [CalendarDay(calendar=calendar, date=d, kind=kind, name=name) for d, (kind, name) in sorted(days.items())]
    )
    counts = {
        "holidays": sum(1 for kind, _n in days.values() if kind == "holiday"),
        "workdays": sum(1 for kind, _n in days.values() if kind == "workday"),
    }
    record_event(obj=calendar, action="calendar_loaded", actor=actor, data={"year": year, **counts})
    _sla_recompute_open(calendar)
    return counts


def _sla_recompute_open(calendar: BusinessCalendar) -> None:
    """Open tickets on this calendar get due times from the new hours (a few hundred at most in practice)."""
    cache: dict[int, WorkCalendar] = {}
    for ticket in Ticket.objects.filter(sla_policy__calendar=calendar, status__in=OPEN_STATUSES).select_related(
        "sla_policy"
    ):
        _sla_apply(ticket, cache)
        ticket.save(update_fields=["first_response_due", "resolution_due", "sla_due", "sla_warn_at"])


# --- queues, rules, policies, canned responses -------------------------------------------------


def _setup_save(obj: Any, actor: Any, fields: dict[str, Any], tracked: tuple[str, ...]) -> Any:
    created = obj.pk is None
    tracked = tuple(obj._meta.get_field(name).attname for name in tracked)  # FKs as ids in the event
    before = snapshot(obj, tracked)
    for name, value in fields.items():
        setattr(obj, name, value)
    try:
        obj.full_clean(exclude=["agents"])
    except ValidationError as exc:
        raise ValidationError(exc.message_dict) from None
    obj.save()
    changes = field_changes(obj, before, tracked)
    record_event(obj=obj, action="created" if created else "updated", actor=actor, changes=changes)
    return obj


QUEUE_FIELDS = ("name", "team", "categories", "assignment", "is_default")


@transaction.atomic
def queue_save(*, actor: Any, queue: Queue | None = None, agents: list[User] | None = None, **fields: Any) -> Queue:
    """Create or change a queue: its team, categories (skills), agents and how tickets are handed out."""
    fields["categories"] = [str(c).strip() for c in fields.get("categories") or [] if str(c).strip()]
    queue = _setup_save(queue or Queue(), actor, fields, QUEUE_FIELDS)
    if agents is not None:
        queue.agents.set(agents)
    if queue.is_default:
        Queue.objects.exclude(pk=queue.pk).filter(is_default=True).update(is_default=False)
    return queue


@transaction.atomic
def assignment_rule_save(*, actor: Any, rule: AssignmentRule | None = None, **fields: Any) -> AssignmentRule:
    """Create or change a routing rule: category and/or customer tier → queue."""
    return _setup_save(rule or AssignmentRule(), actor, fields, ("order", "category", "tier", "queue"))


POLICY_FIELDS = (
    "name",
    "order",
    "priority",
    "tier",
    "category",
    "calendar",
    "first_response_minutes",
    "resolution_minutes",
    "warn_before_minutes",
    "notify",
    "escalate_queue",
    "escalate_user",
    "raise_priority",
    "active",
)


@transaction.atomic
def sla_policy_save(*, actor: Any, policy: SlaPolicy | None = None, **fields: Any) -> SlaPolicy:
    """Create or change an SLA policy; targets are business minutes on its calendar."""
    first, resolution = fields.get("first_response_minutes"), fields.get("resolution_minutes")
    if first is not None and resolution is not None and int(first) > int(resolution):
        raise ValidationError({"first_response_minutes": _("The first response cannot be due after the resolution.")})
    if fields.get("priority") and fields["priority"] not in Priority.values:
        raise ValidationError({"priority": _("Choose low, normal, high or urgent.")})
    return _setup_save(policy or SlaPolicy(), actor, fields, POLICY_FIELDS)


@transaction.atomic
def canned_response_save(*, actor: Any, canned: CannedResponse | None = None, **fields: Any) -> CannedResponse:
    """Create or change a canned response; unknown {placeholders} are refused so none reaches a customer."""
    body = fields.get("body", canned.body if canned else "")
    unknown = {m for m in re.findall(r"\{([^{}]*)\}", body or "")} - {
        "customer_name",
        "ticket_number",
        "agent_name",
        "subject",
    }
    if unknown:
        raise ValidationError(
            {"body": _("Unknown placeholders: %(names)s.") % {"names": ", ".join(sorted(f"{{{n}}}" for n in unknown))}}
        )
    return _setup_save(canned or CannedResponse(), actor, fields, ("title", "body", "language", "category"))


def canned_render(*, canned: CannedResponse, ticket: Ticket, agent: Any) -> str:
    """The canned text with its placeholders filled for this ticket."""
    values = {
        "customer_name": ticket.requester_name or str(ticket.contact or ticket.lead or ""),
        "ticket_number": ticket.number,
        "agent_name": str(agent or ""),
        "subject": ticket.subject,
    }
    return PLACEHOLDER.sub(lambda m: values[m.group(1)], canned.body)


# --- SLA ------------------------------------------------------------------------------------


def _tier(ticket: Ticket) -> str:
    return ticket.account.tier if ticket.account_id and ticket.account else ""


def policy_for(*, priority: str, tier: str, category: str) -> SlaPolicy | None:
    """The first active policy (by order) whose priority, tier and category match; a blank one matches all."""
    return (
        SlaPolicy.objects.filter(active=True)
        .filter(Q(priority="") | Q(priority=priority), Q(tier="") | Q(tier=tier), Q(category="") | Q(category=category))
        .select_related("calendar")
        .order_by("order", "id")
        .first()
    )


def _calendar(policy: SlaPolicy, cache: dict[int, WorkCalendar]) -> WorkCalendar:
    if policy.calendar_id not in cache:
        cache[policy.calendar_id] = calendar_for(policy.calendar)
    return cache[policy.calendar_id]


def _sla_apply(ticket: Ticket, cache: dict[int, WorkCalendar] | None = None) -> None:
    """Due times from the policy: first response from opening, resolution from opening plus the paused time."""
    policy = ticket.sla_policy
    if policy is None:
        ticket.first_response_due = ticket.resolution_due = ticket.sla_due = ticket.sla_warn_at = None
        return
    cal = _calendar(policy, cache if cache is not None else {})
    ticket.first_response_due = add_business_minutes(cal, ticket.opened_at, policy.first_response_minutes)
    ticket.resolution_due = add_business_minutes(
        cal, ticket.opened_at, policy.resolution_minutes + ticket.paused_minutes
    )
    _sla_due_set(ticket, cal)


def _sla_due_set(ticket: Ticket, cal: WorkCalendar) -> None:
    policy = ticket.sla_policy
    assert policy is not None
    if ticket.first_response_at is None:
        ticket.sla_due, target = ticket.first_response_due, policy.first_response_minutes
    else:
        ticket.sla_due, target = ticket.resolution_due, policy.resolution_minutes + ticket.paused_minutes
    warn_after = max(0, target - policy.warn_before_minutes)
    ticket.sla_warn_at = add_business_minutes(cal, ticket.opened_at, warn_after)


def sla_remaining(ticket: Ticket, cache: dict[int, WorkCalendar], now: datetime | None = None) -> int | None:
    """Business minutes left before the current deadline (negative once breached); None without an SLA."""
    if ticket.sla_due is None or ticket.sla_policy is None:
        return None
    cal = _calendar(ticket.sla_policy, cache)
    return round(business_minutes_between(cal, _now(now), ticket.sla_due))


# --- customers ------------------------------------------------------------------------------

_LEAD_SOURCE = {
    Channel.PHONE: Lead.Source.PHONE,
    Channel.WEB_FORM: Lead.Source.WEB,
    Channel.PORTAL: Lead.Source.WEB,
    Channel.SOCIAL: Lead.Source.SOCIAL,
}


def customer_match(*, email: str, phone: str) -> tuple[Contact | None, Account | None, Lead | None]:
    """The contact (and its first account) or lead with this email or phone, by the customers' comparators."""
    keys = [("email__iexact", email_key(email)), ("phone", phone_key(phone))]
    for lookup, key in keys:
        if not key:
            continue
        contact = Contact.objects.filter(**{lookup: key}, archived_at__isnull=True).order_by("id").first()
        if contact is not None:
            return contact, contact.accounts.order_by("id").first(), None
    for lookup, key in keys:
        if key:
            lead = Lead.objects.filter(**{lookup: key}, archived_at__isnull=True).order_by("id").first()
            if lead is not None:
                return None, None, lead
    return None, None, None


def _lead_for(*, actor: Any, name: str, email: str, phone: str, channel: str) -> Lead | None:
    if not (email_key(email) or phone_key(phone)):
        return None
    given = (name or email.split("@")[0] or phone).strip()[:60]
    return customer_services.lead_create(
        actor=actor,
        owner=actor if getattr(actor, "is_authenticated", False) else None,
        given_name=given,
        email=email_key(email),
        phone=phone_key(phone),
        source=_LEAD_SOURCE.get(Channel(channel), Lead.Source.OTHER),
        notes=_("Created from a service ticket."),
    )


# --- assignment -----------------------------------------------------------------------------


def _agents(queue: Queue) -> list[User]:
    return list(queue.agents.filter(is_active=True).order_by("id"))


def _pick_agent(queue: Queue) -> User | None:
    """The next agent of the queue by its rule: round robin after the last one, or the fewest open tickets."""
    agents = _agents(queue)
    if not agents or queue.assignment == Queue.Assignment.MANUAL:
        return None
    if queue.assignment == Queue.Assignment.LEAST_LOADED:
        loads = dict(
            Ticket.objects.filter(owner__in=agents, status__in=OPEN_STATUSES)
            .values("owner")
            .annotate(n=Count("id"))
            .values_list("owner", "n")
        )
        return min(agents, key=lambda a: (loads.get(a.pk, 0), a.pk))
    locked = Queue.objects.select_for_update().get(pk=queue.pk)
    after = [a for a in agents if locked.last_assigned_id is not None and a.pk > locked.last_assigned_id]
    agent = after[0] if after else agents[0]
    Queue.objects.filter(pk=queue.pk).update(last_assigned=agent)
    return agent


def queue_for(*, category: str, tier: str) -> Queue | None:
    """The queue of the first matching assignment rule, else the default queue."""
    rule = (
        AssignmentRule.objects.filter(Q(category="") | Q(category=category), Q(tier="") | Q(tier=tier))
        .exclude(category="", tier="")
        .select_related("queue")
        .first()
    )
    if rule is not None:
        return rule.queue
    return Queue.objects.filter(is_default=True).first() or Queue.objects.order_by("id").first()


def _check_agent(user: User) -> None:
    if not user.is_active or not user.has_perm("service.change_ticket"):
        raise ValidationError({"assignee": _("%(name)s cannot work on tickets.") % {"name": user}})


# --- tickets --------------------------------------------------------------------------------

TICKET_TRACKED = ("subject", "channel", "category", "priority", "status", "queue_id", "owner_id")


def _attachments_store(message: TicketMessage, uploads: list[Upload]) -> None:
    for upload in uploads:
        attachment = TicketAttachment(
            message=message,
            filename=upload.filename[:255],
            content_type=upload.content_type[:120],
            size=len(upload.content),
        )
        attachment.file.save(upload.filename[-100:], ContentFile(upload.content), save=False)
        attachment.save()


def uploads_check(uploads: list[Upload]) -> None:
    """Refuse dangerous file types and oversize files, naming the file."""
    limit = settings.SERVICE_ATTACHMENT_MAX_BYTES
    for upload in uploads:
        extension = upload.filename.rsplit(".", 1)[-1].lower() if "." in upload.filename else ""
        if extension in DANGEROUS_EXTENSIONS:
            raise ValidationError(
                {"attachments": _("“%(name)s”: files of this type are refused for safety.") % {"name": upload.filename}}
            )
        if len(upload.content) > limit:
            raise ValidationError(
                {
                    "attachments": _("“%(name)s” is larger than %(limit)s MB.")
                    % {"name": upload.filename, "limit": limit // (1024 * 1024)}
                }
            )


@transaction.atomic
def ticket_create(
    *,
    actor: Any,
    subject: str,
    body: str,
    channel: str,
    email: str = "",
    phone: str = "",
    name: str = "",
    category: str = "",
    priority: str = Priority.NORMAL,
    queue: Queue | None = None,
    assignee: User | None = None,
    contact: Contact | None = None,
    language: str = "",
    opened_at: datetime | None = None,
    message_id: str = "",
    attachments: list[Upload] | None = None,
) -> Ticket:
    """Open a ticket from any channel, linked to the customer matched by email/phone (else a new lead),
    routed to a queue, assigned by the queue's rule and timed by the matching SLA policy."""
    errors: dict[str, list[str]] = {}
    subject, body = (subject or "").strip(), (body or "").strip()
    if not subject:
        errors["subject"] = [_("Enter a subject.")]
    if len(subject) > 250:
        errors["subject"] = [_("Keep the subject under 250 characters.")]
    if not body:
        errors["body"] = [_("Describe the request.")]
    if channel not in Channel.values:
        errors["channel"] = [_("Choose one of the channels.")]
    if priority not in Priority.values:
        errors["priority"] = [_("Choose low, normal, high or urgent.")]
    if email and not email_key(email):
        errors["email"] = [_("Enter a valid email address.")]
    if phone and not phone_key(phone):
        errors["phone"] = [_("Enter a valid phone number.")]
    if errors:
        raise ValidationError(errors)
    uploads_check(attachments or [])
    if assignee is not None:
        _check_agent(assignee)
    account, lead = None, None
    if contact is not None:
        account = contact.accounts.order_by("id").first()
    else:
        contact, account, lead = customer_match(email=email, phone=phone)
        if contact is None and lead is None:
            lead = _lead_for(actor=actor, name=name, email=email, phone=phone, channel=channel)
    tier = account.tier if account else ""
    queue = queue or queue_for(category=category, tier=tier)
    ticket = Ticket(
        subject=subject,
        contact=contact,
        account=account,
        lead=lead,
        requester_email=email_key(email) or (contact.email if contact else "") or (lead.email if lead else ""),
        requester_name=(name or str(contact or lead or ""))[:130],
        language=language or (getattr(actor, "language", "") if channel in (Channel.PHONE, Channel.VISIT) else ""),
        channel=channel,
        category=(category or "").strip()[:60],
        priority=priority,
        queue=queue,
        team=queue.team if queue else None,
        opened_at=_now(opened_at),
        message_id=message_id[:250],
        sla_policy=policy_for(priority=priority, tier=tier, category=category),
    )
    _sla_apply(ticket)
    ticket.save()
    message = TicketMessage.objects.create(
        ticket=ticket,
        kind=TicketMessage.Kind.REPLY,
        author=actor
        if getattr(actor, "is_authenticated", False) and channel in (Channel.PHONE, Channel.VISIT)
        else None,
        from_customer=True,
        from_email=ticket.requester_email,
        body=body,
        created_at=ticket.opened_at,
        message_id=message_id[:250],
    )
    _attachments_store(message, attachments or [])
    record_event(
        obj=ticket,
        action="created",
        actor=actor,
        changes={name: [None, getattr(ticket, name)] for name in TICKET_TRACKED if getattr(ticket, name)},
    )
    agent = assignee or (_pick_agent(queue) if queue else None)
    if agent is not None:
        _assign(ticket, agent, actor, handoff=False)
    return ticket


def _assign(ticket: Ticket, agent: User | None, actor: Any, *, handoff: bool) -> None:
    before = ticket.owner_id
    ticket.owner = agent
    if handoff and before is not None and before != getattr(agent, "pk", None):
        ticket.handoff_count += 1
    ticket.save(update_fields=["owner", "handoff_count", "updated_at"])
    record_event(obj=ticket, action="assigned", actor=actor, changes={"owner_id": [before, ticket.owner_id]})
    if agent is not None and agent != actor:
        notification_send(
            recipient=agent,
            title=gettext_noop("Ticket %(number)s was assigned to you"),
            params={"number": ticket.number},
            url=ticket.get_absolute_url(),
        )


@transaction.atomic
def ticket_assign(*, ticket: Ticket, assignee: User | None, actor: Any) -> Ticket:
    """Give the ticket to an agent (or nobody); a change of hands counts as a hand-off."""
    if assignee is not None:
        _check_agent(assignee)
    if assignee == ticket.owner:
        return ticket
    _assign(ticket, assignee, actor, handoff=True)
    return ticket


@transaction.atomic
def ticket_move(*, ticket: Ticket, queue: Queue, actor: Any) -> Ticket:
    """Move the ticket to another queue (a hand-off): its team follows and the queue's rule picks the agent."""
    if queue.pk == ticket.queue_id:
        return ticket
    before = ticket.queue_id
    ticket.queue, ticket.team = queue, queue.team
    ticket.handoff_count += 1
    ticket.save(update_fields=["queue", "team", "handoff_count", "updated_at"])
    record_event(obj=ticket, action="reassigned", actor=actor, changes={"queue_id": [before, queue.pk]})
    _assign(ticket, _pick_agent(queue), actor, handoff=False)
    return ticket


def _resume(ticket: Ticket, now: datetime, cache: dict[int, WorkCalendar]) -> None:
    """Stop the pause: its business minutes push the resolution deadline out."""
    if ticket.paused_at is None:
        return
    if ticket.sla_policy is not None:
        cal = _calendar(ticket.sla_policy, cache)
        ticket.paused_minutes += max(0, round(business_minutes_between(cal, ticket.paused_at, now)))
    ticket.paused_at = None
    _sla_apply(ticket, cache)


def _measure_first_response(ticket: Ticket, now: datetime, cache: dict[int, WorkCalendar]) -> None:
    ticket.first_response_at = now
    ticket.first_response_minutes = max(0, round((now - ticket.opened_at).total_seconds() / 60))
    if ticket.sla_policy is not None:
        cal = _calendar(ticket.sla_policy, cache)
        ticket.first_response_business_minutes = max(0, round(business_minutes_between(cal, ticket.opened_at, now)))
        _sla_due_set(ticket, cal)
        ticket.warned_at = None  # the resolution deadline gets its own warning


def _measure_resolution(ticket: Ticket, now: datetime, cache: dict[int, WorkCalendar]) -> None:
    ticket.resolved_at = now
    ticket.resolution_minutes = max(0, round((now - ticket.opened_at).total_seconds() / 60))
    if ticket.sla_policy is not None:
        cal = _calendar(ticket.sla_policy, cache)
        spent = business_minutes_between(cal, ticket.opened_at, now) - ticket.paused_minutes
        ticket.resolution_business_minutes = max(0, round(spent))
    ticket.first_contact_resolution = ticket.reopen_count == 0 and ticket.agent_reply_count <= 1


@transaction.atomic
def ticket_reply(
    *,
    ticket: Ticket,
    actor: Any,
    body: str,
    kind: str = TicketMessage.Kind.REPLY,
    wait_on_customer: bool = False,
    time_spent_seconds: int = 0,
    attachments: list[Upload] | None = None,
    at: datetime | None = None,
) -> TicketMessage:
    """An agent's public reply (emailed to the customer; the first one is the first response) or internal note."""
    body = (body or "").strip()
    if not body:
        raise ValidationError({"body": _("Write the reply first.")})
    if kind not in TicketMessage.Kind.values:
        raise ValidationError({"kind": _("Choose a public reply or an internal note.")})
    if ticket.status == Status.CLOSED:
        raise ValidationError({"status": _("This ticket is closed; reopen it to reply.")})
    if time_spent_seconds < 0:
        raise ValidationError({"time_spent_seconds": _("Time spent cannot be negative.")})
    uploads_check(attachments or [])
    now = _now(at)
    cache: dict[int, WorkCalendar] = {}
    before = snapshot(ticket, ("status",))
    message = TicketMessage.objects.create(
        ticket=ticket,
        kind=kind,
        author=actor if getattr(actor, "is_authenticated", False) else None,
        body=body,
        created_at=now,
        time_spent_seconds=time_spent_seconds,
    )
    _attachments_store(message, attachments or [])
    ticket.handle_seconds += time_spent_seconds
    if kind == TicketMessage.Kind.REPLY:
        from .mail import message_id_new

        message.message_id = message_id_new(ticket)
        message.save(update_fields=["message_id"])
        ticket.agent_reply_count += 1
        if ticket.first_response_at is None:
            _measure_first_response(ticket, now, cache)
        if wait_on_customer and ticket.status != Status.WAITING:
            ticket.status, ticket.paused_at = Status.WAITING, now
        elif ticket.status in (Status.NEW, Status.REOPENED):
            ticket.status = Status.OPEN
        if ticket.requester_email:
            from . import tasks

            transaction.on_commit(lambda: tasks.ticket_message_email.delay(message.pk))
    ticket.save()
    changes = field_changes(ticket, before, ("status",))
    action = "replied" if kind == TicketMessage.Kind.REPLY else "noted"
    record_event(obj=ticket, action=action, actor=actor, changes=changes, data={"message": message.pk})
    return message


@transaction.atomic
def ticket_customer_reply(
    *,
    ticket: Ticket,
    body: str,
    from_email: str = "",
    message_id: str = "",
    attachments: list[Upload] | None = None,
    actor: Any = None,
    at: datetime | None = None,
) -> TicketMessage:
    """The customer wrote again: a waiting ticket resumes its clock, a resolved or closed one reopens."""
    body = (body or "").strip()
    if not body:
        raise ValidationError({"body": _("The message is empty.")})
    uploads_check(attachments or [])
    now = _now(at)
    cache: dict[int, WorkCalendar] = {}
    before = snapshot(ticket, ("status",))
    message = TicketMessage.objects.create(
        ticket=ticket,
        kind=TicketMessage.Kind.REPLY,
        from_customer=True,
        from_email=from_email,
        body=body,
        created_at=now,
        message_id=message_id[:250],
    )
    _attachments_store(message, attachments or [])
    if ticket.status == Status.WAITING:
        _resume(ticket, now, cache)
        ticket.status = Status.OPEN
    elif ticket.status in (Status.RESOLVED, Status.CLOSED):
        _reopen(ticket, cache)
    ticket.save()
    changes = field_changes(ticket, before, ("status",))
    record_event(obj=ticket, action="customer_replied", actor=actor, changes=changes, data={"message": message.pk})
    if ticket.owner is not None:
        notification_send(
            recipient=ticket.owner,
            title=gettext_noop("The customer replied on %(number)s"),
            params={"number": ticket.number},
            url=ticket.get_absolute_url(),
        )
    return message


def _reopen(ticket: Ticket, cache: dict[int, WorkCalendar]) -> None:
    ticket.status = Status.REOPENED
    ticket.reopen_count += 1
    ticket.resolved_at = ticket.closed_at = None
    ticket.resolution_minutes = ticket.resolution_business_minutes = None
    ticket.first_contact_resolution = None
    if ticket.sla_policy is not None:
        _sla_due_set(ticket, _calendar(ticket.sla_policy, cache))


_TRANSITIONS: dict[str, set[str]] = {
    Status.NEW: {Status.OPEN, Status.WAITING, Status.RESOLVED, Status.CLOSED},
    Status.OPEN: {Status.WAITING, Status.RESOLVED, Status.CLOSED},
    Status.WAITING: {Status.OPEN, Status.RESOLVED, Status.CLOSED},
    Status.REOPENED: {Status.OPEN, Status.WAITING, Status.RESOLVED, Status.CLOSED},
    Status.RESOLVED: {Status.CLOSED, Status.REOPENED},
    Status.CLOSED: {Status.REOPENED},
}


@transaction.atomic
def ticket_set_status(*, ticket: Ticket, status: str, actor: Any, at: datetime | None = None) -> Ticket:
    """Move the ticket along new → open ⇄ waiting on customer → resolved → closed, or reopen it."""
    if status not in Status.values:
        raise ValidationError({"status": _("Unknown status.")})
    if status == ticket.status:
        return ticket
    if status not in _TRANSITIONS[ticket.status]:
        raise ValidationError(
            {
                "status": _("A ticket that is “%(current)s” cannot become “%(new)s”.")
                % {"current": ticket.get_status_display(), "new": Status(status).label}
            }
        )
    now = _now(at)
    cache: dict[int, WorkCalendar] = {}
    before = snapshot(ticket, ("status",))
    if status == Status.WAITING:
        ticket.paused_at = now
    else:
        _resume(ticket, now, cache)
    if status == Status.RESOLVED:
        _measure_resolution(ticket, now, cache)
    elif status == Status.CLOSED:
        if ticket.resolved_at is None:
            _measure_resolution(ticket, now, cache)
        ticket.closed_at = now
    elif status == Status.REOPENED:
        _reopen(ticket, cache)
    ticket.status = status
    ticket.save()
    record_event(obj=ticket, action="status_changed", actor=actor, changes=field_changes(ticket, before, ("status",)))
    return ticket


@transaction.atomic
def ticket_set_priority(*, ticket: Ticket, priority: str, actor: Any) -> Ticket:
    """Change the priority; the SLA policy is matched again and the due times recomputed."""
    if priority not in Priority.values:
        raise ValidationError({"priority": _("Choose low, normal, high or urgent.")})
    if priority == ticket.priority:
        return ticket
    before = snapshot(ticket, ("priority", "sla_policy_id", "sla_due"))
    ticket.priority = priority
    ticket.sla_policy = policy_for(priority=priority, tier=_tier(ticket), category=ticket.category)
    _sla_apply(ticket)
    if ticket.sla_due and ticket.sla_due > timezone.now():
        ticket.warned_at = None
    ticket.save()
    changes = field_changes(ticket, before, ("priority", "sla_policy_id", "sla_due"))
    record_event(obj=ticket, action="priority_changed", actor=actor, changes=changes)
    return ticket


@transaction.atomic
def ticket_update(*, ticket: Ticket, actor: Any, subject: str | None = None, category: str | None = None) -> Ticket:
    """Correct the subject or category."""
    before = snapshot(ticket, ("subject", "category"))
    if subject is not None:
        if not subject.strip():
            raise ValidationError({"subject": _("Enter a subject.")})
        ticket.subject = subject.strip()[:250]
    if category is not None:
        ticket.category = category.strip()[:60]
    ticket.save(update_fields=["subject", "category", "updated_at"])
    record_event(
        obj=ticket, action="updated", actor=actor, changes=field_changes(ticket, before, ("subject", "category"))
    )
    return ticket


# --- the SLA sweep ---------------------------------------------------------------------------

SWEEP_FIELDS = ["warned_at", "breached_at", "escalated_at", "priority", "queue", "team", "owner", "handoff_count"]


def _escalation_targets(ticket: Ticket) -> list[User]:
    people = [ticket.owner] if ticket.owner_id and ticket.owner else []
    if ticket.queue_id and ticket.queue and ticket.queue.team_id and ticket.queue.team and ticket.queue.team.manager:
        people.append(ticket.queue.team.manager)
    return list({p.pk: p for p in people if p.is_active}.values())


def _event(ticket: Ticket, action: str, changes: dict[str, Any], data: dict[str, Any]) -> Event:
    return Event(
        actor=None,
        actor_label="system",
        content_type=_ticket_type(),
        object_id=ticket.pk,
        object_repr=str(ticket)[:200],
        action=action,
        changes=changes,
        data=data,
    )


def _ticket_type() -> ContentType:
    return ContentType.objects.get_for_model(Ticket)


def _warn(ticket: Ticket, now: datetime) -> tuple[Event, list[tuple[User, str]]]:
    """Mark the warning; the assignee (else the queue team's manager) is told the deadline is near."""
    ticket.warned_at = now
    event = _event(ticket, "sla_warned", {}, {"due": ticket.sla_due})
    return event, [
        (person, gettext_noop("Ticket %(number)s is about to breach its SLA"))
        for person in _escalation_targets(ticket)[:1]
    ]


def _breach(ticket: Ticket, now: datetime) -> tuple[Event, list[tuple[User, str]]]:
    """Mark the breach and run the policy's escalation: notify, move to a queue or person, raise priority."""
    policy = ticket.sla_policy
    ticket.breached_at = ticket.escalated_at = now
    before = snapshot(ticket, ("priority", "queue_id", "owner_id"))
    if policy is not None and policy.raise_priority:
        at = PRIORITY_ORDER.index(Priority(ticket.priority))
        ticket.priority = PRIORITY_ORDER[min(at + 1, len(PRIORITY_ORDER) - 1)]
    if policy is not None and policy.escalate_queue_id and policy.escalate_queue_id != ticket.queue_id:
        ticket.queue = policy.escalate_queue
        ticket.team = policy.escalate_queue.team if policy.escalate_queue else None
        ticket.handoff_count += 1
    if policy is not None and policy.escalate_user_id and policy.escalate_user_id != ticket.owner_id:
        if ticket.owner_id is not None:
            ticket.handoff_count += 1
        ticket.owner = policy.escalate_user
    changes = field_changes(ticket, before, ("priority", "queue_id", "owner_id"))
    event = _event(ticket, "sla_breached", changes, {"due": ticket.sla_due, "escalated": bool(changes)})
    notify = policy is None or policy.notify or bool(policy.escalate_user_id)
    title = gettext_noop("Ticket %(number)s breached its SLA and was escalated")
    return event, [(person, title) for person in _escalation_targets(ticket)] if notify else []


def _breach_one(ticket: Ticket, now: datetime) -> None:
    """Breach and escalate one ticket now (the demo loader's past breaches use it)."""
    event, notices = _breach(ticket, now)
    ticket.save(update_fields=SWEEP_FIELDS)
    event.save()
    _notify(event, ticket, notices)


def _notify(event: Event, ticket: Ticket, notices: list[tuple[User, str]]) -> list[Notification]:
    return [
        Notification(
            recipient=person, event=event, title=title, params={"number": ticket.number}, url=ticket.get_absolute_url()
        )
        for person, title in notices
    ]


def sla_sweep(
    *, now: datetime | None = None, batch_size: int = 1000, progress: Callable[[int, int], None] | None = None
) -> dict[str, int]:
    """Warn before breaches and escalate breaches of running tickets; safe to run again (each happens once).

    Works in batches: one transaction per batch, rows locked (skipping rows another sweep holds), then
    one bulk update of the tickets and one bulk insert each of their events and notifications.
    """
    now = _now(now)
    counts = {"warned": 0, "breached": 0}
    running = Ticket.objects.filter(status__in=ACTIVE)
    work = [
        ("breached", running.filter(breached_at__isnull=True, sla_due__lte=now), _breach),
        ("warned", running.filter(warned_at__isnull=True, breached_at__isnull=True, sla_warn_at__lte=now), _warn),
    ]
    for key, rows, action in work:
        ids = list(rows.order_by("id").values_list("id", flat=True))
        for start in range(0, len(ids), batch_size):
            with transaction.atomic():
                batch = list(
                    rows.filter(pk__in=ids[start : start + batch_size])
                    .select_for_update(of=("self",), skip_locked=True)
                    .select_related("sla_policy__escalate_queue", "owner", "queue__team__manager")
                )
                changed, events, notices = [], [], []
                for ticket in batch:
                    if key == "warned" and ticket.sla_due is not None and ticket.sla_due <= now:
                        continue  # past due already: the breach pass of the next sweep takes it
                    event, people = action(ticket, now)
                    changed.append(ticket)
                    events.append(event)
                    notices.append(people)
                Ticket.objects.bulk_update(changed, SWEEP_FIELDS)
                Event.objects.bulk_create(events)
                Notification.objects.bulk_create(
                    [
                        n
                        for event, ticket, people in zip(events, changed, notices, strict=True)
                        for n in _notify(event, ticket, people)
                    ]
                )
                counts[key] += len(changed)
            if progress:
                progress(min(start + batch_size, len(ids)), len(ids))
    return counts


@transaction.atomic
def ticket_delete(*, ticket: Ticket, actor: Any) -> None:
    """Delete a ticket with its conversation (administrators only: normally tickets are closed, not deleted)."""
    record_event(obj=ticket, action="deleted", actor=actor, data={"number": ticket.number})
    for attachment in TicketAttachment.objects.filter(message__ticket=ticket):
        attachment.file.delete(save=False)
    ticket.delete()
