"""The built-in triggers: record created/updated, field or status changed, deadlines, quiet records,
"N days after", cron-like schedules and inbound webhooks."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from guanxi.core.models import Event

from .conditions import DATE, field_info
from .engine import Config, Trigger, model_of, trigger_register

# Record types rules can act on; later apps add theirs with `automation_model(...)`.
MODELS: dict[str, Any] = {}


# Events an app records when one of its deadlines is near or has passed, per record type:
# {"service.ticket": {"sla_breached": "SLA breached", ...}}. Apps add theirs with `deadline_event(...)`.
DEADLINE_EVENTS: dict[str, dict[str, Any]] = {}
SWEEP_READ = 500  # records a time-based trigger reads per page


def automation_model(label: str, name: Any) -> None:
    """Let rules pick `label` ("sales.deal") as the record a trigger watches."""
    MODELS[label] = name


def deadline_event(label: str, action: str, name: Any) -> None:
    """Let "an app's deadline passes" rules listen to the `action` events `label` records get from their app
    (service's SLA sweep records `sla_breached`, feedback's response sweep records `escalated`)."""
    DEADLINE_EVENTS.setdefault(label, {})[action] = name


def _model(config: Config) -> type[models.Model]:
    label = str(config.get("model") or "")
    model = model_of(label) if label in MODELS else None
    if model is None:
        raise ValidationError(_("Choose the kind of record (“%(model)s” is not one).") % {"model": label})
    return model


def _field(config: Config, *, kinds: set[str] | None = None, key: str = "field") -> str:
    model = _model(config)
    name = str(config.get(key) or "")
    info = field_info(model, name)
    if info is None:
        raise ValidationError(_("The field “%(field)s” does not exist (or was deleted).") % {"field": name})
    if kinds and info.kind not in kinds:
        raise ValidationError(_("The field “%(field)s” is not a date.") % {"field": name})
    return name


def _positive(config: Config, key: str, *, allow_zero: bool = False) -> int:
    try:
        number = int(config.get(key))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValidationError(_("“%(setting)s” must be a whole number.") % {"setting": key}) from None
    if number < 0 or (number == 0 and not allow_zero):
        raise ValidationError(_("“%(setting)s” must be more than zero.") % {"setting": key})
    return number


def _label(event: Event) -> str:
    return f"{event.content_type.app_label}.{event.content_type.model}"


def _model_only(config: Config) -> Config:
    _model(config)
    return {"model": config["model"]}


def _changed_config(config: Config) -> Config:
    cleaned = {"model": str(config.get("model") or ""), "field": _field(config)}
    for key in ("to", "from"):
        if config.get(key) not in (None, ""):
            cleaned[key] = str(config[key])
    return cleaned


def _change_key(field: str) -> str:
    return "custom_" + field.removeprefix("custom.") if field.startswith("custom.") else field


def _changed(config: Config, event: Event) -> bool:
    changes = event.changes or {}
    key = _change_key(config["field"])
    change = changes.get(key) or changes.get(f"{key}_id")  # a relation's change is recorded under its column
    if not change or _label(event) != config["model"]:
        return False
    before, after = change
    if "to" in config and str(after) != config["to"]:
        return False
    return "from" not in config or str(before) == config["from"]


def _status_config(config: Config) -> Config:
    config = {**config, "field": config.get("field") or "status"}
    return _changed_config(config)


def _live(model: type[models.Model]) -> models.QuerySet[Any]:
    rows = model._base_manager.all()
    if any(f.name == "archived_at" for f in model._meta.concrete_fields):
        rows = rows.filter(archived_at__isnull=True)
    return rows


def _pages(rows: models.QuerySet[Any]) -> Iterator[models.Model]:
    """Every row, in primary-key order, read a page at a time: the sweep writes between pages, so no cursor stays
    open across its runs."""
    last = 0
    while page := list(rows.filter(pk__gt=last).order_by("pk")[:SWEEP_READ]):
        yield from page
        last = page[-1].pk


def _deadline_config(config: Config) -> Config:
    return {
        "model": str(config.get("model") or ""),
        "field": _field(config, kinds={DATE}),
        "hours_before": _positive(config, "hours_before", allow_zero=True) if config.get("hours_before") else 0,
    }


def _deadline_due(config: Config, now: datetime) -> Iterable[tuple[models.Model, str]]:
    """Records whose deadline is within `hours_before` hours (0: has passed), in the last week."""
    model = _model(config)
    name = config["field"]
    edge = now + timedelta(hours=config.get("hours_before") or 0)
    rows = _live(model).filter(**{f"{name}__lte": edge, f"{name}__gte": now - timedelta(days=7)})
    for record in _pages(rows):
        yield record, f"deadline:{record.pk}:{getattr(record, name)}"


def _quiet_config(config: Config) -> Config:
    _model(config)
    return {"model": config["model"], "days": _positive(config, "days")}


def _quiet_due(config: Config, now: datetime) -> Iterable[tuple[models.Model, str]]:
    """Records not changed for N days; once per quiet spell (the key holds the last change's date)."""
    model = _model(config)
    if not any(f.name == "updated_at" for f in model._meta.concrete_fields):
        return
    rows = _live(model).filter(updated_at__lt=now - timedelta(days=config["days"]))
    for record in _pages(rows):
        yield record, f"quiet:{record.pk}:{getattr(record, 'updated_at').isoformat()}"  # noqa: B009


def _after_config(config: Config) -> Config:
    return {"model": str(config.get("model") or ""), "field": _field(config, kinds={DATE}), **_days(config)}


def _days(config: Config) -> dict[str, int]:
    return {"days": _positive(config, "days")}


def _after_due(config: Config, now: datetime) -> Iterable[tuple[models.Model, str]]:
    """Records whose date field was N days ago (within the last week of that), once each."""
    model = _model(config)
    name = config["field"]
    edge = now - timedelta(days=config["days"])
    rows = _live(model).filter(**{f"{name}__lte": edge, f"{name}__gte": edge - timedelta(days=7)})
    for record in _pages(rows):
        yield record, f"after:{record.pk}:{getattr(record, name)}"


def _deadline_event_config(config: Config) -> Config:
    _model(config)
    known = DEADLINE_EVENTS.get(config["model"], {})
    action = str(config.get("event") or next(iter(known), ""))
    if action not in known:
        raise ValidationError(
            _("“%(event)s” is not a deadline event of this kind of record (known: %(known)s).")
            % {"event": action, "known": ", ".join(known) or "-"}
        )
    return {"model": config["model"], "event": action}


CUSTOMER_FIELDS = ("contact", "account")


def _first_config(config: Config) -> Config:
    model = _model(config)
    names = {f.name for f in model._meta.concrete_fields}
    if not any(name in names for name in CUSTOMER_FIELDS):
        raise ValidationError(_("This kind of record does not name a customer (a contact or an account)."))
    return {"model": config["model"]}


def _first_of_customer(config: Config, event: Event) -> bool:
    """The created record is its customer's first of its kind: no older one names the same contact or account."""
    model = model_of(config["model"])
    if model is None or _label(event) != config["model"]:
        return False
    names = [n for n in CUSTOMER_FIELDS if any(f.name == n for f in model._meta.concrete_fields)]
    row = model._base_manager.filter(pk=event.object_id).values(*(f"{n}_id" for n in names)).first()
    if row is None:
        return False
    same = models.Q()
    for name in names:
        if row[f"{name}_id"] is not None:
            same |= models.Q(**{f"{name}_id": row[f"{name}_id"]})
    if not same:
        return False
    return not model._base_manager.filter(same, pk__lt=event.object_id).exists()


# --- cron ---------------------------------------------------------------------------------------

_CRON_RANGES = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 6)]
_CRON_NAMES = [
    gettext_lazy("minute"),
    gettext_lazy("hour"),
    gettext_lazy("day of month"),
    gettext_lazy("month"),
    gettext_lazy("day of week"),
]


