"""Email in and out, end to end: real MIME messages parsed, replies sent over real SMTP to a local sink
(aiosmtpd on 127.0.0.1), and the customer's answer threaded back onto the same ticket."""

from __future__ import annotations

import socket
from email import policy
from email.header import Header
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import make_msgid
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from django.core.exceptions import ValidationError
from django.core.management import call_command

from guanxi.service import services
from guanxi.service.mail import inbound_email
from guanxi.service.models import Ticket, TicketMessage

from . import factories

pytestmark = pytest.mark.django_db


class Sink:
    """Keeps every message the SMTP server receives."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(BytesParser(policy=policy.default).parsebytes(envelope.content))
        return "250 OK"


@pytest.fixture
def smtp_sink(settings) -> Any:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.SERVICE_INBOUND_ADDRESS = "service@guanxi.example.cn"
    yield sink
    controller.stop()


@pytest.fixture
def desk(make_user) -> dict[str, Any]:
    agent = make_user("service", language="en")
    queue = factories.queue(agents=[agent], is_default=True)
    factories.policy(cal=factories.calendar())
    return {"agent": agent, "queue": queue}


def customer_email(*, subject: str, body: str, sender: str = "李娜 <li.na@kehu.example.cn>", **headers: str) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "service@guanxi.example.cn"
    message["Subject"] = subject
    message["Message-ID"] = headers.pop("message_id", make_msgid(domain="kehu.example.cn"))
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    return bytes(message)


def gbk_email_with_attachment() -> bytes:
    """A message as a Chinese mail client writes it: GBK-encoded subject and body, a screenshot attached."""
    message = EmailMessage()
    message["From"] = (
        "=?gbk?b?" + __import__("base64").b64encode("李娜".encode("gbk")).decode() + "?= <li.na@kehu.example.cn>"
    )
    message["To"] = "service@guanxi.example.cn"
    message["Subject"] = Header("发票无法下载", "gbk").encode()
    message["Message-ID"] = "<first-123@kehu.example.cn>"
    message.set_content("您好，发票页面一直报错。", charset="gbk")
    message.add_attachment(b"\x89PNG fake", maintype="image", subtype="png", filename="截图.png")
    return message.as_bytes()


def test_a_gbk_email_with_an_attachment_opens_a_ticket_for_a_new_lead(desk) -> None:
    """Subject and body decode from GBK, the attachment is stored, the unknown sender becomes a lead."""
    ticket, message, created = inbound_email(raw=gbk_email_with_attachment())
    assert created and ticket.subject == "发票无法下载" and ticket.channel == "email"
    assert message.body == "您好，发票页面一直报错。"
    attachment = message.attachments.get()
    assert attachment.filename == "截图.png" and attachment.file.read() == b"\x89PNG fake"
    assert ticket.lead is not None and ticket.lead.email == "li.na@kehu.example.cn"
    assert ticket.language == "zh-hans" and ticket.message_id == "<first-123@kehu.example.cn>"


def test_the_same_message_delivered_twice_is_stored_once(desk) -> None:
    """A redelivered message (same Message-ID) returns the ticket it made, without a second one."""
    raw = gbk_email_with_attachment()
    first, _m, _c = inbound_email(raw=raw)
    again, _m2, created = inbound_email(raw=raw)
    assert again == first and not created and Ticket.objects.count() == 1


def test_email_in_reply_out_and_the_answer_back_on_the_same_ticket(
    desk, smtp_sink, django_capture_on_commit_callbacks
) -> None:
    """Customer email → ticket → agent reply emailed over SMTP with threading headers → the customer's reply
    (In-Reply-To that email) lands on the same ticket and resumes it."""
    ticket, _message, _created = inbound_email(raw=gbk_email_with_attachment())
    with django_capture_on_commit_callbacks(execute=True):
        reply = services.ticket_reply(ticket=ticket, actor=desk["agent"], body="请提供订单号。", wait_on_customer=True)
    assert len(smtp_sink.messages) == 1
    sent = smtp_sink.messages[0]
    assert sent["To"] == "li.na@kehu.example.cn"
    assert f"[#{ticket.number}]" in sent["Subject"] and "发票无法下载" in sent["Subject"]
    assert sent["Message-ID"].strip() == TicketMessage.objects.get(pk=reply.pk).message_id
    assert sent["In-Reply-To"].strip() == "<first-123@kehu.example.cn>"
    assert "<first-123@kehu.example.cn>" in sent["References"]
    assert "请提供订单号。" in sent.get_body(("plain",)).get_content()
    assert TicketMessage.objects.get(pk=reply.pk).emailed_at is not None

    answer = customer_email(
        subject=f"Re: {sent['Subject']}",
        body="订单号是 2025-1001。\n\n> 请提供订单号。",
        In_Reply_To=sent["Message-ID"],
        References=f"{sent['References']} {sent['Message-ID']}",
    )
    threaded, message, created = inbound_email(raw=answer)
    assert threaded == ticket and not created
    ticket.refresh_from_db()
    assert ticket.status == "open" and ticket.messages.count() == 3 and message.from_customer


def test_the_reply_goes_out_in_the_customers_language(desk, smtp_sink, django_capture_on_commit_callbacks) -> None:
    """An English-speaking customer gets the English footer."""
    ticket, _m, _c = inbound_email(raw=customer_email(subject="Cannot log in", body="Help", Content_Language="en"))
    with django_capture_on_commit_callbacks(execute=True):
        services.ticket_reply(ticket=ticket, actor=desk["agent"], body="Reset done.")
    text = smtp_sink.messages[0].get_body(("plain",)).get_content()
    assert "reply to this email to add to the conversation" in text


def test_a_subject_tag_threads_only_mail_from_the_tickets_requester(desk) -> None:
    """[#T-n] alone threads the requester's mail; someone else quoting the tag gets a ticket of their own."""
    ticket, _m, _c = inbound_email(raw=customer_email(subject="打印机坏了", body="坏了", sender="a@kehu.example.cn"))
    same, _m, created = inbound_email(
        raw=customer_email(subject=f"[#{ticket.number}] 补充", body="型号 X1", sender="a@kehu.example.cn")
    )
    assert same == ticket and not created
    other, _m, created = inbound_email(
        raw=customer_email(subject=f"[#{ticket.number}] hi", body="probe", sender="evil@else.example")
    )
    assert created and other != ticket


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (b"Subject: no sender\r\n\r\nhello", "from"),
        (b"\x00\xff garbage without headers", "from"),
    ],
)
def test_malformed_emails_are_refused_clearly(desk, raw, field) -> None:
    """A message without a sender is refused naming the problem; nothing is written."""
    with pytest.raises(ValidationError) as caught:
        inbound_email(raw=raw)
    assert field in caught.value.message_dict
    assert not Ticket.objects.exists()


