"""The event spine: `record_event` writes one row per change; the dispatcher hands rows to handlers.

Handlers are registered with `@event_handler` from an app's `ready()` and must be idempotent:
delivery is at least once, so each handler keys its effects by `event.id`.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
from collections.abc import Callable, Iterable, Iterator
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import connection, models, transaction
from django.utils import timezone
from django.utils.translation import pgettext_lazy

from .models import Event

log = logging.getLogger(__name__)

EventHandler = Callable[[Event], None]
BatchHook = Callable[[list[Event]], None]
_handlers: list[EventHandler] = []
_batch_starts: list[BatchHook] = []
_batch_ends: list[BatchHook] = []

# Display names of event actions; apps add theirs with `event_action(...)` (e.g. "stage_changed", "merged").
ACTION_LABELS: dict[str, Any] = {
    "created": pgettext_lazy("event action", "created"),
    "updated": pgettext_lazy("event action", "updated"),
    "deleted": pgettext_lazy("event action", "deleted"),
    "status_changed": pgettext_lazy("event action", "status changed"),
    "password_changed": pgettext_lazy("event action", "password changed"),
    "locked": pgettext_lazy("event action", "locked"),
    "unlocked": pgettext_lazy("event action", "unlocked"),
    "revoked": pgettext_lazy("event action", "revoked"),
    "pii_viewed": pgettext_lazy("event action", "personal data viewed"),
    "checked": pgettext_lazy("event action", "checked"),
    "imported": pgettext_lazy("event action", "imported"),
    "import_failed": pgettext_lazy("event action", "import failed"),
    "undone": pgettext_lazy("event action", "undone"),
}


def event_action(code: str, label: Any) -> None:
    """Register the display name of an event action."""
    ACTION_LABELS[code] = label


# PostgreSQL advisory-lock key for the dispatcher: one dispatcher per partition at a time keeps
# events of one object in order even with many workers.
_DISPATCH_LOCK = 0x6775_6178  # "guax"


# Extra `data` merged into every event recorded while it is set: automation marks the events its own
# actions cause with the rule chain, so a rule's change cannot retrigger it endlessly.
_event_context: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "guanxi_event_context", default=None
)


@contextlib.contextmanager
def event_context(**data: Any) -> Iterator[None]:
    """Add `data` to the `data` of every event recorded inside this block (nested blocks merge)."""
    token = _event_context.set({**(_event_context.get() or {}), **data})
    try:
        yield
    finally:
        _event_context.reset(token)


def event_handler(fn: EventHandler) -> EventHandler:
    """Register `fn` to receive every dispatched event (idempotently, keyed by event.id)."""
    if fn not in _handlers:
        _handlers.append(fn)
    return fn


def event_handlers() -> tuple[EventHandler, ...]:
    return tuple(_handlers)


def event_batch_hooks(*, start: BatchHook | None = None, end: BatchHook | None = None) -> None:
    """Let a handler work per batch as well as per event: `start(batch)` runs before the batch's events
    are handed out (load what they need in a few queries), `end(handled)` after, in the same transaction,
    with the events every handler took without error (write what was collected in bulk). An `end` that
    raises rolls the whole batch back; its events are dispatched again."""
    if start is not None and start not in _batch_starts:
        _batch_starts.append(start)
    if end is not None and end not in _batch_ends:
        _batch_ends.append(end)


def record_event(
    *,
    obj: models.Model,
    action: str,
    actor: Any,
    changes: dict[str, list[Any]] | None = None,
    data: dict[str, Any] | None = None,
) -> Event:
    """Write the audit/timeline/trigger row for one change. Must run inside the service's transaction."""
    if not connection.in_atomic_block:
        raise RuntimeError("record_event must be called inside the service's transaction.atomic block.")
    user = actor if getattr(actor, "is_authenticated", False) else None
    return Event.objects.create(
        actor=user,
        actor_label=str(actor) if actor is not None else "system",
        content_type=ContentType.objects.get_for_model(obj),
        object_id=obj.pk,
        object_repr=str(obj)[:200],
        action=action,
        changes=changes or {},
        data={**(_event_context.get() or {}), **(data or {})},
    )


