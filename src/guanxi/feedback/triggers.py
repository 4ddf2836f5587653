"""Surveys sent by what happens elsewhere, heard only through the event spine.

The hook other apps use: when a ticket, order or any record with a customer reaches its end, record
`status_changed` with `changes={"status": [before, after]}`. An `after` of "resolved" or "solved" sends the
active surveys whose trigger is "resolved"; "completed" (or the `completed` action) sends the "completed"
ones. The customer is the record's `contact` attribute (a customers.Contact), or the record itself when it is
a Contact; an app whose records name the customer differently registers `customer_resolver(label, fn)`.
Handlers run at least once: the invitation is keyed by the event id, so a repeat sends nothing twice.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from guanxi.core.models import Event
from guanxi.customers.models import Contact

RESOLVED = {"resolved", "solved"}
COMPLETED = {"completed", "done", "delivered"}
_resolvers: dict[str, Callable[[Any], Contact | None]] = {}


def customer_resolver(model_label: str, fn: Callable[[Any], Contact | None]) -> None:
    """Tell the triggers how to find the customer of another app's record (`app_label.modelname`)."""
    _resolvers[model_label] = fn


def _customer(obj: Any) -> Contact | None:
    label = obj._meta.label_lower
    if label in _resolvers:
        return _resolvers[label](obj)
    if isinstance(obj, Contact):
        return obj
    contact = getattr(obj, "contact", None)
    return contact if isinstance(contact, Contact) else None


def _trigger_of(event: Event) -> str:
    if event.action == "completed":
        return "completed"
    if event.action != "status_changed":
        return ""
    after = str((event.changes or {}).get("status", [None, None])[-1] or "").lower()
    if after in RESOLVED:
        return "resolved"
    if after in COMPLETED:
        return "completed"
    if after == "closed" and event.content_type.model == "feedbackitem":
        return "feedback_closed"
    return ""


def survey_triggers(event: Event) -> None:
    """Send the surveys whose trigger this event is (idempotent per event)."""
    trigger = _trigger_of(event)
    if not trigger:
        return
    from .models import FeedbackItem, Survey
    from .products import product_of
    from .services import survey_invite

    surveys = list(Survey.objects.filter(active=True, trigger=trigger))
    if not surveys:
        return
    model = event.content_type.model_class()
    obj = model._base_manager.filter(pk=event.object_id).first() if model else None
    contact = _customer(obj) if obj is not None else None
    if contact is None:
        return
    language = obj.language if isinstance(obj, FeedbackItem) else ""
    for survey in surveys:
        survey_invite(
            survey=survey,
            contact=contact,
            actor=None,
            language=language,
            source_event_id=event.pk,
            channel=getattr(obj, "channel", "") if isinstance(obj, FeedbackItem) else "",
            team=getattr(obj, "team", None),
            agent=getattr(obj, "owner", None),
            product_id=product_of(obj),
        )
