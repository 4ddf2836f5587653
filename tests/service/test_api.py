"""The service desk API: ticket life cycle through the endpoints, the error shape, scope and query budgets."""

from __future__ import annotations

import base64

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from guanxi.service import services

from . import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent(world):
    user = world["users"]["service"]
    factories.queue(team=world["teams"]["east"], agents=[user], is_default=True)
    factories.policy()
    return user


def test_a_ticket_through_its_life_by_api(agent, bearer) -> None:
    """Create → reply from a canned response with an attachment → wait → resolve; measures come back."""
    client = bearer(agent)
    created = client.post(
        "/api/v1/service/tickets",
        {"subject": "API 工单", "body": "无法同步", "email": "api@kehu.cn", "channel": "chat", "category": "sync"},
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    ticket = created.json()
    assert ticket["number"] == f"T-{ticket['id']}" and ticket["owner_id"] == agent.pk and ticket["lead_id"]
    canned = services.canned_response_save(actor=None, title="t", body="工单 {ticket_number} 已处理")
    reply = client.post(
        f"/api/v1/service/tickets/{ticket['id']}/reply",
        {"body": "", "canned_response_id": canned.pk, "wait_on_customer": True, "time_spent_seconds": 120,
         "attachments": [{"filename": "说明.txt", "content_base64": base64.b64encode(b"ok").decode()}]},
        content_type="application/json",
    )  # fmt: skip
    assert reply.status_code == 201, reply.content
    assert reply.json()["body"] == f"工单 T-{ticket['id']} 已处理" and reply.json()["attachments"][0]["size"] == 2
    resolved = client.post(
        f"/api/v1/service/tickets/{ticket['id']}/status", {"status": "resolved"}, content_type="application/json"
    ).json()
    assert resolved["status"] == "resolved" and resolved["first_contact_resolution"] is True
    assert resolved["first_response_minutes"] == 0 and resolved["handle_seconds"] == 120
    messages = client.get(f"/api/v1/service/tickets/{ticket['id']}/messages").json()
    assert messages["count"] == 2


def test_errors_name_the_field_in_the_one_error_shape(agent, bearer) -> None:
    """An unknown priority and a bad status move answer 422 naming the field."""
    client = bearer(agent)
    bad = client.post(
        "/api/v1/service/tickets", {"subject": "x", "body": "y", "priority": "asap"}, content_type="application/json"
    )
    assert bad.status_code == 422 and "priority" in bad.json()["error"]["fields"]
    ticket = factories.ticket(email="e@kehu.cn")
    move = client.post(
        f"/api/v1/service/tickets/{ticket.pk}/status", {"status": "reopened"}, content_type="application/json"
    )
    assert move.status_code == 422 and "status" in move.json()["error"]["fields"]


def test_assign_moves_queue_and_counts_the_hand_off(agent, bearer, make_user) -> None:
    """Moving a ticket to another queue by API counts one hand-off and lets that queue's rule assign it."""
    other = make_user("service")
    tier2 = factories.queue(agents=[other])
    ticket = factories.ticket(email="h@kehu.cn")
    out = bearer(agent).post(
        f"/api/v1/service/tickets/{ticket.pk}/assign", {"queue_id": tier2.pk}, content_type="application/json"
    )
    assert out.json()["queue_id"] == tier2.pk and out.json()["owner_id"] == other.pk
    assert out.json()["handoff_count"] == 1


def test_the_ticket_list_has_a_fixed_query_budget(agent, bearer) -> None:
    """Listing 5 or 25 tickets costs the same number of queries."""
    client = bearer(agent)
    for i in range(5):
        factories.ticket(email=f"l{i}@kehu.cn")
    client.get("/api/v1/service/tickets?tab=mine")  # the token's first use is recorded once
    with CaptureQueriesContext(connection) as few:
        assert client.get("/api/v1/service/tickets?tab=mine").json()["count"] == 5
    for i in range(20):
        factories.ticket(email=f"m{i}@kehu.cn")
    with CaptureQueriesContext(connection) as many:
        assert client.get("/api/v1/service/tickets?tab=mine").json()["count"] == 25
    assert len(many) == len(few)


def test_the_queue_total_stops_at_the_cap_and_says_so(agent, bearer, login, monkeypatch) -> None:
    """Past the cap the API answers the cap as `count` with `count_capped: true` and the page reads "of more
    than"; below it the total is exact and not flagged."""
    from guanxi.core import selectors

    monkeypatch.setattr(selectors, "COUNT_CAP", 3)
    for i in range(5):
        factories.ticket(email=f"cap{i}@kehu.cn")
    page = bearer(agent).get("/api/v1/service/tickets?tab=mine&page_size=2").json()
    assert (page["count"], page["count_capped"], page["pages"], len(page["items"])) == (3, True, 2, 2)
    html = login(agent).get(reverse("ticket-queue") + "?tab=mine").content.decode()
    assert "共超过 3 条" in html  # the agent reads Chinese: "of more than 3"
    exact = bearer(agent).get("/api/v1/service/tickets?tab=mine&q=cap1@kehu.cn").json()
    assert (exact["count"], exact["count_capped"]) == (1, False)
