"""Email in and out: RFC 5322 messages become tickets or replies; agents' replies go out threaded.

Inbound mail is parsed with the standard library (`email.policy.default`, which decodes RFC 2047
subjects in GBK, GB18030 or UTF-8), threaded by In-Reply-To/References onto the ticket whose
messages carry those ids, or by a “[#T-123]” subject tag when the sender is that ticket's requester.
"""

from __future__ import annotations

import html
import logging
import re
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import make_msgid, parseaddr, parsedate_to_datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage as DjangoEmail
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from . import services
from .models import Channel, Ticket, TicketMessage

log = logging.getLogger(__name__)

SUBJECT_TAG = re.compile(r"\[#T-(\d+)\]")
MESSAGE_ID = re.compile(r"<[^<>\s]+>")
_TAGS = re.compile(r"<[^>]+>")


def _domain() -> str:
    address = parseaddr(settings.SERVICE_INBOUND_ADDRESS)[1] or "guanxi.localhost"
    return address.rpartition("@")[2] or "guanxi.localhost"


def message_id_new(ticket: Ticket) -> str:
    """A fresh Message-ID naming the ticket, so replies to it thread back even without References."""
    return make_msgid(idstring=f"ticket{ticket.pk}", domain=_domain())


def _text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    try:
        content = part.get_content()
    except (LookupError, UnicodeError):  # an unknown or lying charset: keep what decodes
        payload = part.get_payload(decode=True) or b""
        content = payload.decode("utf-8", errors="replace") if isinstance(payload, bytes) else str(payload)
    if part.get_content_subtype() == "html":
        content = html.unescape(_TAGS.sub(" ", re.sub(r"(?i)<br\s*/?>|</p>", "\n", content)))
    return content.strip()


def _uploads(message: EmailMessage) -> list[services.Upload]:
    uploads = []
    for part in message.iter_attachments():
        filename = part.get_filename() or "attachment"
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            continue
        uploads.append(services.Upload(filename=filename, content=payload, content_type=part.get_content_type()))
    return uploads


def _referenced_ids(message: EmailMessage) -> list[str]:
    values = " ".join(str(message.get(h, "")) for h in ("In-Reply-To", "References"))
    return MESSAGE_ID.findall(values)


def _thread(message: EmailMessage, sender: str, subject: str) -> Ticket | None:
    ids = _referenced_ids(message)
    if ids:
        found = Ticket.objects.filter(Q(message_id__in=ids) | Q(messages__message_id__in=ids)).order_by("-id").first()
        if found is not None:
            return found
    tag = SUBJECT_TAG.search(subject)
    if tag:
        # a subject tag alone is easy to forge: it threads only mail from the ticket's own requester
        return Ticket.objects.filter(pk=int(tag.group(1)), requester_email__iexact=sender).first()
    return None


def inbound_email(*, raw: bytes, actor: Any = None) -> tuple[Ticket, TicketMessage, bool]:
    """Turn one raw RFC 5322 message into a new ticket or a reply on its thread; (ticket, message, created).

    Refused with a ValidationError naming the problem: too large, unreadable, no sender, a dangerous
    attachment. A message already received (same Message-ID) is not stored twice.
    """
    limit = settings.SERVICE_EMAIL_MAX_BYTES
    if len(raw) > limit:
        log.warning("inbound email refused: %s bytes is over the %s-byte limit", len(raw), limit)
        raise ValidationError(
            {"message": _("The email is larger than %(limit)s MB.") % {"limit": limit // (1024 * 1024)}}
        )
    try:
        message = BytesParser(policy=policy.default).parsebytes(raw)
        sender_name, sender = parseaddr(str(message.get("From", "")))
        subject = str(message.get("Subject", "")).strip()
    except (ValueError, TypeError, IndexError, LookupError) as exc:
        log.warning("inbound email refused: unreadable headers (%s)", exc)
        raise ValidationError({"message": _("The email's headers cannot be read.")}) from None
    if not isinstance(message, EmailMessage) or "@" not in sender:
        log.warning("inbound email refused: no sender address")
        raise ValidationError({"from": _("The email has no sender address.")})
    message_id = (MESSAGE_ID.findall(str(message.get("Message-ID", ""))) or [""])[0]
    if message_id:
        seen = TicketMessage.objects.filter(message_id=message_id).select_related("ticket").first()
        if seen is not None:
            return seen.ticket, seen, False
    body = _text(message)
    uploads = _uploads(message)
    try:
        services.uploads_check(uploads)
    except ValidationError:
        log.warning("inbound email from %s refused: dangerous or oversize attachment", sender)
        raise
    try:
        sent_at = parsedate_to_datetime(str(message["Date"])) if message.get("Date") else None
    except (TypeError, ValueError):
        sent_at = None
    with transaction.atomic():
        ticket = _thread(message, sender, subject)
        if ticket is not None:
            reply = services.ticket_customer_reply(
                ticket=ticket,
                body=body or _("(empty message)"),
                from_email=sender,
                message_id=message_id,
                attachments=uploads,
                actor=actor,
            )
            return ticket, reply, False
        ticket = services.ticket_create(
            actor=actor,
            subject=SUBJECT_TAG.sub("", subject).strip() or _("(no subject)"),
            body=body or _("(empty message)"),
            channel=Channel.EMAIL,
            email=sender,
            name=sender_name,
            language=_language_of(message),
            message_id=message_id,
            attachments=uploads,
            opened_at=min(sent_at, timezone.now()) if sent_at and sent_at.tzinfo else None,
        )
    return ticket, ticket.messages.get(), True


def _language_of(message: EmailMessage) -> str:
    """The customer's language from Content-Language, else guessed from Chinese characters in the text."""
    declared = str(message.get("Content-Language", "")).lower()
    known = [code for code, _name in settings.LANGUAGES]
    for code in known:
        if declared.startswith(code) or (code == "zh-hans" and declared in ("zh", "zh-cn")):
            return code
    text = str(message.get("Subject", ""))
    return "zh-hans" if re.search(r"[\u4e00-\u9fff]", text) else "en"


def ticket_message_send(message: TicketMessage) -> bool:
    """Email one public reply to the ticket's requester, in their language, threaded to the conversation."""
    ticket = message.ticket
    if not ticket.requester_email or message.kind != TicketMessage.Kind.REPLY or message.from_customer:
        return False
    earlier = list(
        ticket.messages.exclude(message_id="")
        .exclude(pk=message.pk)
        .filter(created_at__lte=message.created_at)
        .values_list("message_id", "from_customer")
    )
    references = ([ticket.message_id] if ticket.message_id else []) + [
        mid for mid, _c in earlier if mid != ticket.message_id
    ]
    last_customer = next((mid for mid, from_customer in reversed(earlier) if from_customer), "")
    language = ticket.language or settings.LANGUAGE_CODE
    with translation.override(language):
        subject = _("Re: %(subject)s [#%(number)s]") % {"subject": ticket.subject, "number": ticket.number}
        text = render_to_string("service/email_reply.txt", {"ticket": ticket, "message": message})
    headers = {"Message-ID": message.message_id}
    if last_customer or references:
        headers["In-Reply-To"] = last_customer or references[-1]
    if references:
        headers["References"] = " ".join(references[-20:])
    email = DjangoEmail(
        subject=subject,
        body=text,
        from_email=settings.SERVICE_INBOUND_ADDRESS,
        to=[ticket.requester_email],
        reply_to=[settings.SERVICE_INBOUND_ADDRESS],
        headers=headers,
    )
    email.send(fail_silently=False)
    TicketMessage.objects.filter(pk=message.pk).update(emailed_at=timezone.now())
    return True
