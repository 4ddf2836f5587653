"""Webhooks out (signed JSON per event type, retried with back-off, disabled after repeated failures)
and in (signed posts that create or update records through the customers services)."""

from __future__ import annotations

import contextvars
import functools
import hashlib
import hmac
import json
import logging
import time
from datetime import datetime
from typing import Any

import httpx
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from guanxi.core.events import event_batch_hooks, event_handler, record_event, retry_delay
from guanxi.core.models import ADMINISTRATOR, Event, User
from guanxi.core.services import notification_send

from .conditions import conditions_hold
from .models import InboundWebhook, RuleRun, WebhookDelivery, WebhookSubscription

log = logging.getLogger(__name__)


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """`sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>`: what receivers verify."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def event_type(event: Event) -> str:
    return f"{event.content_type.app_label}.{event.content_type.model}.{event.action}"


def event_payload(event: Event) -> dict[str, Any]:
    return {
        "id": event.pk,
        "type": event_type(event),
        "occurred_at": event.occurred_at,
        "object": {
            "type": f"{event.content_type.app_label}.{event.content_type.model}",
            "id": event.object_id,
            "repr": event.object_repr,
        },
        "actor": event.actor_label,
        "changes": event.changes,
    }


def subscribed(patterns: list[str], kind: str) -> bool:
    """ "customers.lead.created" matches itself, "customers.lead.*" and "*"."""
    for pattern in patterns:
        if pattern in ("*", kind) or (pattern.endswith(".*") and kind.startswith(pattern[:-1])):
            return True
    return False


def _record(event: Event) -> models.Model | None:
    model = event.content_type.model_class()
    return model._base_manager.filter(pk=event.object_id).first() if model else None


@event_handler
def webhooks_on_event(event: Event) -> None:
    """Queue one delivery per matching subscription; keyed (subscription, event, attempt 1), so once."""
    if event.content_type.app_label == "automation" and event.content_type.model in {"webhookdelivery"}:
        return
    subscriptions = [s for s in _active_subscriptions() if subscribed(s.event_types, event_type(event))]
    if not subscriptions:
        return
    record = None
    for sub in subscriptions:
        if sub.conditions:
            record = record or _record(event)
            held, _trace = conditions_hold(sub.conditions, record, event.changes or {})
            if not held:
                continue
        delivery, created = WebhookDelivery.objects.get_or_create(
            subscription=sub, event=event, attempt=1, defaults={"url": sub.url, "payload": event_payload(event)}
        )
        if created:
            transaction.on_commit(functools.partial(_queue, delivery.pk))


_batch_subscriptions: contextvars.ContextVar[list[WebhookSubscription] | None] = contextvars.ContextVar(
    "webhook_batch_subscriptions", default=None
)


def _active_subscriptions() -> list[WebhookSubscription]:
    found = _batch_subscriptions.get()
    return found if found is not None else list(WebhookSubscription.objects.filter(active=True))


def _batch_start(batch: list[Event]) -> None:
    """One query per dispatcher batch for the active subscriptions, not one per event."""
    _batch_subscriptions.set(list(WebhookSubscription.objects.filter(active=True)))


def _batch_end(handled: list[Event]) -> None:
    _batch_subscriptions.set(None)


event_batch_hooks(start=_batch_start, end=_batch_end)


def _queue(delivery_id: int) -> None:
    from .tasks import webhook_deliver

    webhook_deliver.delay(delivery_id)


def rule_call_queue(*, run: RuleRun, url: str, secret: str, record: Any, event: Event | None) -> WebhookDelivery:
    """A rule's "call a webhook" action: one delivery row, posted after the run commits."""
    payload: dict[str, Any] = {
        "rule": {"id": run.rule_id, "name": run.rule.name},
        "event": event_payload(event) if event is not None else None,
        "record": {"type": run.record_type, "id": run.record_id, "repr": run.record_repr},
    }
    delivery = WebhookDelivery.objects.create(run=run, event=event, url=url, payload=payload)
    transaction.on_commit(lambda: _queue(delivery.pk))
    return delivery


