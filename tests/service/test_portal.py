"""The customer portal: sign-in by single-use emailed link or password, its own session apart from staff
sign-in, rate limits without account enumeration, and what a customer may see and do (only their own and
their company's tickets; public replies only; the dangerous-attachment checks of the service desk)."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from guanxi.core.models import Event
from guanxi.feedback import services as feedback_services
from guanxi.feedback.models import FeedbackItem, PointsEntry, Survey
from guanxi.service import portal, services
from guanxi.service.models import PortalAccount, Ticket, TicketMessage

from ..customers import factories as customer_factories
from . import factories

pytestmark = pytest.mark.django_db
LINK = re.compile(r"/portal/sign-in/([^/\s]+)/")


def link_in(message: Any) -> str:
    found = LINK.search(message.body)
    assert found, message.body
    return found.group(0)


@pytest.fixture
def desk(make_user) -> dict[str, Any]:
    agent = make_user("service", language="en")
    queue = factories.queue(agents=[agent], is_default=True)
    factories.policy(cal=factories.calendar(hours={str(d): [["00:00", "24:00"]] for d in range(7)}))
    company = customer_factories.account(name="华为科技 Huawei")
    other_company = customer_factories.account(name="小米科技 Xiaomi")
    li = customer_factories.contact(surname="李", given_name="娜", email="li.na@kehu.example.cn",
                                    accounts=[(company, "采购")], owner=agent)  # fmt: skip
    colleague = customer_factories.contact(surname="王", given_name="芳", email="wang@kehu.example.cn",
                                           accounts=[(company, "")], owner=agent)  # fmt: skip
    stranger = customer_factories.contact(surname="赵", given_name="强", email="zhao@other.example.cn",
                                          accounts=[(other_company, "")])  # fmt: skip
    return {"agent": agent, "queue": queue, "li": li, "colleague": colleague, "stranger": stranger}


def invited(contact: Any, agent: Any, language: str = "en") -> PortalAccount:
    account = portal.portal_invite(contact=contact, actor=agent, language=language)
    mail.outbox.clear()
    return account


def signed_in(account: PortalAccount) -> Client:
    """A browser whose portal session belongs to the account (signed in through a real link)."""
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    token = portal.link_token(account)
    response = client.post(reverse("portal-link", args=[token]))
    assert response.status_code == 302 and response["Location"] == reverse("portal-tickets")
    return client


# --- signing in -------------------------------------------------------------------------------


def test_an_invitation_emails_a_link_that_signs_the_customer_in_once(desk) -> None:
    """Staff invite → email with a link → confirm page → signed in; the same link used again is refused."""
    account = portal.portal_invite(contact=desk["li"], actor=desk["agent"], language="en")
    assert [m.to for m in mail.outbox] == [["li.na@kehu.example.cn"]]
    path = link_in(mail.outbox[0])
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    confirm = client.get(path)
    assert confirm.status_code == 200 and "li.na@kehu.example.cn" in confirm.content.decode()
    assert client.post(path).status_code == 302
    assert client.get(reverse("portal-tickets")).status_code == 200
    account.refresh_from_db()
    assert account.last_login_at is not None
    assert Event.objects.filter(action="portal_signed_in", object_id=account.pk, data__method="link").exists()

    again = Client(HTTP_ACCEPT_LANGUAGE="en")
    refused = again.post(path)
    assert refused.status_code == 400 and "already been used" in refused.content.decode()
    assert again.get(reverse("portal-tickets")).status_code == 302  # still not signed in
    with pytest.raises(ValidationError):
        portal.portal_sign_in_link(token=path.split("/")[-2])


def test_a_requested_link_expires_after_its_minutes(desk, monkeypatch) -> None:
    """A link asked for on the sign-in page stops working after PORTAL_LINK_MINUTES (30 by default)."""
    account = invited(desk["li"], desk["agent"])
    token = portal.link_token(account)
    later = time.time() + 31 * 60
    monkeypatch.setattr("django.core.signing.time.time", lambda: later)
    with pytest.raises(ValidationError, match="expired"):
        portal.portal_sign_in_link(token=token)
    # the invitation link (purpose "invite") lives longer: PORTAL_INVITE_DAYS, 7 by default
    invite = portal.link_token(account, purpose="invite")
    assert portal.account_from_link(invite) == account


def test_a_forged_link_is_refused(desk) -> None:
    """A token not signed by us, or naming another account, signs nobody in."""
    account = invited(desk["li"], desk["agent"])
    good = portal.link_token(account)
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    assert client.post(reverse("portal-link", args=[good[:-3] + "abc"])).status_code == 400
    assert client.get(reverse("portal-link", args=["not-a-token"])).status_code == 400


def test_unknown_and_known_emails_get_the_same_answer(desk) -> None:
    """No account enumeration: the page is the same; only the real account's owner gets an email."""
    invited(desk["li"], desk["agent"])
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    known = client.post(reverse("portal-sign-in"), {"email": "li.na@kehu.example.cn"})
    unknown = client.post(reverse("portal-sign-in"), {"email": "nobody@kehu.example.cn"})
    assert known.status_code == unknown.status_code == 200
    strip = re.compile(r"[A-Za-z0-9]{64}")  # CSRF tokens differ per response
    assert strip.sub("", known.content.decode()) == strip.sub("", unknown.content.decode())
    assert 'data-testid="link-sent"' in unknown.content.decode()
    assert [m.to for m in mail.outbox] == [["li.na@kehu.example.cn"]]