def _cron_part(text: str, low: int, high: int) -> set[int]:
    values: set[int] = set()
    for piece in text.split(","):
        body, _slash, step_text = piece.partition("/")
        step = int(step_text) if step_text else 1
        if body == "*":
            start, end = low, high
        elif "-" in body:
            start, end = (int(x) for x in body.split("-", 1))
        else:
            start = end = int(body)
        if start < low or end > high or start > end or step < 1:
            raise ValueError
        values.update(range(start, end + 1, step))
    return values


def cron_parse(expr: str) -> list[set[int]]:
    """Five fields: minute hour day-of-month month day-of-week (0 = Sunday); *, lists, ranges, steps."""
    parts = str(expr or "").split()
    if len(parts) != 5:
        raise ValidationError(_("A schedule has five parts: minute hour day month weekday, e.g. “0 9 * * 1”."))
    sets = []
    for n, (part, (low, high)) in enumerate(zip(parts, _CRON_RANGES, strict=True)):
        try:
            sets.append(_cron_part(part, low, high))
        except ValueError:
            raise ValidationError(
                _("The %(part)s part “%(text)s” of the schedule is not valid.") % {"part": _CRON_NAMES[n], "text": part}
            ) from None
    return sets


def cron_matches(expr: str, moment: datetime) -> bool:
    minute, hour, day, month, weekday = cron_parse(expr)
    local = timezone.localtime(moment)
    return (
        local.minute in minute
        and local.hour in hour
        and local.day in day
        and local.month in month
        and (local.isoweekday() % 7) in weekday
    )