def _post(url: str, secret: str, payload: dict[str, Any]) -> tuple[int | None, str, str, int]:
    body = json.dumps(payload, cls=DjangoJSONEncoder, ensure_ascii=False).encode()
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Guanxi-Webhooks/1",
        "X-Guanxi-Timestamp": timestamp,
        "X-Guanxi-Signature": sign(secret, timestamp, body),
    }
    started = time.perf_counter()
    try:
        response = httpx.post(url, content=body, headers=headers, timeout=settings.AUTOMATION_WEBHOOK_TIMEOUT)
        status, excerpt, error = response.status_code, response.text[:500], ""
    except httpx.HTTPError as exc:
        status, excerpt, error = None, "", f"{type(exc).__name__}: {exc}"[:500]
    return status, excerpt, error, int((time.perf_counter() - started) * 1000)


def _rule_secret(delivery: WebhookDelivery) -> str:
    """The secret of the rule action that made this call (kept on the rule, never in the delivery log)."""
    rule = delivery.run.rule if delivery.run is not None else None
    for item in rule.actions if rule is not None else []:
        config = item.get("config") or {}
        if item.get("kind") == "call_webhook" and config.get("url") == delivery.url:
            return str(config.get("secret") or "")
    return ""


def webhook_deliver(delivery_id: int) -> WebhookDelivery | None:
    """Make one attempt; on failure schedule the next (exponential back-off) or give up; count failures."""
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update(of=("self",))
            .select_related("subscription")
            .filter(pk=delivery_id, state=WebhookDelivery.State.PENDING)
            .first()
        )
        if delivery is None:
            return None  # already attempted (a redelivered task)
        sub = delivery.subscription
        if sub is not None and not sub.active:
            delivery.state, delivery.error = WebhookDelivery.State.GAVE_UP, _("The subscription is disabled.")
            delivery.save(update_fields=["state", "error"])
            return delivery
        secret = sub.secret if sub is not None else _rule_secret(delivery)
        status, excerpt, error, duration = _post(delivery.url, secret, delivery.payload)
        delivery.status_code, delivery.response_excerpt, delivery.duration_ms = status, excerpt, duration
        ok = status is not None and 200 <= status < 300
        if ok:
            delivery.state = WebhookDelivery.State.OK
        else:
            delivery.error = error or _("The receiver answered %(status)s.") % {"status": status}
            if delivery.attempt >= settings.AUTOMATION_WEBHOOK_MAX_ATTEMPTS:
                delivery.state = WebhookDelivery.State.GAVE_UP
            else:
                delivery.state = WebhookDelivery.State.FAILED
                delivery.next_retry_at = timezone.now() + retry_delay(delivery.attempt)
        delivery.save()
        if sub is not None:
            _count(sub, ok=ok)
    return delivery


def _count(sub: WebhookSubscription, *, ok: bool) -> None:
    sub = WebhookSubscription.objects.select_for_update().get(pk=sub.pk)
    if ok:
        if sub.failure_count:
            sub.failure_count = 0
            sub.save(update_fields=["failure_count"])
        return
    sub.failure_count += 1
    fields = ["failure_count"]
    if sub.active and sub.failure_count >= settings.AUTOMATION_WEBHOOK_DISABLE_AFTER:
        sub.active, sub.disabled_at = False, timezone.now()
        fields += ["active", "disabled_at"]
        event = record_event(
            obj=sub,
            action="status_changed",
            actor=None,
            changes={"active": [True, False]},
            data={"reason": "failures", "failures": sub.failure_count},
        )
        admins = User.objects.filter(models.Q(groups__name=ADMINISTRATOR) | models.Q(is_superuser=True))
        for admin in admins.filter(is_active=True).distinct():
            notification_send(
                recipient=admin,
                title=gettext_noop("The webhook “%(name)s” was switched off after %(count)s failed deliveries."),
                params={"name": sub.name, "count": sub.failure_count},
                url=f"/settings/automation/webhooks/{sub.pk}/",
                event=event,
            )
    sub.save(update_fields=fields)


def webhook_retries_due(now: datetime | None = None) -> int:
    """Queue the next attempt of every failed delivery whose back-off has passed; returns how many."""
    now = now or timezone.now()
    made = 0
    due = WebhookDelivery.objects.filter(state=WebhookDelivery.State.FAILED, next_retry_at__lte=now)
    # a subscription switched off (by hand or after failures) gets no more attempts
    due.filter(subscription__active=False).update(state=WebhookDelivery.State.GAVE_UP, next_retry_at=None)
    for failed in due.select_related("subscription").order_by("id")[:500]:
        with transaction.atomic():
            claimed = WebhookDelivery.objects.filter(pk=failed.pk, state=WebhookDelivery.State.FAILED).update(
                state=WebhookDelivery.State.RETRIED, next_retry_at=None
            )
            if not claimed:
                continue
            nxt = WebhookDelivery.objects.create(
                subscription=failed.subscription,
                run=failed.run,
                event=failed.event,
                url=failed.url,
                payload=failed.payload,
                attempt=failed.attempt + 1,
            )
            made += 1
            transaction.on_commit(functools.partial(_queue, nxt.pk))
    return made


