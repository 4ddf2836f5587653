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


def test_any_script_and_emoji_are_kept_and_control_characters_dropped(world: dict[str, Any]) -> None:
    """Chinese, Arabic, Hindi and emoji arrive intact through the public form; a NUL byte (which PostgreSQL cannot
    store) is refused by the form with a clear message instead of breaking the page."""
    text = "物流太慢 😡 التوصيل بطيء जल्दी करें 🚚"
    assert _post_feedback(Client(), text=text).status_code == 200
    assert FeedbackItem.objects.get().text == text
    with translation.override("en"):
        response = _post_feedback(Client(REMOTE_ADDR="10.0.0.9"), text="bad\x00byte")
    assert response.status_code == 200 and b"Null characters are not allowed" in response.content
    assert FeedbackItem.objects.count() == 1


def test_public_form_points_for_a_typed_email_are_given_once_a_day(world: dict[str, Any]) -> None:
    """Typing a customer's email into the public form five times earns that customer feedback points only once."""
    customer = factories.contact(owner=world["users"]["sales"])
    client = Client()
    for n in range(3):
        assert _post_feedback(client, email=customer.email, text=f"建议 {n}").status_code == 200
    assert FeedbackItem.objects.filter(contact=customer).count() == 3
    assert PointsEntry.objects.filter(contact=customer, reason="feedback").count() == 1


def _survey_url(world: dict[str, Any]) -> str:
    agent = world["users"]["marketing"]
    survey = factories.survey(actor=agent)
    services.survey_send(survey=survey, contacts=[factories.contact(owner=agent)], actor=agent)
    return mail.outbox[-1].body.split("http://127.0.0.1:8000")[1].split()[0]


def test_survey_link_honeypot_keeps_nothing_and_the_link_stays_open(world: dict[str, Any]) -> None:
    """A bot filling the survey page's hidden field is thanked and nothing is counted; the customer can still
    answer; bad input (a word for a score, emoji in the comment) gets a clear message or is kept as written."""
    url = _survey_url(world)
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    assert client.post(url, {"score": "10", "website": "http://spam.example"}).status_code == 200
    assert SurveyAnswer.objects.count() == 0
    wrong = client.post(url, {"score": "ten"})
    assert wrong.status_code == 400 and b"The score must be from 0 to 10" in wrong.content
    assert client.post(url, {"score": "-1"}).status_code == 400
    assert client.post(url, {"score": "9", "text": "很好用 👍🏽 ممتاز"}).status_code == 200
    answer = SurveyAnswer.objects.get()
    assert answer.score == 9 and answer.text == "很好用 👍🏽 ممتاز"


def test_forged_survey_links_from_one_address_are_limited(world: dict[str, Any]) -> None:
    """Guessing links is refused with 400 each time and, after the hour's limit, with 429."""
    from guanxi.feedback.views import LINK_LIMIT

    url = _survey_url(world)
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    for n in range(LINK_LIMIT):
        assert client.get(url[:-6] + f"{n:04d}x/").status_code == 400
    with translation.override("en"):
        response = client.get(url[:-6] + "zzzzz/")
    assert response.status_code == 429 and b"Too many attempts" in response.content
    other = Client(REMOTE_ADDR="10.1.2.3")
    assert other.get(url).status_code == 200  # another address (the real customer) is not affected


def test_replayed_rating_link_is_refused(world: dict[str, Any]) -> None:
    """The resolution-rating link counts one answer; a replay gets a clear message and changes nothing."""
    agent = world["users"]["service"]
    item = factories.item(owner=agent, contact=factories.contact(owner=agent), language="en")
    services.feedback_resolve(item=item, resolution="Refunded.", actor=agent)
    services.feedback_notify_customer(item=item, actor=agent)
    url = mail.outbox[-1].body.split("http://127.0.0.1:8000")[1].split()[0]
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    assert client.post(url, {"satisfied": "yes"}).status_code == 200
    replay = client.post(url, {"satisfied": "no"})
    assert replay.status_code == 400 and b"already rated" in replay.content
    item.refresh_from_db()
    assert item.customer_satisfied is True


def test_csat_and_ces_links_refuse_scores_outside_their_own_range(world: dict[str, Any]) -> None:
    """Each kind checks its own range (CSAT 1–5, CES 1–7), and a score that is not a whole number is refused
    with the same message naming the range; nothing is counted and the link stays open for a valid answer."""
    agent = world["users"]["marketing"]
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    for kind, bad, good, message in (
        ("csat", ["0", "6", "4.5", "abc"], "5", b"from 1 to 5"),
        ("ces", ["0", "8", "-1"], "7", b"from 1 to 7"),
    ):
        survey = factories.survey(actor=agent, kind=kind)
        services.survey_send(survey=survey, contacts=[factories.contact(owner=agent)], actor=agent)
        url = mail.outbox[-1].body.split("http://127.0.0.1:8000")[1].split()[0]
        for score in bad:
            response = client.post(url, {"score": score})
            assert response.status_code == 400 and message in response.content, (kind, score)
        assert not SurveyAnswer.objects.filter(survey=survey).exists()
        assert client.post(url, {"score": good}).status_code == 200
        assert SurveyAnswer.objects.filter(survey=survey).count() == 1