def test_link_requests_are_rate_limited_per_email_and_per_address(desk, settings) -> None:
    """The sixth request for one email (known or not) within the window is refused with 429; so is the
    twenty-first from one address across many emails."""
    settings.PORTAL_RATE_PER_EMAIL, settings.PORTAL_RATE_PER_IP = 5, 8
    invited(desk["li"], desk["agent"])
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    for _ in range(5):
        assert client.post(reverse("portal-sign-in"), {"email": "ghost@kehu.example.cn"}).status_code == 200
    refused = client.post(reverse("portal-sign-in"), {"email": "ghost@kehu.example.cn"})
    assert refused.status_code == 429 and "Too many attempts" in refused.content.decode()
    for i in range(2):
        assert client.post(reverse("portal-sign-in"), {"email": f"p{i}@kehu.example.cn"}).status_code == 200
    from_elsewhere = Client(HTTP_ACCEPT_LANGUAGE="en", REMOTE_ADDR="10.0.0.9")
    assert from_elsewhere.post(reverse("portal-sign-in"), {"email": "li.na@kehu.example.cn"}).status_code == 200
    # the first address has used its 8 requests: even a real account's email is refused from it now
    assert client.post(reverse("portal-sign-in"), {"email": "li.na@kehu.example.cn"}).status_code == 429
    assert len(mail.outbox) == 1


def test_password_sign_in_after_the_customer_set_one(desk) -> None:
    """A password set on the portal signs in; a wrong one gets a neutral error; attempts are limited."""
    account = invited(desk["li"], desk["agent"])
    client = signed_in(account)
    weak = client.post(reverse("portal-account"), {"password": "123", "confirm": "123"})
    assert weak.status_code == 400
    ok = client.post(reverse("portal-account"), {"password": "Ke-hu-2026!x", "confirm": "Ke-hu-2026!x"})
    assert ok.status_code == 302
    assert client.get(reverse("portal-tickets")).status_code == 200  # setting it kept this session
    fresh = Client(HTTP_ACCEPT_LANGUAGE="en")
    wrong = fresh.post(reverse("portal-sign-in"), {"email": "li.na@kehu.example.cn", "password": "nope"})
    assert wrong.status_code == 400 and "do not match" in wrong.content.decode()
    right = fresh.post(reverse("portal-sign-in"), {"email": "LI.NA@kehu.example.cn", "password": "Ke-hu-2026!x"})
    assert right.status_code == 302 and fresh.get(reverse("portal-tickets")).status_code == 200
    assert Event.objects.filter(action="portal_signed_in", object_id=account.pk, data__method="password").exists()
    attacker = Client(HTTP_ACCEPT_LANGUAGE="en")
    codes = [
        attacker.post(reverse("portal-sign-in"), {"email": "li.na@kehu.example.cn", "password": f"x{i}"}).status_code
        for i in range(6)
    ]
    assert codes[-1] == 429