# --- inbound --------------------------------------------------------------------------------------


class InboundRefused(Exception):
    """A post refused with a status, a stable code and a translated message."""

    def __init__(self, status: int, code: str, message: str, fields: dict[str, list[str]] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.fields = status, code, message, fields or {}


def inbound_verify(hook: InboundWebhook, *, timestamp: str, signature: str, body: bytes) -> None:
    """The signature matches this endpoint's secret and the timestamp is recent, or InboundRefused (401)."""
    if not timestamp or not signature:
        raise InboundRefused(401, "signature_missing", _("Send X-Guanxi-Timestamp and X-Guanxi-Signature headers."))
    try:
        age = abs(time.time() - int(timestamp))
    except ValueError:
        raise InboundRefused(401, "timestamp_invalid", _("X-Guanxi-Timestamp must be Unix seconds.")) from None
    if age > settings.AUTOMATION_INBOUND_TOLERANCE:
        raise InboundRefused(401, "timestamp_expired", _("The timestamp is too old or in the future."))
    if not hmac.compare_digest(sign(hook.secret, timestamp, body), signature):
        raise InboundRefused(401, "signature_invalid", _("The signature does not match."))


def _find(model: Any, values: dict[str, Any]) -> Any:
    keys = [k for k in ("email", "phone") if values.get(k)]
    if not keys:
        raise ValidationError({"email": _("Send an email or phone to find the record to update.")})
    rows = model.objects.filter(archived_at__isnull=True)
    query = models.Q()
    for k in keys:
        query |= models.Q(**{k: values[k]})
    found = rows.filter(query).order_by("id").first()
    if found is None:
        raise ValidationError({keys[0]: _("No record has this %(field)s.") % {"field": keys[0]}})
    return found


def inbound_apply(hook: InboundWebhook, payload: Any) -> dict[str, Any]:
    """Create or update the target record from a verified payload, and record a `received` event
    (which fires the rules whose trigger is this endpoint). One transaction: nothing half-written."""
    from guanxi.customers import services as customers
    from guanxi.customers.models import Contact, Lead

    if not isinstance(payload, dict):
        raise InboundRefused(400, "payload_invalid", _("The body must be a JSON object."))
    mapping = hook.field_mapping or {}
    values = {field: payload[key] for key, field in mapping.items() if key in payload} if mapping else dict(payload)
    custom = {k.removeprefix("custom."): values.pop(k) for k in list(values) if k.startswith("custom.")}
    actor = hook.run_as
    record: Any = None
    with transaction.atomic():
        if hook.target == InboundWebhook.Target.LEAD_CREATE:
            record = customers.lead_create(actor=actor, custom=custom or None, **values)
        elif hook.target == InboundWebhook.Target.CONTACT_CREATE:
            record = customers.contact_create(actor=actor, custom=custom or None, **values)
        elif hook.target == InboundWebhook.Target.CONTACT_UPDATE:
            contact = _find(Contact, values)
            record = customers.contact_update(contact=contact, actor=actor, custom=custom or None, **values)
        elif hook.target == InboundWebhook.Target.LEAD_UPDATE:
            lead = _find(Lead, values)
            record = customers.lead_update(lead=lead, actor=actor, custom=custom or None, **values)
        found = {"type": record._meta.label_lower, "id": record.pk} if record is not None else None
        InboundWebhook.objects.filter(pk=hook.pk).update(received_count=models.F("received_count") + 1, last_error="")
        record_event(
            obj=hook, action="received", actor=actor, data={"slug": hook.slug, "record": found, "payload": payload}
        )
    return {"ok": True, "record": found}


def inbound_failed(hook: InboundWebhook, message: str) -> None:
    """Keep the last refusal on the endpoint so the administrator sees it."""
    InboundWebhook.objects.filter(pk=hook.pk).update(last_error=message[:500])
