"""Customer portal pages under /portal/ (their own session, no staff menu) and the staff buttons that invite a
contact to the portal or switch their access off. Thin: the work is in `portal.py` and the services."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import quote

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from guanxi.core.forms import apply_service_errors
from guanxi.core.http import AuthedRequest
from guanxi.core.views import staff_perm
from guanxi.customers.selectors import contacts_visible_to
from guanxi.feedback.models import Kind as FeedbackKind

from . import portal
from .models import PortalAccount
from .services import Upload

PortalView = Callable[..., HttpResponseBase]


# --- forms ------------------------------------------------------------------------------------


class SignInForm(forms.Form):
    email = forms.EmailField(
        label=gettext_lazy("Email"), max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )
    password = forms.CharField(
        label=gettext_lazy("Password"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        help_text=gettext_lazy("Only if you have set one. Otherwise leave it empty and we email you a link."),
    )


class PortalTicketForm(forms.Form):
    subject = forms.CharField(label=gettext_lazy("Subject"), max_length=250)
    body = forms.CharField(
        label=gettext_lazy("How can we help?"), max_length=20000, widget=forms.Textarea(attrs={"rows": 6})
    )


class PortalReplyForm(forms.Form):
    body = forms.CharField(label=gettext_lazy("Your reply"), max_length=20000, widget=forms.Textarea(attrs={"rows": 4}))


class PortalFeedbackForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), choices=FeedbackKind.choices, initial=FeedbackKind.SUGGESTION)
    text = forms.CharField(
        label=gettext_lazy("Your feedback"), max_length=5000, widget=forms.Textarea(attrs={"rows": 5})
    )


class PasswordForm(forms.Form):
    password = forms.CharField(
        label=gettext_lazy("New password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    confirm = forms.CharField(
        label=gettext_lazy("New password again"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )


# --- the portal session around every page ---------------------------------------------------------


def portal_page(*, public: bool = False) -> Callable[[PortalView], PortalView]:
    """Load the portal session (never the staff one); without a signed-in customer, go to the sign-in page."""

    def decorate(view: PortalView) -> PortalView:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            account = portal.session_load(request)
            request.portal_account = account  # type: ignore[attr-defined]
            if account is None and not public:
                target = f"{reverse('portal-sign-in')}?next={quote(request.get_full_path())}"
                return portal.session_save(request, HttpResponseRedirect(target))
            language = account.language if account is not None and account.language else ""
            if language:
                translation.activate(language)
                request.LANGUAGE_CODE = language
            response = view(request, *args, **kwargs)
            return portal.session_save(request, response)  # type: ignore[arg-type]

        return wrapped

    return decorate


def _account(request: HttpRequest) -> PortalAccount:
    account = request.portal_account  # type: ignore[attr-defined]
    assert account is not None
    return account


def _ip(request: HttpRequest) -> str:
    return str(request.META.get("REMOTE_ADDR", ""))


def _next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target.startswith("/portal/") and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return reverse("portal-tickets")


def _uploads(request: HttpRequest) -> list[Upload]:
    return [
        Upload(filename=f.name or "file", content=f.read(), content_type=f.content_type or "")
        for f in request.FILES.getlist("attachments")
    ]


def _chosen_language(request: HttpRequest) -> str:
    """The language the visitor picked on the portal (the cookie), if any."""
    chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
    return chosen if chosen in dict(settings.LANGUAGES) else ""


def _start(request: HttpRequest, account: PortalAccount) -> None:
    portal.session_login(request, account)
    chosen = _chosen_language(request)
    if chosen:
        portal.portal_language_set(account=account, language=chosen)
    request.portal_account = account  # type: ignore[attr-defined]


# --- signing in and out -------------------------------------------------------------------------


@portal_page(public=True)
def portal_home(request: HttpRequest) -> HttpResponse:
    if request.portal_account is None:  # type: ignore[attr-defined]
        return redirect("portal-sign-in")
    return redirect("portal-tickets")


@portal_page(public=True)
def portal_sign_in(request: HttpRequest) -> HttpResponse:
    """Email (and, if the customer has set one, password). Unknown and known emails get the same answer."""
    if request.portal_account is not None:  # type: ignore[attr-defined]
        return redirect(_next(request))
    form = SignInForm(request.POST or None)
    sent, status = False, 200
    if request.method == "POST" and form.is_valid():
        email, password = form.cleaned_data["email"], form.cleaned_data["password"]
        try:
            if password:
                account = portal.portal_sign_in_password(email=email, password=password, ip=_ip(request))
                _start(request, account)
                return redirect(_next(request))
            portal.portal_link_request(email=email, ip=_ip(request))
            sent = True
        except ValidationError as exc:
            apply_service_errors(form, exc)
            status = 429 if isinstance(exc, portal.RateLimited) else 400
    elif request.method == "POST":
        status = 400
    context = {"form": form, "sent": sent, "next": request.GET.get("next", ""), "minutes": portal.link_minutes()}
    return render(request, "service/portal/sign_in.html", context, status=status)


@portal_page(public=True)
def portal_link(request: HttpRequest, token: str) -> HttpResponse:
    """An emailed link asks for one click first: mail scanners that open links must not spend it."""
    try:
        account = portal.account_from_link(token)
    except ValidationError as exc:
        return render(request, "service/portal/message.html", {"message": exc.messages[0], "retry": True}, status=400)
    if request.method == "POST":
        try:
            account = portal.portal_sign_in_link(token=token, ip=_ip(request))
        except ValidationError as exc:
            context = {"message": exc.messages[0], "retry": True}
            return render(request, "service/portal/message.html", context, status=400)
        _start(request, account)
        return redirect("portal-tickets")
    return render(request, "service/portal/link_confirm.html", {"link_account": account})


@require_POST
@portal_page(public=True)
def portal_sign_out(request: HttpRequest) -> HttpResponse:
    portal.session_logout(request)
    messages.success(request, _("You have signed out."))
    return redirect("portal-sign-in")


@require_POST
@portal_page(public=True)
def portal_language(request: HttpRequest) -> HttpResponse:
    """Switch the portal's language: remembered on the customer's account when signed in, in a cookie always."""
    language = request.POST.get("language", "")
    target = _next(request) if request.POST.get("next") else reverse("portal-home")
    response = HttpResponseRedirect(target)
    if language not in dict(settings.LANGUAGES):
        return response
    account = request.portal_account  # type: ignore[attr-defined]
    if account is not None:
        portal.portal_language_set(account=account, language=language)
    response.set_cookie(settings.LANGUAGE_COOKIE_NAME, language, max_age=365 * 24 * 3600, samesite="Lax")
    return response


# --- tickets ----------------------------------------------------------------------------------


@portal_page()
def portal_tickets(request: HttpRequest) -> HttpResponse:
    account = _account(request)
    rows = list(portal.portal_tickets(account)[:200])
    return render(request, "service/portal/tickets.html", {"tickets": rows, "surveys": portal.portal_surveys(account)})


@portal_page()
def portal_ticket_new(request: HttpRequest) -> HttpResponse:
    account = _account(request)
    form = PortalTicketForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            ticket = portal.portal_ticket_create(
                account=account,
                subject=form.cleaned_data["subject"],
                body=form.cleaned_data["body"],
                language=translation.get_language() or "",
                attachments=_uploads(request),
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("Thank you — your request is %(number)s.") % {"number": ticket.number})
            return redirect("portal-ticket", pk=ticket.pk)
    status = 400 if form.errors else 200
    return render(request, "service/portal/ticket_new.html", {"form": form}, status=status)


@portal_page()
def portal_ticket(request: HttpRequest, pk: int) -> HttpResponse:
    """One of the customer's tickets and its public conversation; other tickets are "not found" (404)."""
    account = _account(request)
    ticket = get_object_or_404(portal.portal_tickets(account), pk=pk)
    form = PortalReplyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            portal.portal_ticket_reply(
                account=account, ticket=ticket, body=form.cleaned_data["body"], attachments=_uploads(request)
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("Your reply has been added."))
            return redirect("portal-ticket", pk=ticket.pk)
    context = {"ticket": ticket, "conversation": portal.portal_conversation(ticket), "form": form}
    return render(request, "service/portal/ticket_detail.html", context, status=400 if form.errors else 200)