def test_huge_emails_are_refused(desk, settings) -> None:
    """Over the size limit: refused before parsing."""
    settings.SERVICE_EMAIL_MAX_BYTES = 1024
    with pytest.raises(ValidationError) as caught:
        inbound_email(raw=customer_email(subject="big", body="x" * 5000))
    assert "message" in caught.value.message_dict


@pytest.mark.parametrize("name", ["setup.exe", "run.js", "go.bat", "screen.scr", "x.VBS"])
def test_emails_with_dangerous_attachments_are_refused_and_logged(desk, name, caplog) -> None:
    """Executables and scripts are refused whole, with the file named, and a warning in the log."""
    message = EmailMessage()
    message["From"], message["Subject"] = "x@kehu.example.cn", "invoice"
    message.set_content("see attached")
    message.add_attachment(b"MZ", maintype="application", subtype="octet-stream", filename=name)
    with pytest.raises(ValidationError) as caught:
        inbound_email(raw=bytes(message))
    assert name in caught.value.message_dict["attachments"][0]
    assert not Ticket.objects.exists()
    assert "dangerous" in caplog.text


def test_the_management_command_reads_a_message_file(desk, tmp_path: Path, capsys) -> None:
    """`guanxi service_mail_in --file message.eml` files the message and says which ticket."""
    path = tmp_path / "message.eml"
    path.write_bytes(gbk_email_with_attachment())
    call_command("service_mail_in", file=str(path))
    ticket = Ticket.objects.get()
    assert f"{ticket.number} created" in capsys.readouterr().out


def test_the_api_takes_raw_mime_with_a_token(desk, bearer) -> None:
    """POST /service/inbound-email with the raw message opens a ticket (201); a reply to it answers 200."""
    client = bearer(desk["agent"])
    response = client.post("/api/v1/service/inbound-email", gbk_email_with_attachment(), content_type="message/rfc822")
    assert response.status_code == 201, response.content
    assert response.json()["created"] is True
    bad = client.post("/api/v1/service/inbound-email", b"no headers", content_type="message/rfc822")
    assert bad.status_code == 422 and "from" in bad.json()["error"]["fields"]
