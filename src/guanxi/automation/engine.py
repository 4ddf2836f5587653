"""The automation engine: the trigger and action registries, the in-memory rule index, and rule runs.

Rules run as a handler on core's event outbox (`core.events`): at least once per event, in order per
object, with the spine's back-off retries. A run is claimed by inserting its RuleRun (unique per rule
and event) in the same transaction as its actions, so a redelivered event never acts twice.
Later apps add triggers and actions with `trigger_register` / `action_register` from their `ready()`.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import DatabaseError, IntegrityError, models, transaction
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _

from guanxi.core.events import event_batch_hooks, event_context, event_handler
from guanxi.core.models import Event
from guanxi.core.services import notifications_send_many

from .conditions import TEXT, conditions_check, conditions_hold, field_info, field_value
from .models import Rule, RuleRun

log = logging.getLogger(__name__)

Config = dict[str, Any]


# --- registries -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Trigger:
    """What starts a rule. Event triggers name the (model, action) pairs they listen to; time triggers
    (`due`) list the records that are due at a moment, each with a key that makes its run happen once."""

    kind: str
    label: str | Promise
    validate: Callable[[Config], Config]  # the cleaned config, or ValidationError naming the setting
    model: Callable[[Config], str]  # "customers.lead", or "" when the rule has no record
    keys: Callable[[Config], list[tuple[str, str]]] = lambda config: []  # [(model label, event action or "*")]
    matches: Callable[[Config, Event], bool] = lambda config, event: True
    due: Callable[[Config, datetime], Iterable[tuple[models.Model | None, str]]] | None = None
    record_of: Callable[[Config, Event], models.Model | None] | None = None  # default: the event's object
    help: str | Promise = ""


@dataclass(frozen=True)
class Action:
    """What a rule does. `plan` says what it would do (dry run, no writes); `execute` does it."""

    kind: str
    label: str | Promise
    validate: Callable[[Config, str], Config]  # (config, record model label) → cleaned config
    plan: Callable[[RunContext, Config], str]
    execute: Callable[[RunContext, Config], str]
    needs_record: bool = True
    help: str | Promise = ""
    # True when `execute` needs the run's saved row (ctx.run.pk), e.g. to key a webhook delivery to it; such
    # rules run one by one. Otherwise the dispatcher's batch path writes the run rows in bulk afterwards.
    needs_run_row: bool = False
    changes_record: bool = True  # False when the action leaves the record as it is (notify, email, task)
    # True when, on the batch path, the action writes nothing itself (it leaves its rows in ctx.later):
    # an event whose rules only have such actions needs no savepoint of its own.
    defers_writes: bool = False


_triggers: dict[str, Trigger] = {}
_actions: dict[str, Action] = {}
_updaters: dict[str, Callable[..., Any]] = {}


def trigger_register(trigger: Trigger) -> None:
    """Add a trigger kind (call from an app's `ready()`)."""
    _triggers[trigger.kind] = trigger
    index_invalidate()


def action_register(action: Action) -> None:
    """Add an action kind (call from an app's `ready()`), e.g. service's "create ticket"."""
    _actions[action.kind] = action


def record_updater_register(model: str, fn: Callable[..., Any]) -> None:
    """How "set field", "assign" and "add tag" change a `model` record: through that app's own service.

    `fn(*, record, actor, fields: dict, custom: dict | None, tags: list[str] | None)`.
    """
    _updaters[model] = fn


def triggers() -> dict[str, Trigger]:
    return dict(_triggers)


def actions() -> dict[str, Action]:
    return dict(_actions)


def trigger_get(kind: str) -> Trigger | None:
    return _triggers.get(kind)


def updater_for(model: str) -> Callable[..., Any] | None:
    return _updaters.get(model)


def model_of(label: str) -> type[models.Model] | None:
    try:
        return apps.get_model(label)
    except (LookupError, ValueError):
        return None


# --- validation at save time ------------------------------------------------------------------


def rule_definition_check(
    *, trigger: str, trigger_config: Any, conditions: Any, actions: Any
) -> tuple[Config, Config, list[Config]]:
    """The rule's trigger config, conditions and actions cleaned, or one ValidationError naming each fault."""
    errors: dict[str, list[str]] = {}
    spec = _triggers.get(trigger)
    config: Config = {}
    model_label = ""
    if spec is None:
        errors["trigger"] = [_("Unknown trigger “%(kind)s”.") % {"kind": trigger}]
    else:
        try:
            config = spec.validate(dict(trigger_config or {}))
            model_label = spec.model(config)
        except ValidationError as exc:
            errors.setdefault("trigger_config", []).extend(exc.messages)
    model = model_of(model_label) if model_label else None
    cleaned_conditions: Config = {}
    if "trigger" not in errors and "trigger_config" not in errors:
        try:
            cleaned_conditions = conditions_check(conditions, model)
        except ValidationError as exc:
            errors.update(exc.message_dict)
    cleaned_actions: list[Config] = []
    if not isinstance(actions, list) or not actions:
        errors.setdefault("actions", []).append(_("Add at least one action."))
    else:
        for n, item in enumerate(actions, start=1):
            kind = str((item or {}).get("kind") or "")
            action = _actions.get(kind)
            if action is None:
                errors.setdefault("actions", []).append(
                    _("Action %(n)s: unknown action “%(kind)s”.") % {"n": n, "kind": kind}
                )
                continue
            if action.needs_record and not model_label and spec is not None:
                errors.setdefault("actions", []).append(
                    _("Action %(n)s: “%(action)s” needs a record, and this trigger has none.")
                    % {"n": n, "action": action.label}
                )
                continue
            try:
                cleaned = action.validate(dict((item or {}).get("config") or {}), model_label)
            except ValidationError as exc:
                for message in exc.messages:
                    errors.setdefault("actions", []).append(
                        _("Action %(n)s (%(action)s): %(message)s")
                        % {"n": n, "action": action.label, "message": message}
                    )
                continue
            cleaned_actions.append({"kind": kind, "config": cleaned})
    if errors:
        raise ValidationError(errors)
    return config, cleaned_conditions, cleaned_actions


# --- placeholders in templates ------------------------------------------------------------------

SWEEP_CHUNK = 500  # due records whose run keys one query reads
_PLACEHOLDER = re.compile(r"\{\{\s*([\w.]+)\s*\}\}")


def placeholders_check(text: str, model_label: str, *, setting: str) -> None:
    """Every {{ placeholder }} names a field of the record (or "record", "rule", "now")."""
    model = model_of(model_label) if model_label else None
    for name in _PLACEHOLDER.findall(text or ""):
        if name in {"record", "rule", "now"}:
            continue
        if model is None or field_info(model, name) is None:
            raise ValidationError(
                _("%(setting)s: the placeholder “%(name)s” is not a field of the record.")
                % {"setting": setting, "name": name}
            )


def placeholders_fill(text: str, ctx: RunContext) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "record":
            return str(ctx.record) if ctx.record is not None else ""
        if name == "rule":
            return ctx.rule.name
        if name == "now":
            return timezone.localtime().strftime("%Y-%m-%d %H:%M")
        if ctx.record is None:
            return ""
        try:
            found = field_value(ctx.record, name)
        except Exception:  # a field deleted since the rule was saved shows as blank, the run goes on
            return ""
        return "" if found is None else str(found)

    return _PLACEHOLDER.sub(value, text or "")


# --- the in-memory index ------------------------------------------------------------------------


@dataclass
class RunContext:
    """What an action sees: the rule, the record, the event (None for time triggers), who acts, dry run."""

    rule: Rule
    record: models.Model | None
    event: Event | None
    actor: Any
    dry_run: bool = False
    changes: dict[str, Any] = field(default_factory=dict)
    run: RuleRun | None = None
    # `run` is the saved log row on the one-by-one path; None on the batch path unless the action needs_run_row.
    # On the dispatcher's batch path: rows an action leaves for one bulk insert at the end of the batch
    # ({"notifications": [...]}); None when the action must write at once.
    later: dict[str, Any] | None = None


class _Index:
    """Active rules by (model label, event action); rebuilt when a rule changes here, else every TTL seconds."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.built = 0.0
        self.stale = True
        self.by_key: dict[tuple[str, str], list[Rule]] = {}
        self.timed: list[Rule] = []
        self.gates: dict[int, tuple[str, str]] = {}
        self.one_by_one: set[int] = set()
        self.stamp: tuple[Any, ...] = ()

    def get(self) -> _Index:
        ttl = getattr(settings, "AUTOMATION_INDEX_TTL", 1.0)
        if self.stale or time.monotonic() - self.built > ttl:
            with self.lock:
                stamp = self._stamp()
                if self.stale or stamp != self.stamp:  # one cheap query per TTL; a rebuild only on change
                    self._build()
                    self.stamp = stamp
                self.built = time.monotonic()
        return self

    def _stamp(self) -> tuple[Any, ...]:
        from django.db.models import Count, Max

        found = Rule.objects.filter(active=True).aggregate(n=Count("id"), last=Max("updated_at"), top=Max("id"))
        return (found["n"], found["last"], found["top"])

    def _build(self) -> None:
        by_key: dict[tuple[str, str], list[Rule]] = {}
        timed: list[Rule] = []
        gates: dict[int, tuple[str, str]] = {}
        for rule in Rule.objects.filter(active=True).select_related("updated_by", "created_by").order_by("id"):
            spec = _triggers.get(rule.trigger)
            if spec is None:
                continue
            if spec.due is not None:
                timed.append(rule)
            for key in spec.keys(rule.trigger_config):
                by_key.setdefault(key, []).append(rule)
            gate = _gate(rule)
            if gate is not None:
                gates[rule.pk] = gate
        self.by_key, self.timed, self.gates = by_key, timed, gates
        self.one_by_one = {rule.pk for rules in by_key.values() for rule in rules if _one_by_one(rule)}
        self.built, self.stale = time.monotonic(), False

    def rules_for(self, model: str, action: str) -> list[Rule]:
        return self.by_key.get((model, action), []) + self.by_key.get((model, "*"), [])


def _gate(rule: Rule) -> tuple[str, str] | None:
    """A text field and value the record must have for the rule's conditions to hold, when the conditions say
    so plainly (all groups must hold, one of them requires `field eq value`). The batch path skips a rule
    whose gate is shut without evaluating its conditions; the conditions still decide for the others."""
    conditions = rule.conditions or {}
    groups = conditions.get("groups") or []
    if not groups or (conditions.get("match") == "any" and len(groups) > 1):
        return None
    model = model_of(str((rule.trigger_config or {}).get("model") or ""))
    if model is None:
        return None
    for group in groups:
        rows = group.get("rules") or []
        if group.get("match") == "any" and len(rows) > 1:
            continue
        for row in rows:
            name, value = str(row.get("field") or ""), row.get("value")
            if row.get("op") != "eq" or "." in name or name == "tags" or value in (None, "") or isinstance(value, list):
                continue
            info = field_info(model, name)
            if info is None or info.kind != TEXT:
                continue
            try:
                column = model._meta.get_field(name).attname  # type: ignore[union-attr]
            except Exception:
                continue
            return column, str(value)
    return None


def _gate_open(gate: tuple[str, str] | None, record: models.Model | None) -> bool:
    if gate is None or record is None:
        return True
    value = getattr(record, gate[0], None)
    return value is not None and str(value) == gate[1]


_index = _Index()


def index_invalidate() -> None:
    """Rebuild the index on next use (this process); other processes pick changes up within the TTL."""
    _index.stale = True


def _actor(rule: Rule) -> Any:
    return rule.updated_by or rule.created_by


# --- runs ---------------------------------------------------------------------------------------


def _chain(event: Event | None) -> list[int]:
    if event is None:
        return []
    return list(((event.data or {}).get("automation") or {}).get("chain") or [])


def _record_fields(record: models.Model | None) -> dict[str, Any]:
    if record is None:
        return {}
    values: dict[str, Any] = {}
    for f in record._meta.concrete_fields:
        if f.name in {"custom"} or f.name.endswith(("_pinyin", "_initials")):
            continue
        values[f.name] = getattr(record, f.attname)
    values.update({f"custom.{k}": v for k, v in (getattr(record, "custom", None) or {}).items()})
    return values


def rule_run(
    rule: Rule, *, record: models.Model | None, event: Event | None, key: str, changes: dict[str, Any] | None = None
) -> RuleRun | None:
    """Run one rule once for this key: conditions, loop guard, actions — all or nothing — and its log row.

    Returns None when the conditions do not hold or the run already happened. A refused action
    (ValidationError, a bug) is logged as a failed run and does not stop other rules; a database error
    is raised so the event spine retries the event after its back-off.
    """
    started = time.perf_counter()
    changes = changes if changes is not None else (dict(event.changes or {}) if event else {})
    held, trace = conditions_hold(rule.conditions, record, changes)
    if not held:
        return None
    chain = _chain(event)
    inputs = {"conditions": trace, "changes": changes, "record": _record_fields(record), "chain": chain}
    base = {
        "rule": rule,
        "event": event,
        "key": key,
        "record_type": record._meta.label_lower if record is not None else "",
        "record_id": record.pk if record is not None else None,
        "record_repr": str(record)[:200] if record is not None else "",
        "inputs": inputs,
    }
    max_depth = getattr(settings, "AUTOMATION_MAX_DEPTH", 3)
    skip = ""
    if rule.pk in chain:
        skip = _("Skipped: the event was caused by this rule's own action.")
    elif len(chain) >= max_depth:
        skip = _("Skipped: %(depth)s rules in a row caused this event (the limit).") % {"depth": len(chain)}
    with transaction.atomic():
        try:
            with transaction.atomic():
                run = RuleRun.objects.create(**base, outcome=RuleRun.Outcome.SKIPPED if skip else RuleRun.Outcome.OK)
        except IntegrityError:
            return None  # this rule already ran for this event / key
        if skip:
            run.error = skip
            run.save(update_fields=["error"])
            return run
        ctx = RunContext(rule=rule, record=record, event=event, actor=_actor(rule), changes=changes, run=run)
        done: list[dict[str, Any]] = []
        try:
            with transaction.atomic(), event_context(automation={"chain": [*chain, rule.pk], "rule": rule.pk}):
                for n, item in enumerate(rule.actions, start=1):
                    action = _actions.get(item.get("kind", ""))
                    if action is None:
                        raise ValidationError(
                            _("Action %(n)s: the action “%(kind)s” is not available.")
                            % {"n": n, "kind": item.get("kind")}
                        )
                    done.append({"kind": action.kind, "result": action.execute(ctx, item.get("config") or {})})
        except DatabaseError:
            raise
        except Exception as exc:  # one rule's failure is logged and must not stop the others
            log.info("rule %s failed on %s: %s", rule.pk, key, exc)
            run.outcome = RuleRun.Outcome.FAILED
            run.error = _error_text(exc)
            done = [{**d, "rolled_back": True} for d in done]
        run.actions_done = done
        run.duration_ms = int((time.perf_counter() - started) * 1000)
        run.save(update_fields=["outcome", "error", "actions_done", "duration_ms"])
    return run


def _error_text(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        if hasattr(exc, "error_dict"):
            return "; ".join(f"{k}: {' '.join(str(m) for m in v)}" for k, v in exc.message_dict.items())[:2000]
        return " ".join(str(m) for m in exc.messages)[:2000]
    return f"{type(exc).__name__}: {exc}"[:2000]


def rule_dry_run(*, rule: Rule, record: models.Model | None, actor: Any) -> dict[str, Any]:
    """What the rule would do for this record now: each condition row's result and each action's plan.

    Nothing is written but the dry-run log row.
    """
    started = time.perf_counter()
    held, trace = conditions_hold(rule.conditions, record, {})
    plans = []
    ctx = RunContext(rule=rule, record=record, event=None, actor=actor or _actor(rule), dry_run=True)
    for n, item in enumerate(rule.actions, start=1):
        action = _actions.get(item.get("kind", ""))
        if action is None:
            plans.append(
                {"kind": item.get("kind"), "plan": "", "result": "", "error": _("This action is not available.")}
            )
            continue
        try:
            plan = action.plan(ctx, item["config"])
            plans.append({"kind": action.kind, "label": str(action.label), "plan": plan, "result": plan})
        except ValidationError as exc:
            plans.append(
                {"kind": action.kind, "label": str(action.label), "plan": "", "result": "", "error": _error_text(exc)}
            )
        except Exception as exc:
            plans.append(
                {"kind": action.kind, "label": str(action.label), "plan": "", "result": "", "error": _error_text(exc)}
            )
            log.info("dry run of rule %s action %s: %s", rule.pk, n, exc)
    failed = [p for p in plans if p.get("error")]
    outcome = RuleRun.Outcome.SKIPPED if not held else (RuleRun.Outcome.FAILED if failed else RuleRun.Outcome.OK)
    run = RuleRun.objects.create(
        rule=rule,
        key=f"dry:{uuid.uuid4().hex}",
        record_type=record._meta.label_lower if record is not None else "",
        record_id=record.pk if record is not None else None,
        record_repr=str(record)[:200] if record is not None else "",
        dry_run=True,
        outcome=outcome,
        inputs={"conditions": trace, "record": _record_fields(record)},
        actions_done=plans if held else [],
        error="" if held else _("The conditions do not hold for this record; nothing would be done."),
        duration_ms=int((time.perf_counter() - started) * 1000),
    )
    return {"conditions_hold": held, "conditions": trace, "actions": plans, "run": run}


def _load(event: Event, cache: dict[str, Any]) -> models.Model | None:
    if "record" not in cache:
        model = event.content_type.model_class()
        cache["record"] = model._base_manager.filter(pk=event.object_id).first() if model else None
    return cache["record"]


# --- the batch path: what the dispatcher hands over in one transaction -----------------------------


@dataclass
class _Batch:
    """One dispatcher batch: its records loaded together, the runs that already exist, the runs collected."""

    records: dict[tuple[str, int], models.Model | None] = field(default_factory=dict)
    done: set[tuple[int, int]] = field(default_factory=set)  # (rule, event) pairs that ran before
    runs: dict[int, list[_RunRow]] = field(default_factory=dict)  # event id → run rows to insert at the end
    later: dict[int, dict[str, Any]] = field(default_factory=dict)  # event id → rows the actions left for later
    infos: dict[tuple[Any, str], Any] = field(default_factory=dict)  # field types the conditions name


_batch: contextvars.ContextVar[_Batch | None] = contextvars.ContextVar("automation_batch", default=None)


def _label(event: Event) -> str:
    ct = event.content_type
    return f"{ct.app_label}.{ct.model}"


def _records_load(model: type[models.Model], ids: set[int]) -> dict[int, models.Model]:
    rows = model._base_manager.filter(pk__in=ids)
    owner = next((f for f in model._meta.concrete_fields if f.name == "owner" and f.is_relation), None)
    if owner is not None:
        rows = rows.select_related("owner")
    return {r.pk: r for r in rows}


def rules_batch_start(batch: list[Event]) -> None:
    """Once per dispatcher batch: the index, the records of the events some rule listens to, and the runs
    that already happened (a redelivered batch), each in one query per kind of record."""
    index = _index.get()
    state = _Batch()
    wanted: dict[str, set[int]] = {}
    events: list[int] = []
    for event in batch:
        label = _label(event)
        if index.rules_for(label, event.action):
            wanted.setdefault(label, set()).add(event.object_id)
            events.append(event.pk)
    for label, ids in wanted.items():
        model = model_of(label)
        found = _records_load(model, ids) if model is not None else {}
        state.records.update({(label, pk): found.get(pk) for pk in ids})
    if events:
        state.done = set(RuleRun.objects.filter(event_id__in=events).values_list("rule_id", "event_id"))
    _batch.set(state)


def rules_batch_end(handled: list[Event]) -> None:
    """Write the run rows of the events every handler took, in bulk, in the batch's transaction."""
    state = _batch.get()
    _batch.set(None)
    if state is None:
        return
    rows = [run for event in handled for run in state.runs.get(event.pk, [])]
    if rows:
        _runs_insert(rows)
    notifications = [n for event in handled for n in state.later.get(event.pk, {}).get("notifications", [])]
    if notifications:
        notifications_send_many(notifications=notifications)


@dataclass(slots=True)
class _RunRow:
    """A run on the batch path: plain values, written with one bulk insert (no model instance per run)."""

    rule_id: int
    event_id: int
    record_type: str
    record_id: int | None
    record_repr: str
    inputs: dict[str, Any]
    outcome: str = RuleRun.Outcome.OK
    actions_done: list[dict[str, Any]] = field(default_factory=list)
    error: str = ""
    duration_ms: int = 0


_RUN_COLUMNS: tuple[str, ...] = (
    "rule",
    "event",
    "key",
    "record_type",
    "record_id",
    "record_repr",
    "dry_run",
    "outcome",
    "inputs",
)
_RUN_COLUMNS += ("actions_done", "error", "duration_ms", "created_at")


def _runs_insert(rows: list[_RunRow]) -> None:
    from django.db import connection

    from guanxi.core.bulk import insert_rows

    now = connection.ops.adapt_datetimefield_value(timezone.now())

    def dump(value: Any) -> str:
        return json.dumps(value, cls=DjangoJSONEncoder, ensure_ascii=False)

    insert_rows(
        model=RuleRun,
        fields=_RUN_COLUMNS,
        rows=(
            (
                r.rule_id,
                r.event_id,
                f"event:{r.event_id}",
                r.record_type,
                r.record_id,
                r.record_repr,
                False,
                r.outcome,
                dump(r.inputs),
                dump(r.actions_done),
                r.error,
                r.duration_ms,
                now,
            )
            for r in rows
        ),
    )


class _Refused(Exception):
    """An action refused inside the batch path: the event's rules are run again one by one."""


def _rules_batched(state: _Batch, event: Event, rules: list[tuple[Rule, models.Model | None]]) -> None:
    """The event's matching rules with all their actions in one savepoint, run rows kept for the bulk insert.

    When any action refuses, that savepoint is rolled back and the rules run one by one (`rule_run`), so
    the failing run is logged and the others still act, exactly as without the batch."""
    changes = dict(event.changes or {})
    chain = _chain(event)
    max_depth = getattr(settings, "AUTOMATION_MAX_DEPTH", 3)
    runs: list[_RunRow] = []
    later: dict[str, Any] = {}
    fields: dict[int, dict[str, Any]] = {}  # the record's values for the run log, read once per record
    deferred = all(
        getattr(_actions.get(i.get("kind", "")), "defers_writes", False) for r, _rec in rules for i in r.actions
    )
    try:
        with contextlib.nullcontext() if deferred else transaction.atomic():
            for rule, record in rules:
                started = time.perf_counter()
                held, trace = conditions_hold(rule.conditions, record, changes, infos=state.infos)
                if not held:
                    continue
                if id(record) not in fields:
                    fields[id(record)] = _record_fields(record)
                run = _RunRow(
                    rule_id=rule.pk,
                    event_id=event.pk,
                    record_type=record._meta.label_lower if record is not None else "",
                    record_id=record.pk if record is not None else None,
                    record_repr=str(record)[:200] if record is not None else "",
                    inputs={"conditions": trace, "changes": changes, "record": fields[id(record)], "chain": chain},
                )
                runs.append(run)
                if rule.pk in chain:
                    run.outcome, run.error = (
                        RuleRun.Outcome.SKIPPED,
                        _("Skipped: the event was caused by this rule's own action."),
                    )
                    continue
                if len(chain) >= max_depth:
                    run.outcome = RuleRun.Outcome.SKIPPED
                    run.error = _("Skipped: %(depth)s rules in a row caused this event (the limit).") % {
                        "depth": len(chain)
                    }
                    continue
                ctx = RunContext(
                    rule=rule, record=record, event=event, actor=_actor(rule), changes=changes, later=later
                )
                done: list[dict[str, Any]] = []
                with event_context(automation={"chain": [*chain, rule.pk], "rule": rule.pk}):
                    for item in rule.actions:
                        action = _actions.get(item.get("kind", ""))
                        if action is None:
                            raise _Refused
                        try:
                            done.append({"kind": action.kind, "result": action.execute(ctx, item.get("config") or {})})
                        except DatabaseError:
                            raise
                        except Exception as exc:
                            raise _Refused from exc
                if any(getattr(_actions.get(d["kind"]), "changes_record", True) for d in done):
                    fields.clear()  # the next rule's log shows the record as this rule left it
                run.actions_done = done
                run.duration_ms = int((time.perf_counter() - started) * 1000)
    except _Refused:
        for rule, record in rules:
            rule_run(rule, record=record, event=event, key=f"event:{event.pk}", changes=changes)
        return
    if runs:
        state.runs.setdefault(event.pk, []).extend(runs)
    if later:
        state.later[event.pk] = later


def _one_by_one(rule: Rule) -> bool:
    return any(getattr(_actions.get(item.get("kind", "")), "needs_run_row", False) for item in rule.actions)


@event_handler
def rules_on_event(event: Event) -> None:
    """The rules whose trigger this event fires run, each once; one rule's failure leaves the others."""
    label = _label(event)
    index = _index.get()
    rules = index.rules_for(label, event.action)
    if not rules:
        return
    state = _batch.get()
    cache: dict[str, Any] = {}
    if state is not None and (label, event.object_id) in state.records:
        cache["record"] = state.records[(label, event.object_id)]
    batched: list[tuple[Rule, models.Model | None]] = []
    for rule in rules:
        spec = _triggers.get(rule.trigger)
        if spec is None or not spec.matches(rule.trigger_config, event):
            continue
        record = spec.record_of(rule.trigger_config, event) if spec.record_of else _load(event, cache)
        if state is None or rule.pk in index.one_by_one:
            rule_run(rule, record=record, event=event, key=f"event:{event.pk}")
        elif (rule.pk, event.pk) not in state.done and _gate_open(index.gates.get(rule.pk), record):
            batched.append((rule, record))
    if batched and state is not None:
        _rules_batched(state, event, batched)


event_batch_hooks(start=rules_batch_start, end=rules_batch_end)


def rules_sweep_timed(now: datetime | None = None, *, limit: int = 1000) -> int:
    """Run the time-based and scheduled rules that are due now; each record/key once, at most `limit` runs per
    rule and sweep. Records already handled are skipped, so a backlog larger than `limit` drains sweep by sweep."""
    now = now or timezone.now()
    made = 0
    for rule in list(_index.get().timed):
        spec = _triggers.get(rule.trigger)
        if spec is None or spec.due is None:
            continue
        try:
            made += _sweep_rule(rule, spec.due(rule.trigger_config, now), limit)
        except Exception:  # a rule whose field went away must not stop the other rules' sweep
            log.exception("rule %s: listing due records failed", rule.pk)
    return made


def _sweep_rule(rule: Rule, due: Iterable[tuple[models.Model | None, str]], limit: int) -> int:
    """Runs `rule` on the due records it has not run for yet, reading the done keys one chunk at a time."""
    made = 0
    items = iter(due)
    while chunk := list(islice(items, SWEEP_CHUNK)):
        done = set(RuleRun.objects.filter(rule=rule, key__in=[key for _r, key in chunk]).values_list("key", flat=True))
        for record, key in chunk:
            if key not in done and rule_run(rule, record=record, event=None, key=key) is not None:
                made += 1
                if made >= limit:
                    return made
    return made