def _schedule_config(config: Config) -> Config:
    cron_parse(str(config.get("cron") or ""))
    return {"cron": " ".join(str(config["cron"]).split())}


def _schedule_due(config: Config, now: datetime) -> Iterable[tuple[None, str]]:
    if cron_matches(config["cron"], now):
        yield None, f"schedule:{timezone.localtime(now).strftime('%Y-%m-%dT%H:%M')}"


# --- inbound webhooks -----------------------------------------------------------------------------


def _inbound_config(config: Config) -> Config:
    from .models import InboundWebhook

    slug = str(config.get("slug") or "")
    if not InboundWebhook.objects.filter(slug=slug).exists():
        raise ValidationError(_("There is no inbound webhook “%(slug)s”.") % {"slug": slug})
    return {"slug": slug, "model": str(config.get("model") or "")}


def _inbound_record(config: Config, event: Event) -> models.Model | None:
    found = (event.data or {}).get("record") or {}
    model = model_of(found.get("type", "")) if found else None
    return model._base_manager.filter(pk=found.get("id")).first() if model else None


def register() -> None:
    updated = ("updated", "status_changed", "stage_changed")
    trigger_register(
        Trigger(
            "record.created",
            gettext_lazy("A record is created"),
            validate=_model_only,
            model=lambda c: c["model"],
            keys=lambda c: [(c.get("model", ""), "created")],
        )
    )
    trigger_register(
        Trigger(
            "record.updated",
            gettext_lazy("A record is updated"),
            validate=_model_only,
            model=lambda c: c["model"],
            keys=lambda c: [(c.get("model", ""), a) for a in updated],
        )
    )
    trigger_register(
        Trigger(
            "field.changed",
            gettext_lazy("A field changes (to / from a value)"),
            validate=_changed_config,
            model=lambda c: c["model"],
            keys=lambda c: [(c.get("model", ""), a) for a in updated],
            matches=_changed,
        )
    )
    trigger_register(
        Trigger(
            "status.changed",
            gettext_lazy("A stage or status changes"),
            validate=_status_config,
            model=lambda c: c["model"],
            keys=lambda c: [(c.get("model", ""), a) for a in updated],
            matches=_changed,
        )
    )
    trigger_register(
        Trigger(
            "deadline",
            gettext_lazy("A deadline approaches or passes"),
            validate=_deadline_config,
            model=lambda c: c["model"],
            due=_deadline_due,
            help=gettext_lazy("Hours before the deadline; 0 means once it has passed."),
        )
    )
    trigger_register(
        Trigger(
            "record.first",
            gettext_lazy("A customer's first record of a kind is created (e.g. the first order)"),
            validate=_first_config,
            model=lambda c: c["model"],
            keys=lambda c: [(c.get("model", ""), "created")],
            matches=_first_of_customer,
        )
    )
    trigger_register(
        Trigger(
            "deadline.event",
            gettext_lazy("An app reports a deadline passed (SLA breached, response overdue)"),
            validate=_deadline_event_config,
            model=lambda c: c["model"],
            keys=lambda c: [(c.get("model", ""), c.get("event", ""))],
            help=gettext_lazy("Fires on the event the record's own app records when its deadline passes."),
        )
    )
    trigger_register(
        Trigger(
            "no_activity",
            gettext_lazy("No activity for N days"),
            validate=_quiet_config,
            model=lambda c: c["model"],
            due=_quiet_due,
        )
    )
    trigger_register(
        Trigger(
            "days_after",
            gettext_lazy("N days after a date"),
            validate=_after_config,
            model=lambda c: c["model"],
            due=_after_due,
        )
    )
    trigger_register(
        Trigger(
            "schedule",
            gettext_lazy("On a schedule (cron)"),
            validate=_schedule_config,
            model=lambda c: "",
            due=_schedule_due,
        )
    )
    trigger_register(
        Trigger(
            "inbound.webhook",
            gettext_lazy("An inbound webhook is received"),
            validate=_inbound_config,
            model=lambda c: c.get("model", ""),
            keys=lambda c: [("automation.inboundwebhook", "received")],
            matches=lambda c, e: (e.data or {}).get("slug") == c.get("slug"),
            record_of=_inbound_record,
        )
    )
