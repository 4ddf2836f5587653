"""The customer portal: portal accounts (invite, deactivate), sign-in by emailed single-use link or password,
the portal's own session, and what a signed-in customer may read and write.

A customer is never a staff `User`. The portal session lives in its own cookie (`PORTAL_SESSION_COOKIE`), so
signing in as staff grants nothing here and a portal sign-in grants nothing in the staff pages. A customer sees
their own tickets and those of the companies (accounts) their contact is linked to; anything else is "not found".
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.contrib.auth.password_validation import validate_password
from django.core import signing
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _

from guanxi.core.events import record_event
from guanxi.customers.comparators import email_key
from guanxi.customers.models import Contact
from guanxi.feedback import selectors as feedback_selectors
from guanxi.feedback import services as feedback_services

from . import services
from .models import Channel, PortalAccount, Ticket, TicketAttachment, TicketMessage

LINK_SALT = "guanxi.service.portal.link"
SESSION_SALT = "guanxi.service.portal.session"
SESSION_KEY = "portal_account"
SESSION_HASH_KEY = "portal_hash"
MAX_UPLOADS = 5


def _setting(name: str, default: Any) -> Any:
    return getattr(settings, name, default)


def link_minutes() -> int:
    """How long a requested sign-in link works."""
    return int(_setting("PORTAL_LINK_MINUTES", 30))


def invite_days() -> int:
    """How long the link in an invitation works (a customer may read it days later)."""
    return int(_setting("PORTAL_INVITE_DAYS", 7))


def cookie_name() -> str:
    return str(_setting("PORTAL_SESSION_COOKIE", "gx_portal"))


def ready() -> None:
    """Grant the staff roles their portal permissions and name the portal's event actions (from apps.ready)."""
    from django.utils.translation import pgettext_lazy

    from guanxi.core.events import event_action
    from guanxi.core.models import ADMINISTRATOR
    from guanxi.core.roles import grant

    staff = ("view", "add", "change")
    for role in ("manager", "service"):
        grant(role, *[f"service.{action}_portalaccount" for action in staff])
    grant(ADMINISTRATOR, *[f"service.{action}_portalaccount" for action in (*staff, "delete")])
    event_action("portal_invited", pgettext_lazy("event action", "invited to the portal"))
    event_action("portal_deactivated", pgettext_lazy("event action", "portal access deactivated"))
    event_action("portal_link_sent", pgettext_lazy("event action", "portal sign-in link sent"))
    event_action("portal_signed_in", pgettext_lazy("event action", "signed in to the portal"))
    event_action("portal_language_set", pgettext_lazy("event action", "portal language changed"))


# --- rate limits ------------------------------------------------------------------------------


def _limited(key: str, limit: int, window_seconds: int) -> bool:
    """Count one attempt under `key`; True once more than `limit` attempts fall in the window."""
    key = f"portal:rate:{key}"
    if cache.add(key, 1, window_seconds):
        return limit < 1
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, window_seconds)
        count = 1
    return count > limit


class RateLimited(ValidationError):
    """Too many sign-in attempts or link requests for one email or from one address."""


def _too_many() -> RateLimited:
    return RateLimited({"email": _("Too many attempts. Please wait a few minutes and try again.")})


def _check_rate(*, kind: str, email: str, ip: str) -> None:
    """Per email and per address: requests for unknown emails count the same, so the limit reveals nothing."""
    window = int(_setting("PORTAL_RATE_WINDOW_SECONDS", 15 * 60))
    per_email = int(_setting("PORTAL_RATE_PER_EMAIL", 5))
    per_ip = int(_setting("PORTAL_RATE_PER_IP", 20))
    over_email = _limited(f"{kind}:email:{email}", per_email, window) if email else False
    over_ip = _limited(f"{kind}:ip:{ip}", per_ip, window) if ip else False
    if over_email or over_ip:
        raise _too_many()


# --- accounts (staff actions) -----------------------------------------------------------------


def _language(value: str) -> str:
    return value if value in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE


def _stamp(account: PortalAccount) -> str:
    """Changes whenever the account signs in: a link minted before that no longer matches (single use)."""
    return account.last_login_at.isoformat() if account.last_login_at else ""


def link_token(account: PortalAccount, *, purpose: str = "link") -> str:
    """A signed sign-in token for the account; `purpose` "invite" lives longer than a requested link."""
    return signing.dumps({"a": account.pk, "s": _stamp(account), "p": purpose}, salt=LINK_SALT, compress=True)


def _link_url(account: PortalAccount, purpose: str) -> str:
    path = reverse("portal-link", args=[link_token(account, purpose=purpose)])
    return str(_setting("SITE_URL", "http://127.0.0.1:8000")).rstrip("/") + path


