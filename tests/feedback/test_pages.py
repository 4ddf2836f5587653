"""The public pages (form, survey answer, rating) against spam, floods, forged and replayed links, and the
staff pages' actions going through the services."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import translation

from guanxi.feedback import services
from guanxi.feedback.models import FeedbackItem, PointsEntry, SurveyAnswer

from ..factories import PASSWORD
from . import factories

pytestmark = pytest.mark.django_db


def _post_feedback(client: Client, **fields: Any) -> Any:
    data = {"kind": "complaint", "text": "客服态度很差", "name": "王女士", "email": "", "website": "", **fields}
    return client.post(reverse("feedback-public"), data, HTTP_ACCEPT_LANGUAGE="en")


def test_public_form_creates_feedback_and_links_a_known_customer(world: dict[str, Any]) -> None:
    """A visitor's feedback is stored as a web-form item; a known email links the contact and earns points."""
    customer = factories.contact(owner=world["users"]["sales"])
    response = _post_feedback(Client(), email=customer.email.upper())
    assert response.status_code == 200 and b'data-testid="thanks"' in response.content
    item = FeedbackItem.objects.get()
    assert item.channel == "web_form" and item.contact == customer and item.language == "en"
    assert PointsEntry.objects.filter(contact=customer, reason="feedback").count() == 1


def test_honeypot_keeps_nothing(world: dict[str, Any]) -> None:
    """A bot that fills the hidden field is thanked and nothing is stored."""
    response = _post_feedback(Client(), website="http://spam.example")
    assert response.status_code == 200
    assert FeedbackItem.objects.count() == 0


def test_flood_from_one_address_is_limited(world: dict[str, Any]) -> None:
    """After five messages in an hour from one address the form answers 429 with a clear message."""
    client = Client()
    for n in range(5):
        assert _post_feedback(client, text=f"建议 {n}").status_code == 200
    with translation.override("en"):
        response = _post_feedback(client, text="再来一条")
    assert response.status_code == 429
    assert b"Too many messages" in response.content
    assert FeedbackItem.objects.count() == 5


def test_survey_page_answers_once_and_refuses_forgeries(world: dict[str, Any]) -> None:
    """The emailed link opens the answer page without sign-in; out of range is refused; a replay is refused."""
    agent = world["users"]["marketing"]
    survey = factories.survey(actor=agent)
    customer = factories.contact(owner=agent)
    services.survey_send(survey=survey, contacts=[customer], actor=agent)
    url = mail.outbox[-1].body.split("http://127.0.0.1:8000")[1].split()[0]
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    assert client.get(url).status_code == 200
    assert client.post(url, {"score": "42"}).status_code == 400
    assert client.post(url, {"score": "2", "text": "太难用了"}).status_code == 200
    replay = client.post(url, {"score": "10"})
    assert replay.status_code == 400 and b"already been answered" in replay.content
    assert client.get(url[:-3] + "xx/").status_code == 400
    assert SurveyAnswer.objects.count() == 1
    assert FeedbackItem.objects.filter(channel="survey", contact=customer).exists()


def test_staff_close_the_loop_from_the_item_page(world: dict[str, Any]) -> None:
    """Resolve, notify and close through the page; closing early shows the reason instead of closing."""
    agent = world["users"]["service"]
    item = factories.item(owner=agent, contact=factories.contact(owner=agent), language="en")
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.login(username=agent.email, password=PASSWORD)
    act = lambda action, **data: client.post(reverse("feedback-act", args=[item.pk, action]), data, follow=True)  # noqa: E731
    assert b"Record the resolution before closing" in act("close").content
    act("resolve", resolution="Refunded the shipping fee.")
    act("notify")
    act("close")
    item.refresh_from_db()
    assert item.status == "closed" and item.customer_notified_at is not None
    page = client.get(reverse("feedback-detail", args=[item.pk]))
    assert b"Refunded the shipping fee." in page.content
