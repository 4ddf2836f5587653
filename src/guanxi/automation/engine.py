"""The automation engine: the trigger and action registries, the in-memory rule index, and rule runs.

Rules run as a handler on core's event outbox (`core.events`): at least once per event, in order per
object, with the spine's back-off retries. A run is claimed by inserting its RuleRun (unique per rule
and event) in the same transaction as its actions, so a redelivered event never acts twice.
Later apps add triggers and actions with `trigger_register` / `action_register` from their `ready()`.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DatabaseError, IntegrityError, models, transaction
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _

from guanxi.core.events import event_context, event_handler
from guanxi.core.models import Event

from .conditions import conditions_check, conditions_hold, field_info, field_value
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


class _Index:
    """Active rules by (model label, event action); rebuilt when a rule changes here, else every TTL seconds."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.built = 0.0
        self.stale = True
        self.by_key: dict[tuple[str, str], list[Rule]] = {}
        self.timed: list[Rule] = []
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
        for rule in Rule.objects.filter(active=True).select_related("updated_by", "created_by").order_by("id"):
            spec = _triggers.get(rule.trigger)
            if spec is None:
                continue
            if spec.due is not None:
                timed.append(rule)
            for key in spec.keys(rule.trigger_config):
                by_key.setdefault(key, []).append(rule)
        self.by_key, self.timed = by_key, timed
        self.built, self.stale = time.monotonic(), False

    def rules_for(self, model: str, action: str) -> list[Rule]:
        return self.by_key.get((model, action), []) + self.by_key.get((model, "*"), [])


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


@event_handler
def rules_on_event(event: Event) -> None:
    """The rules whose trigger this event fires run, each once; one rule's failure leaves the others."""
    ct = event.content_type
    index = _index.get()
    rules = index.rules_for(f"{ct.app_label}.{ct.model}", event.action)
    if not rules:
        return
    cache: dict[str, Any] = {}
    for rule in rules:
        spec = _triggers.get(rule.trigger)
        if spec is None or not spec.matches(rule.trigger_config, event):
            continue
        record = spec.record_of(rule.trigger_config, event) if spec.record_of else _load(event, cache)
        rule_run(rule, record=record, event=event, key=f"event:{event.pk}")


def rules_sweep_timed(now: datetime | None = None, *, limit: int = 1000) -> int:
    """Run the time-based and scheduled rules that are due now; each record/key once. Returns runs made."""
    now = now or timezone.now()
    made = 0
    for rule in list(_index.get().timed):
        spec = _triggers.get(rule.trigger)
        if spec is None or spec.due is None:
            continue
        try:
            due = list(spec.due(rule.trigger_config, now))[:limit]
        except Exception:  # a rule whose field went away must not stop the other rules' sweep
            log.exception("rule %s: listing due records failed", rule.pk)
            continue
        for record, key in due:
            if RuleRun.objects.filter(rule=rule, key=key).exists():
                continue
            if rule_run(rule, record=record, event=None, key=key) is not None:
                made += 1
    return made