def _send_link(account: PortalAccount, *, purpose: str) -> None:
    url = _link_url(account, purpose)
    with translation.override(_language(account.language)):
        if purpose == "invite":
            subject = _("You are invited to our customer portal")
            body = _(
                "Hello %(name)s,\n\nFollow your requests, send us new ones and tell us what you think in our "
                "customer portal. Sign in with this link (it works once, for %(days)d days):\n\n%(url)s\n\n"
                "Later you can ask for a new link on the sign-in page at any time."
            ) % {"name": account.contact.full_name, "days": invite_days(), "url": url}
        else:
            subject = _("Your sign-in link")
            body = _(
                "Hello %(name)s,\n\nSign in to the customer portal with this link. It works once, for "
                "%(minutes)d minutes:\n\n%(url)s\n\nIf you did not ask for it, ignore this email."
            ) % {"name": account.contact.full_name, "minutes": link_minutes(), "url": url}
    send_mail(subject, body, None, [account.email])


@transaction.atomic
def portal_invite(*, contact: Contact, actor: Any, language: str = "", only_new: bool = False) -> PortalAccount:
    """Give a contact portal access (or restore it) and email them a sign-in link. `only_new` refuses a contact
    who already has an account (the API's "invite" creates; its "reactivate" restores)."""
    Contact.objects.select_for_update().filter(pk=contact.pk).first()  # two invites of one contact queue here
    if only_new and PortalAccount.objects.filter(contact=contact).exists():
        raise ValidationError({"contact": _("This contact already has a portal account.")})
    email = email_key(contact.email)
    if not email:
        raise ValidationError({"email": _("Add an email address to the contact before inviting them.")})
    if contact.archived_at is not None:
        raise ValidationError({"contact": _("Archived contacts cannot be invited.")})
    other = PortalAccount.objects.filter(email=email).exclude(contact=contact).first()
    if other is not None:
        raise ValidationError(
            {"email": _("Another contact already has portal access with %(email)s.") % {"email": email}}
        )
    account = PortalAccount.objects.select_for_update().filter(contact=contact).first()
    created = account is None
    account = account or PortalAccount(contact=contact)
    account.email = email
    account.is_active, account.deactivated_at = True, None
    account.invited_at, account.invited_by = (
        timezone.now(),
        actor if getattr(actor, "is_authenticated", False) else None,
    )
    account.language = _language(language) if language else (account.language or settings.LANGUAGE_CODE)
    account.save()
    record_event(obj=account, action="portal_invited", actor=actor, data={"contact": contact.pk, "new": created})
    _send_link(account, purpose="invite")
    return account


@transaction.atomic
def portal_deactivate(*, account: PortalAccount, actor: Any) -> PortalAccount:
    """Switch off portal access: open sessions end at their next request, links stop working."""
    if not account.is_active:
        return account
    account.is_active, account.deactivated_at = False, timezone.now()
    account.save(update_fields=["is_active", "deactivated_at"])
    record_event(obj=account, action="portal_deactivated", actor=actor, data={"contact": account.contact_id})
    return account


def portal_reactivate(*, account: PortalAccount, actor: Any) -> PortalAccount:
    """Switch portal access back on and email a fresh sign-in link; an active account is left as it is."""
    if account.is_active:
        return account
    return portal_invite(contact=account.contact, actor=actor, language=account.language)


# --- signing in -------------------------------------------------------------------------------


def _link_refused() -> ValidationError:
    return ValidationError(
        {"token": _("This sign-in link has expired or has already been used. Ask for a new one.")}, code="link"
    )


def account_from_link(token: str) -> PortalAccount:
    """The active account a sign-in link names, or a refusal for forged, expired and used links."""
    try:
        data = signing.loads(token, salt=LINK_SALT, max_age=invite_days() * 24 * 3600)
        age_ok = data.get("p") == "invite" or signing.loads(token, salt=LINK_SALT, max_age=link_minutes() * 60)
    except signing.BadSignature:  # SignatureExpired included
        raise _link_refused() from None
    if not age_ok or not isinstance(data, dict) or not isinstance(data.get("a"), int):
        raise _link_refused()
    account = PortalAccount.objects.select_related("contact").filter(pk=int(data["a"]), is_active=True).first()
    if account is None or not constant_time_compare(str(data.get("s", "")), _stamp(account)):
        raise _link_refused()
    return account


@transaction.atomic
def portal_link_request(*, email: str, ip: str) -> PortalAccount | None:
    """Email a sign-in link if an active account has this address. Callers show the same message either way."""
    address = email_key(email)
    if not address:
        raise ValidationError({"email": _("Enter a valid email address.")})
    _check_rate(kind="link", email=address, ip=ip)
    account = PortalAccount.objects.select_related("contact").filter(email=address, is_active=True).first()
    if account is None:
        return None
    _send_link(account, purpose="link")
    record_event(obj=account, action="portal_link_sent", actor=None, data={"ip": ip})
    return account