def field_changes(obj: models.Model, before: dict[str, Any], fields: Iterable[str]) -> dict[str, list[Any]]:
    """`{field: [before, after]}` for the fields whose value differs from the `before` snapshot."""
    changes = {}
    for name in fields:
        after = getattr(obj, name)
        if before.get(name) != after:
            changes[name] = [before.get(name), after]
    return changes


def snapshot(obj: models.Model, fields: Iterable[str]) -> dict[str, Any]:
    return {name: getattr(obj, name) for name in fields}


def retry_delay(attempts: int) -> timedelta:
    """Exponential back-off between delivery attempts: 10 s, 20 s, 40 s … capped at one hour."""
    return timedelta(seconds=min(3600, 10 * 2 ** (attempts - 1)))


def _hand_out(batch: list[Event], blocked: set[Any], now: Any, *, isolate: bool) -> tuple[list[int], list[Event]]:
    """Give each event of the batch to every handler; with `isolate`, each event in its own savepoint so a
    failing handler only sets that event (and its object's later events) aside. Without, a failure raises."""
    for start in _batch_starts:
        start(batch)
    settled: list[int] = []
    failed: list[Event] = []
    handled: list[Event] = []
    for event in batch:
        key = (event.content_type_id, event.object_id)
        if key in blocked:
            continue
        if not isolate:
            for handler in event_handlers():
                handler(event)
            settled.append(event.pk)
            handled.append(event)
            continue
        try:
            with transaction.atomic():
                for handler in event_handlers():
                    handler(event)
        except Exception as exc:  # a handler's bug must not stop other objects' events
            log.exception("event %s: handler failed", event.pk)
            event.dispatch_attempts += 1
            event.dispatch_error = f"{type(exc).__name__}: {exc}"[:2000]
            event.dispatch_after = now + retry_delay(event.dispatch_attempts)
            if event.dispatch_attempts >= settings.EVENT_DISPATCH_MAX_ATTEMPTS:
                settled.append(event.pk)
            failed.append(event)
            blocked.add(key)
            continue
        settled.append(event.pk)
        handled.append(event)
    for end in _batch_ends:
        end(handled)
    return settled, failed


def events_dispatch_batch(*, batch_size: int = 500, partition: int = 0, partitions: int = 1) -> int:
    """Hand undispatched events to every handler, in id order per object; return how many were settled.

    A handler failure leaves that event (and later events of the same object) for a later run after
    a back-off; after EVENT_DISPATCH_MAX_ATTEMPTS (about 1.5 hours of retries by default) the event
    is set aside with its error so it cannot block its object forever.
    """
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", [_DISPATCH_LOCK, partition])
                if not cursor.fetchone()[0]:
                    return 0
        now = timezone.now()
        pending = Event.objects.undispatched()
        if partitions > 1:
            pending = pending.annotate(part=models.F("object_id") % partitions).filter(part=partition)
        # an object whose earlier event is waiting out a retry back-off keeps its later events waiting too
        blocked = set(pending.filter(dispatch_after__gt=now).values_list("content_type_id", "object_id"))
        batch = list(pending.exclude(dispatch_after__gt=now).select_related("content_type")[:batch_size])
        # First the whole batch in one savepoint (no round trip per event); only when a handler fails is it
        # rolled back and handed out again with a savepoint per event, so the failure stays with its event.
        try:
            with transaction.atomic():
                settled, failed = _hand_out(batch, set(blocked), now, isolate=False)
        except Exception:
            log.info("a handler failed in a batch of %s events; handing them out one savepoint each", len(batch))
            settled, failed = _hand_out(batch, blocked, now, isolate=True)
        Event.objects.bulk_update(failed, ["dispatch_attempts", "dispatch_error", "dispatch_after"])
        Event.objects.filter(pk__in=settled).update(dispatched_at=timezone.now())
    return len(settled)