@portal_page()
def portal_attachment(request: HttpRequest, pk: int) -> HttpResponseBase:
    attachment = get_object_or_404(portal.portal_attachments(_account(request)), pk=pk)
    return FileResponse(attachment.file.open("rb"), as_attachment=True, filename=attachment.filename)


# --- feedback, surveys, points, account ---------------------------------------------------------------


@portal_page()
def portal_feedback(request: HttpRequest) -> HttpResponse:
    account = _account(request)
    context = {"rows": portal.portal_feedback(account), "surveys": portal.portal_surveys(account)}
    return render(request, "service/portal/feedback.html", context)


@portal_page()
def portal_feedback_new(request: HttpRequest) -> HttpResponse:
    account = _account(request)
    form = PortalFeedbackForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            portal.portal_feedback_create(
                account=account,
                kind=form.cleaned_data["kind"],
                text=form.cleaned_data["text"],
                language=translation.get_language() or "",
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("Thank you! Your feedback has reached the right person."))
            return redirect("portal-feedback")
    return render(request, "service/portal/feedback_new.html", {"form": form}, status=400 if form.errors else 200)


@portal_page()
def portal_points(request: HttpRequest) -> HttpResponse:
    return render(request, "service/portal/points.html", portal.portal_points(_account(request)))


@portal_page()
def portal_account(request: HttpRequest) -> HttpResponse:
    account = _account(request)
    form = PasswordForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            portal.portal_password_set(
                account=account, password=form.cleaned_data["password"], confirm=form.cleaned_data["confirm"]
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            portal.session_refresh(request, account)
            messages.success(request, _("Your password is set."))
            return redirect("portal-account")
    return render(request, "service/portal/account.html", {"form": form}, status=400 if form.errors else 200)


# --- staff: invite and deactivate ---------------------------------------------------------------


def _back(request: AuthedRequest, fallback: str) -> HttpResponse:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect(fallback)


@require_POST
@staff_perm("service.add_portalaccount")
def portal_invite(request: AuthedRequest, contact_pk: int) -> HttpResponse:
    """Invite a contact the staff member can see to the portal (emails a sign-in link)."""
    contact = get_object_or_404(contacts_visible_to(request.user), pk=contact_pk)
    language = request.POST.get("language", "")
    try:
        account = portal.portal_invite(contact=contact, actor=request.user, language=language)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Portal invitation sent to %(email)s.") % {"email": account.email})
    return _back(request, contact.get_absolute_url())


@require_POST
@staff_perm("service.change_portalaccount")
def portal_deactivate(request: AuthedRequest, pk: int) -> HttpResponse:
    account = get_object_or_404(
        PortalAccount.objects.filter(contact__in=contacts_visible_to(request.user)).select_related("contact"), pk=pk
    )
    portal.portal_deactivate(account=account, actor=request.user)
    messages.success(request, _("Portal access of %(email)s is switched off.") % {"email": account.email})
    return _back(request, account.contact.get_absolute_url())