def _signed_in(account: PortalAccount, method: str, ip: str) -> PortalAccount:
    account.last_login_at = timezone.now()
    account.save(update_fields=["last_login_at"])
    record_event(obj=account, action="portal_signed_in", actor=account, data={"method": method, "ip": ip})
    return account


@transaction.atomic
def portal_sign_in_link(*, token: str, ip: str = "") -> PortalAccount:
    """Sign in with an emailed link; the link is spent by the sign-in (a second use is refused)."""
    found = account_from_link(token)
    account = PortalAccount.objects.select_for_update().select_related("contact").get(pk=found.pk)
    if _stamp(account) != _stamp(found):  # another request used the same link a moment ago
        raise _link_refused()
    return _signed_in(account, "link", ip)


@transaction.atomic
def portal_sign_in_password(*, email: str, password: str, ip: str) -> PortalAccount:
    """Sign in with email and password; every attempt counts against the per-email and per-address limits."""
    address = email_key(email)
    _check_rate(kind="password", email=address, ip=ip)
    account = PortalAccount.objects.select_related("contact").filter(email=address, is_active=True).first()
    if account is None or not account.password or not check_password(password or "", account.password):
        raise ValidationError(
            {"password": _("That email and password do not match. You can also ask for a sign-in link.")},
            code="invalid",
        )
    return _signed_in(account, "password", ip)


@transaction.atomic
def portal_password_set(*, account: PortalAccount, password: str, confirm: str) -> PortalAccount:
    """The signed-in customer sets (or changes) a password, checked by the site's password rules."""
    if password != confirm:
        raise ValidationError({"confirm": _("The two passwords differ.")})
    try:
        validate_password(password)
    except ValidationError as exc:
        raise ValidationError({"password": exc.messages}) from None
    account.password = make_password(password)
    account.save(update_fields=["password"])
    record_event(obj=account, action="password_changed", actor=account)
    return account


@transaction.atomic
def portal_language_set(*, account: PortalAccount, language: str) -> PortalAccount:
    """Remember the customer's language: the portal shows it and emails to them use it."""
    if language not in dict(settings.LANGUAGES):
        raise ValidationError({"language": _("Choose one of the offered languages.")})
    if account.language != language:
        before = account.language
        account.language = language
        account.save(update_fields=["language"])
        record_event(obj=account, action="portal_language_set", actor=account, changes={"language": [before, language]})
    return account


# --- the portal session -------------------------------------------------------------------------


def _session_hash(account: PortalAccount) -> str:
    """Ties a session to the account's state: a new password, email or deactivation ends old sessions."""
    value = f"{account.pk}:{account.password}:{account.email}:{account.is_active}"
    return salted_hmac(SESSION_SALT, value).hexdigest()


def _store(session_key: str | None) -> Any:
    return import_module(settings.SESSION_ENGINE).SessionStore(session_key=session_key)


def session_load(request: HttpRequest) -> PortalAccount | None:
    """Attach the portal session to the request and return its signed-in, still-valid account (or None)."""
    store = _store(request.COOKIES.get(cookie_name()))
    request.portal_session = store  # type: ignore[attr-defined]
    pk = store.get(SESSION_KEY)
    if pk is None:
        return None
    account = PortalAccount.objects.select_related("contact").filter(pk=pk, is_active=True).first()
    if account is None or not constant_time_compare(store.get(SESSION_HASH_KEY, ""), _session_hash(account)):
        store.flush()
        return None
    return account


def session_login(request: HttpRequest, account: PortalAccount) -> None:
    """Start a fresh portal session for the account (a new key: no fixation of an earlier one)."""
    old = request.portal_session  # type: ignore[attr-defined]
    if old.session_key:
        old.delete()
    store = _store(None)
    store[SESSION_KEY] = account.pk
    store[SESSION_HASH_KEY] = _session_hash(account)
    request.portal_session = store  # type: ignore[attr-defined]


def session_logout(request: HttpRequest) -> None:
    request.portal_session.flush()  # type: ignore[attr-defined]


def session_refresh(request: HttpRequest, account: PortalAccount) -> None:
    """Keep the session valid after the customer changed their own password."""
    request.portal_session[SESSION_HASH_KEY] = _session_hash(account)  # type: ignore[attr-defined]


