"""Webhooks out (signed JSON to a real local receiver, retries with back-off, auto-disable with a notice)
and in (per-endpoint secret, timestamp tolerance, forged/malformed posts refused, records via services)."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone, translation

from guanxi.automation import services, webhooks
from guanxi.automation.models import RuleRun, WebhookDelivery, WebhookSubscription
from guanxi.core.models import Event, Notification
from guanxi.customers.models import Contact, Lead

from ..customers import factories
from ..factories import TeamFactory, UserFactory
from .helpers import dispatch, group, make_rule, where
from .receiver import receiver

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin():
    return UserFactory(roles=["administrator"], teams=[TeamFactory()])


def _verify(secret: str, request: dict) -> bool:
    timestamp = request["headers"]["X-Guanxi-Timestamp"]
    expected = hmac.new(secret.encode(), timestamp.encode() + b"." + request["body"], hashlib.sha256).hexdigest()
    return request["headers"]["X-Guanxi-Signature"] == f"sha256={expected}"


def test_a_subscribed_event_is_delivered_signed_to_a_local_receiver(admin, django_capture_on_commit_callbacks):
    """A new lead → one POST with the event as JSON, a timestamp and a valid HMAC-SHA256 signature."""
    with receiver() as target:
        sub = services.subscription_create(
            actor=admin, name="ERP", url=target.url, event_types=["customers.lead.created"]
        )
        with django_capture_on_commit_callbacks(execute=True):
            lead = factories.lead(owner=admin)
            dispatch()
        assert len(target.received) == 1
        request = target.received[0]
        assert _verify(sub.secret, request)
        body = json.loads(request["body"])
        assert body["type"] == "customers.lead.created"
        assert body["object"] == {"type": "customers.lead", "id": lead.pk, "repr": str(lead)}
    delivery = WebhookDelivery.objects.get()
    assert delivery.state == "ok" and delivery.status_code == 200 and delivery.response_excerpt == "thanks"


def test_filters_and_event_types_choose_what_is_sent(admin, django_capture_on_commit_callbacks):
    """Only web leads (filter) and only lead events (type) reach the subscription."""
    with receiver() as target:
        services.subscription_create(
            actor=admin,
            name="web leads",
            url=target.url,
            event_types=["customers.lead.*"],
            conditions=where(group({"field": "source", "op": "eq", "value": "web"})),
        )
        with django_capture_on_commit_callbacks(execute=True):
            factories.lead(owner=admin, source="web")
            factories.lead(owner=admin, source="referral")
            factories.contact(owner=admin)
            dispatch()
        assert len(target.received) == 1


def test_a_failing_receiver_is_retried_with_back_off_then_the_subscription_is_switched_off(
    admin, settings, django_capture_on_commit_callbacks
):
    """500s: each attempt logged with its status, the next one scheduled later and later; after
    AUTOMATION_WEBHOOK_DISABLE_AFTER failures in a row the subscription is off and administrators told."""
    settings.AUTOMATION_WEBHOOK_DISABLE_AFTER = 3
    with receiver(status=500) as target:
        sub = services.subscription_create(actor=admin, name="flaky", url=target.url, event_types=["customers.lead.*"])
        with django_capture_on_commit_callbacks(execute=True):
            factories.lead(owner=admin)
            dispatch()
        first = WebhookDelivery.objects.get(subscription=sub)
        assert first.state == "failed" and first.status_code == 500 and first.next_retry_at is not None
        gaps = []
        for _ in range(4):
            now = timezone.now() + timedelta(days=1)
            with django_capture_on_commit_callbacks(execute=True):
                webhooks.webhook_retries_due(now=now)
            latest = WebhookDelivery.objects.filter(subscription=sub).order_by("-attempt").first()
            if latest.next_retry_at and latest.created_at:
                gaps.append((latest.next_retry_at - latest.created_at).total_seconds())
        assert len(target.received) == 3, "three attempts, then it was switched off"
    sub.refresh_from_db()
    assert not sub.active and sub.disabled_at is not None and sub.failure_count == 3
    attempts = list(WebhookDelivery.objects.filter(subscription=sub).order_by("attempt"))
    assert [d.attempt for d in attempts] == [1, 2, 3]
    assert [d.status_code for d in attempts] == [500, 500, 500]
    assert gaps == sorted(gaps) and gaps[0] < gaps[-1], "back-off grows"
    with translation.override("en"):
        notice = Notification.objects.get(recipient=admin)
        assert "flaky" in notice.text and "switched off" in notice.text


def test_an_unreachable_receiver_is_logged_as_a_failure_without_breaking_dispatch(
    admin, django_capture_on_commit_callbacks
):
    services.subscription_create(
        actor=admin, name="down", url="http://127.0.0.1:9/nothing", event_types=["customers.lead.created"]
    )
    with django_capture_on_commit_callbacks(execute=True):
        factories.lead(owner=admin)
        dispatch()
    delivery = WebhookDelivery.objects.get()
    assert delivery.state == "failed" and delivery.status_code is None and "Connect" in delivery.error
    assert not Event.objects.filter(dispatched_at__isnull=True).exists()


def test_a_rules_call_webhook_action_posts_signed_after_the_run_commits(admin, django_capture_on_commit_callbacks):
    with receiver() as target:
        make_rule(admin, actions=[{"kind": "call_webhook", "config": {"url": target.url, "secret": "s3cret"}}])
        with django_capture_on_commit_callbacks(execute=True):
            lead = factories.lead(owner=admin)
            dispatch()
        assert len(target.received) == 1 and _verify("s3cret", target.received[0])
        assert json.loads(target.received[0]["body"])["record"]["id"] == lead.pk
    assert "s3cret" not in json.dumps(WebhookDelivery.objects.get().payload)
    assert RuleRun.objects.get().outcome == "ok"


# --- inbound --------------------------------------------------------------------------------------


def _post(client: Client, slug: str, secret: str, payload: object, *, timestamp: int | None = None, forge=False):
    body = json.dumps(payload).encode() if not isinstance(payload, bytes) else payload
    ts = str(timestamp if timestamp is not None else int(time.time()))
    signature = webhooks.sign("wrong" if forge else secret, ts, body)
    return client.post(
        f"/api/v1/automation/hooks/{slug}",
        body,
        content_type="application/json",
        headers={"X-Guanxi-Timestamp": ts, "X-Guanxi-Signature": signature},
    )


def test_a_signed_inbound_post_creates_a_lead_through_the_service_and_fires_its_rules(admin):
    hook = services.inbound_create(
        actor=admin,
        name="官网表单 Web form",
        target="lead.create",
        field_mapping={"name": "given_name", "mobile": "phone", "company": "company_name"},
    )
    make_rule(
        admin,
        trigger="inbound.webhook",
        trigger_config={"slug": hook.slug, "model": "customers.lead"},
        actions=[{"kind": "notify", "config": {"to": "owner", "message": "表单线索 {{ record }}"}}],
    )
    response = _post(Client(), hook.slug, hook.secret, {"name": "小明", "mobile": "13912345678", "company": "美团"})
    assert response.status_code == 200, response.content
    lead = Lead.objects.get(given_name="小明")
    assert lead.phone == "+8613912345678" and lead.owner == admin
    assert Event.objects.filter(object_id=lead.pk, action="created", content_type__model="lead").exists()
    dispatch()
    assert Notification.objects.filter(recipient=admin).count() == 1


def test_inbound_update_finds_the_contact_by_email(admin):
    contact = factories.contact(owner=admin, email="li@example.com")
    hook = services.inbound_create(actor=admin, name="ERP sync", target="contact.update")
    response = _post(Client(), hook.slug, hook.secret, {"email": "li@example.com", "title": "采购经理"})
    assert response.status_code == 200, response.content
    assert Contact.objects.get(pk=contact.pk).title == "采购经理"


@pytest.mark.parametrize(
    ("case", "status", "code"),
    [
        ("forged", 401, "signature_invalid"),
        ("stale", 401, "timestamp_expired"),
        ("not json", 400, "payload_invalid"),
        ("a list", 400, "payload_invalid"),
        ("bad field", 422, "validation_error"),
    ],
)
def test_inbound_refusals_are_clear_and_write_nothing(admin, case, status, code):
    hook = services.inbound_create(actor=admin, name="form", target="lead.create")
    client = Client(headers={"Accept-Language": "en"})
    with translation.override("en"):
        if case == "forged":
            response = _post(client, hook.slug, hook.secret, {"given_name": "x"}, forge=True)
        elif case == "stale":
            response = _post(client, hook.slug, hook.secret, {"given_name": "x"}, timestamp=int(time.time()) - 3600)
        elif case == "not json":
            response = _post(client, hook.slug, hook.secret, b"{not json")
        elif case == "a list":
            response = _post(client, hook.slug, hook.secret, [1, 2])
        else:
            response = _post(client, hook.slug, hook.secret, {"given_name": "x", "email": "not-an-email"})
    assert response.status_code == status, response.content
    assert response.json()["error"]["code"] == code
    if case == "bad field":
        assert "email" in response.json()["error"]["fields"]
    assert not Lead.objects.exists()
    hook.refresh_from_db()
    assert hook.last_error and hook.received_count == 0


def test_unknown_inbound_endpoint_is_not_found():
    response = Client().post("/api/v1/automation/hooks/nope", b"{}", content_type="application/json")
    assert response.status_code == 404


def test_subscription_validation_names_the_fields(admin):
    from django.core.exceptions import ValidationError

    with translation.override("en"), pytest.raises(ValidationError) as caught:
        services.subscription_create(actor=admin, name="", url="ftp://x", event_types=["lead"])
    assert set(caught.value.message_dict) == {"name", "url", "event_types"}
    assert not WebhookSubscription.objects.exists()