def test_staff_sign_in_and_portal_sign_in_are_separate(desk, login) -> None:
    """A signed-in agent is not a portal customer, and a portal customer cannot open staff pages."""
    staff = login(desk["agent"])
    assert staff.get(reverse("ticket-queue")).status_code == 200
    response = staff.get(reverse("portal-tickets"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("portal-sign-in"))
    customer = signed_in(invited(desk["li"], desk["agent"]))
    staff_page = customer.get(reverse("ticket-queue"))
    assert staff_page.status_code == 302 and "/login/" in staff_page["Location"]
    assert "sessionid" not in customer.cookies and "gx_portal" in customer.cookies
    # signing out of the portal leaves a staff session in the same browser alone
    staff.cookies.update(customer.cookies)
    staff.post(reverse("portal-sign-out"))
    assert staff.get(reverse("ticket-queue")).status_code == 200
    assert staff.get(reverse("portal-tickets")).status_code == 302


def test_deactivation_ends_the_session_and_the_links(desk, make_user, login) -> None:
    """Staff switch access off: the open portal session is gone at its next request and links are refused."""
    account = invited(desk["li"], desk["agent"])
    client = signed_in(account)
    token = portal.link_token(account)
    staff = login(desk["agent"])
    response = staff.post(reverse("portal-deactivate", args=[account.pk]), {"next": desk["li"].get_absolute_url()})
    assert response.status_code == 302
    account.refresh_from_db()
    assert not account.is_active and Event.objects.filter(action="portal_deactivated", object_id=account.pk).exists()
    assert client.get(reverse("portal-tickets")).status_code == 302
    with pytest.raises(ValidationError):
        portal.portal_sign_in_link(token=token)
    client.post(reverse("portal-sign-in"), {"email": "li.na@kehu.example.cn"})
    assert mail.outbox == []  # an inactive account gets no link (and the page says the same as always)


def test_staff_invite_from_the_contact_page(desk, make_user, login) -> None:
    """The contact page shows the invite button to service staff; a sales rep without the permission is refused."""
    staff = login(desk["agent"])
    page = staff.get(desk["li"].get_absolute_url()).content.decode()
    assert 'data-testid="portal-invite"' in page
    staff.post(reverse("portal-invite", args=[desk["li"].pk]), {"next": desk["li"].get_absolute_url()})
    assert PortalAccount.objects.get(contact=desk["li"]).is_active and len(mail.outbox) == 1
    assert 'data-portal-state="active"' in staff.get(desk["li"].get_absolute_url()).content.decode()
    sales = login(make_user("sales"))
    assert sales.post(reverse("portal-invite", args=[desk["colleague"].pk])).status_code == 403
    no_email = customer_factories.contact(surname="孙", given_name="丽", phone="13900001234")
    with pytest.raises(ValidationError, match="email"):
        portal.portal_invite(contact=no_email, actor=desk["agent"])


def test_staff_api_invites_lists_deactivates_and_reactivates(desk, bearer) -> None:
    """The staff API invites a contact (a link is emailed), lists and reads the account only for contacts the
    agent may view, switches access off, and back on with a fresh link."""
    client = bearer(desk["agent"])
    api = "/api/v1/service/portal-accounts"
    created = client.post(api, {"contact_id": desk["li"].pk, "language": "zh-hans"}, content_type="application/json")
    assert created.status_code == 201, created.content
    account = created.json()
    assert account["email"] == "li.na@kehu.example.cn" and account["is_active"] and account["language"] == "zh-hans"
    assert account["contact_name"] == desk["li"].full_name and len(mail.outbox) == 1
    invited(desk["stranger"], None)  # a contact outside the agent's scope
    listed = client.get(api).json()
    assert [row["id"] for row in listed["items"]] == [account["id"]] and listed["count"] == 1
    assert client.get(f"{api}/{account['id']}").json()["invited_by_id"] == desk["agent"].pk
    stranger_account = PortalAccount.objects.get(contact=desk["stranger"])
    assert client.get(f"{api}/{stranger_account.pk}").status_code == 404
    off = client.post(f"{api}/{account['id']}/deactivate").json()
    assert off["is_active"] is False and off["deactivated_at"]
    assert client.get(f"{api}?active=false").json()["count"] == 1
    mail.outbox.clear()
    on = client.post(f"{api}/{account['id']}/reactivate").json()
    assert on["is_active"] is True and on["deactivated_at"] is None
    assert len(mail.outbox) == 1 and link_in(mail.outbox[0])


def test_staff_api_refuses_bad_invites_naming_the_field(desk, bearer) -> None:
    """Unknown or out-of-scope contacts, a contact without email and a contact already invited are refused with
    422 naming `contact_id`; nothing is created or emailed."""
    client = bearer(desk["agent"])
    api = "/api/v1/service/portal-accounts"
    invited(desk["li"], desk["agent"])
    no_email = customer_factories.contact(surname="孙", given_name="丽", phone="13900001234", owner=desk["agent"])
    cases = {
        0: "No such contact.",
        desk["stranger"].pk: "No such contact.",
        no_email.pk: "Add an email address to the contact before inviting them.",
        desk["li"].pk: "This contact already has a portal account.",
    }
    for contact_id, message in cases.items():
        answer = client.post(api, {"contact_id": contact_id}, content_type="application/json")
        assert answer.status_code == 422, answer.content
        assert answer.json()["error"]["fields"]["contact_id"] == [message]
    assert PortalAccount.objects.count() == 1 and not mail.outbox


# --- what the customer sees -------------------------------------------------------------------


def test_a_customer_sees_own_and_company_tickets_and_nothing_else(desk) -> None:
    """Own ticket and a colleague's (same company) are listed and open; another customer's is 404 by ID."""
    mine = factories.ticket(contact=desk["li"], subject="我的打印机 My printer")
    colleagues = factories.ticket(contact=desk["colleague"], subject="同事的发票 Colleague invoice")
    strangers = factories.ticket(contact=desk["stranger"], subject="别人的合同 Stranger contract")
    client = signed_in(invited(desk["li"], desk["agent"]))
    listing = client.get(reverse("portal-tickets")).content.decode()
    assert mine.subject in listing and colleagues.subject in listing and strangers.subject not in listing
    assert client.get(reverse("portal-ticket", args=[mine.pk])).status_code == 200
    assert client.get(reverse("portal-ticket", args=[colleagues.pk])).status_code == 200
    assert client.get(reverse("portal-ticket", args=[strangers.pk])).status_code == 404
    assert client.get(reverse("portal-ticket", args=[strangers.pk + 1000])).status_code == 404
    probe = client.post(reverse("portal-ticket", args=[strangers.pk]), {"body": "hello"})
    assert probe.status_code == 404 and strangers.messages.count() == 1


def test_internal_notes_and_their_attachments_never_reach_the_customer(desk) -> None:
    """The public conversation shows replies with attachments; notes, and files on notes, stay hidden (404)."""
    ticket = factories.ticket(contact=desk["li"])
    agent = desk["agent"]
    services.ticket_reply(ticket=ticket, actor=agent, body="内部备注：客户信用差 internal only", kind="note",
                          attachments=[services.Upload("credit.txt", b"secret")])  # fmt: skip
    services.ticket_reply(ticket=ticket, actor=agent, body="已处理，请查收 Fixed, see attached",
                          attachments=[services.Upload("manual.pdf", b"%PDF-1.4 manual")])  # fmt: skip
    other = factories.ticket(contact=desk["stranger"], attachments=[services.Upload("theirs.pdf", b"%PDF theirs")])
    client = signed_in(invited(desk["li"], desk["agent"]))
    page = client.get(reverse("portal-ticket", args=[ticket.pk])).content.decode()
    assert "已处理，请查收" in page and "manual.pdf" in page
    assert "内部备注" not in page and "credit.txt" not in page
    public = TicketMessage.objects.get(ticket=ticket, kind="reply", from_customer=False).attachments.get()
    note = TicketMessage.objects.get(ticket=ticket, kind="note").attachments.get()
    theirs = other.messages.get().attachments.get()
    download = client.get(reverse("portal-attachment", args=[public.pk]))
    assert download.status_code == 200 and b"".join(download.streaming_content) == b"%PDF-1.4 manual"
    assert client.get(reverse("portal-attachment", args=[note.pk])).status_code == 404
    assert client.get(reverse("portal-attachment", args=[theirs.pk])).status_code == 404


def test_a_new_portal_ticket_goes_through_the_service_desk(desk) -> None:
    """Channel "portal", linked to the contact and company, routed and timed; the event names the portal account.
    The form asks the help centre for articles matching what the customer types."""
    account = invited(desk["li"], desk["agent"])
    client = signed_in(account)
    page = client.get(reverse("portal-ticket-new")).content.decode()
    assert f'hx-get="{reverse("kb-suggest")}"' in page and 'id="kb-suggestions"' in page
    upload = SimpleUploadedFile("screen.png", b"\x89PNG fake", content_type="image/png")
    form = {"subject": "无法登录 Cannot log in", "body": "密码重置邮件没有收到。", "attachments": upload}
    response = client.post(reverse("portal-ticket-new"), form)
    ticket = Ticket.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("portal-ticket", args=[ticket.pk])
    assert ticket.channel == "portal" and ticket.contact == desk["li"] and ticket.account is not None
    assert ticket.owner == desk["agent"] and ticket.sla_due is not None and ticket.language == "en"
    assert ticket.messages.get().attachments.get().filename == "screen.png"
    created = Event.objects.get(action="created", object_id=ticket.pk, content_type__model="ticket")
    assert created.actor is None and created.actor_label == "portal:li.na@kehu.example.cn"


def test_dangerous_attachments_are_refused_naming_the_file(desk) -> None:
    """A .exe on a new ticket or a reply is refused with the file named; nothing is written."""
    client = signed_in(invited(desk["li"], desk["agent"]))
    bad = SimpleUploadedFile("invoice.exe", b"MZ...", content_type="application/octet-stream")
    refused = client.post(reverse("portal-ticket-new"), {"subject": "发票", "body": "见附件", "attachments": bad})
    assert refused.status_code == 400 and "invoice.exe" in refused.content.decode()
    assert not Ticket.objects.exists()
    ticket = factories.ticket(contact=desk["li"])
    bad = SimpleUploadedFile("run.js", b"alert(1)", content_type="text/javascript")
    refused = client.post(reverse("portal-ticket", args=[ticket.pk]), {"body": "再看看", "attachments": bad})
    assert refused.status_code == 400 and "run.js" in refused.content.decode()
    assert ticket.messages.count() == 1


def test_the_customer_replies_and_a_resolved_ticket_reopens(desk) -> None:
    """A reply from the portal lands on the ticket as the customer's; on a resolved ticket it reopens it."""
    ticket = factories.ticket(contact=desk["li"])
    services.ticket_reply(ticket=ticket, actor=desk["agent"], body="请重启路由器。")
    services.ticket_set_status(ticket=ticket, status="resolved", actor=desk["agent"])
    client = signed_in(invited(desk["li"], desk["agent"]))
    response = client.post(reverse("portal-ticket", args=[ticket.pk]), {"body": "还是不行 Still broken"})
    assert response.status_code == 302
    ticket.refresh_from_db()
    last = ticket.messages.last()
    assert last is not None and last.from_customer and last.from_email == "li.na@kehu.example.cn"
    assert ticket.status == "reopened" and ticket.reopen_count == 1
    assert Event.objects.filter(
        action="customer_replied", object_id=ticket.pk, actor_label__startswith="portal:"
    ).exists()


def test_feedback_from_the_portal_with_status_points_and_surveys(desk) -> None:
    """Feedback goes through the feedback service (channel portal, points awarded); the customer sees its
    status and resolution, the points ledger, and a survey waiting with its answer link."""
    account = invited(desk["li"], desk["agent"])
    client = signed_in(account)
    response = client.post(
        reverse("portal-feedback-new"), {"kind": "suggestion", "text": "希望增加微信支付 Please add WeChat Pay"}
    )
    assert response.status_code == 302
    item = FeedbackItem.objects.get()
    assert item.channel == "portal" and item.contact == desk["li"] and item.account is not None
    assert PointsEntry.objects.filter(contact=desk["li"], reason="feedback").count() == 1
    feedback_services.feedback_resolve(item=item, resolution="已在 3.2 版本加入微信支付。", actor=desk["agent"])
    page = client.get(reverse("portal-feedback")).content.decode()
    assert "已在 3.2 版本加入微信支付。" in page and reverse("feedback-rate", args=["x"])[:-2] in page
    points = client.get(reverse("portal-points")).content.decode()
    assert 'data-testid="portal-points-balance">10<' in points
    survey = feedback_services.survey_create(
        name="服务满意度 CSAT", kind="csat", question=feedback_services.default_question("csat"), actor=desk["agent"]
    )
    feedback_services.survey_invite(survey=survey, contact=desk["li"], actor=desk["agent"])
    page = client.get(reverse("portal-feedback")).content.decode()
    assert 'data-testid="portal-surveys"' in page and "服务满意度 CSAT" in page
    assert Survey.objects.count() == 1


def test_empty_pages_say_what_to_do_next(desk) -> None:
    """A new customer's pages explain how to start instead of showing empty lists."""
    client = signed_in(invited(desk["li"], desk["agent"]))
    assert "You have no requests yet." in client.get(reverse("portal-tickets")).content.decode()
    assert "You have not given feedback yet." in client.get(reverse("portal-feedback")).content.decode()
    assert "No points yet." in client.get(reverse("portal-points")).content.decode()


def test_the_language_switch_is_remembered_on_the_account(desk) -> None:
    """Choosing 中文 on the portal shows it in Chinese from then on and emails use it."""
    account = invited(desk["li"], desk["agent"], language="en")
    client = signed_in(account)
    client.post(reverse("portal-language"), {"language": "zh-hans", "next": reverse("portal-tickets")})
    account.refresh_from_db()
    assert account.language == "zh-hans"
    page = client.get(reverse("portal-tickets"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'lang="zh-hans"' in page


def test_the_ticket_list_runs_a_fixed_number_of_queries(desk) -> None:
    """Two or twelve tickets cost the same queries on "My requests" (no N+1 on contact or company)."""
    client = signed_in(invited(desk["li"], desk["agent"]))
    for i in range(2):
        factories.ticket(contact=desk["li"], subject=f"工单 {i}")
    client.get(reverse("portal-tickets"))
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("portal-tickets"))
    for i in range(10):
        factories.ticket(contact=desk["colleague"] if i % 2 else desk["li"], subject=f"更多 {i}")
    with CaptureQueriesContext(connection) as many:
        assert client.get(reverse("portal-tickets")).status_code == 200
    assert len(many) == len(few)