def session_save(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """Save the portal session and set (or clear) its cookie, separate from the staff session cookie."""
    store = getattr(request, "portal_session", None)
    if store is None:
        return response
    name = cookie_name()
    if store.is_empty() or not store.get(SESSION_KEY):
        if name in request.COOKIES:
            response.delete_cookie(name, samesite="Lax")
        return response
    if store.modified or not store.session_key or request.COOKIES.get(name) != store.session_key:
        store.save()
    response.set_cookie(
        name,
        store.session_key,
        max_age=settings.SESSION_COOKIE_AGE,
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )
    return response


# --- what the customer sees -------------------------------------------------------------------


def portal_tickets(account: PortalAccount) -> QuerySet[Ticket]:
    """The customer's own tickets and those of the companies they are linked to, latest activity first."""
    contact = account.contact
    return (
        Ticket.objects.filter(Q(contact=contact) | Q(account__in=contact.accounts.all()))
        .select_related("contact", "account")
        .order_by("-updated_at", "-id")
    )


def portal_conversation(ticket: Ticket) -> QuerySet[TicketMessage]:
    """The public conversation: internal notes never reach the customer."""
    return (
        ticket.messages.filter(kind=TicketMessage.Kind.REPLY)
        .select_related("author")
        .prefetch_related("attachments")
        .order_by("created_at", "id")
    )


def portal_attachments(account: PortalAccount) -> QuerySet[TicketAttachment]:
    """Attachments of public messages on the customer's tickets."""
    return TicketAttachment.objects.filter(
        message__ticket__in=portal_tickets(account).values("pk"), message__kind=TicketMessage.Kind.REPLY
    ).select_related("message")


@dataclass(frozen=True)
class SurveyLink:
    name: str
    question: str
    url: str
    sent_at: Any


def portal_surveys(account: PortalAccount) -> list[SurveyLink]:
    """Surveys waiting for the customer's answer, each with its signed single-use answer link."""
    return [
        SurveyLink(
            name=invitation.survey.name,
            question=_(invitation.survey.question),
            url=reverse("survey-answer", args=[feedback_services.survey_token(invitation)]),
            sent_at=invitation.sent_at or invitation.created_at,
        )
        for invitation in feedback_selectors.surveys_pending_for(account.contact)[:20]
    ]


def portal_feedback(account: PortalAccount) -> list[dict[str, Any]]:
    """The customer's feedback with its status, resolution and (once resolved and not rated) a rating link."""
    rows = []
    for item in feedback_selectors.feedback_of_customer(account.contact)[:100]:
        can_rate = item.resolved_at is not None and item.rated_at is None
        rate_url = reverse("feedback-rate", args=[feedback_services.rating_token(item)]) if can_rate else ""
        rows.append({"item": item, "rate_url": rate_url})
    return rows


def portal_points(account: PortalAccount) -> dict[str, Any]:
    return {
        "balance": feedback_selectors.points_balance(account.contact),
        "ledger": feedback_selectors.points_ledger(account.contact)[:200],
    }


# --- what the customer writes -----------------------------------------------------------------


def _uploads_limit(uploads: list[services.Upload]) -> None:
    if len(uploads) > MAX_UPLOADS:
        raise ValidationError({"attachments": _("Attach at most %(count)d files.") % {"count": MAX_UPLOADS}})


def portal_ticket_create(
    *, account: PortalAccount, subject: str, body: str, language: str, attachments: list[services.Upload]
) -> Ticket:
    """A new ticket from the portal: channel "portal", linked to the customer's contact (and company)."""
    _uploads_limit(attachments)
    return services.ticket_create(
        actor=account,
        subject=subject,
        body=body,
        channel=Channel.PORTAL,
        email=account.email,
        name=account.contact.full_name,
        contact=account.contact,
        language=_language(language),
        attachments=attachments,
    )


def portal_ticket_reply(
    *, account: PortalAccount, ticket: Ticket, body: str, attachments: list[services.Upload]
) -> TicketMessage:
    """The customer answers on one of their tickets (the caller has scoped `ticket` through `portal_tickets`)."""
    _uploads_limit(attachments)
    if not portal_tickets(account).filter(pk=ticket.pk).exists():
        raise ValidationError({"ticket": _("Ticket not found.")})
    return services.ticket_customer_reply(
        ticket=ticket, body=body, from_email=account.email, attachments=attachments, actor=account
    )


def portal_feedback_create(*, account: PortalAccount, kind: str, text: str, language: str) -> Any:
    """Feedback from the portal, through the feedback app's own service (classified, routed, points awarded)."""
    contact = account.contact
    return feedback_services.feedback_create(
        kind=kind,
        channel="portal",
        text=text,
        actor=account,
        contact=contact,
        account=contact.accounts.order_by("id").first(),
        submitter_name=contact.full_name,
        submitter_email=account.email,
        language=_language(language),
    )


def staff_can_manage(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.has_perm("service.add_portalaccount"))


def account_for_contact(contact: Contact) -> PortalAccount | None:
    return PortalAccount.objects.filter(contact=contact).first()
