"""Customer pages: lists with search, details with the timeline, forms, lead conversion, tasks, the search box."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse, HttpResponsePermanentRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from guanxi.core.customfields import custom_display
from guanxi.core.forms import apply_service_errors, custom_from_cleaned, customise_form
from guanxi.core.http import AuthedRequest
from guanxi.core.pii import pii_log_views
from guanxi.core.selectors import users_visible_to
from guanxi.core.views import list_page, page_of, staff_perm

from . import lists, quality, selectors, services, vcards
from .duplicates import RECORD_TYPES, likely_duplicates
from .forms import AccountForm, ContactForm, InteractionForm, LeadConvertForm, LeadForm, QualityWeightsForm
from .models import Account, Contact, Interaction, Lead, RecordType

CONTACT_PII = ["phone", "email", "street"]
F = TypeVar("F", bound=forms.Form)
LEAD_PII = ["phone", "email"]


def _list_context(request: AuthedRequest, rows: Any, record_type: str = "") -> dict[str, Any]:
    q = request.GET.get("q", "").strip()
    if record_type:
        try:
            rows = selectors.custom_filter(rows, record_type, request.GET)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
    query: dict[str, str] = {k: str(v) for k, v in request.GET.items() if k != "page" and v}
    return {"page": page_of(request, rows), "q": q, "query": urlencode(query)}


def _record_form_data(form: Any) -> tuple[dict[str, Any], dict[str, Any], str]:
    """A record form's built-in values, its custom values and its tags, as the services take them."""
    data, custom = custom_from_cleaned(dict(form.cleaned_data))
    return data, custom, data.pop("tags", "")


def _tag_names(record: Any) -> str:
    return ", ".join(tag.name for tag in record.tags.all())


def _found_or_merged(request: AuthedRequest, rows: Any, pk: int, record_type: str) -> tuple[Any, HttpResponse | None]:
    """The record, or (when it was merged into another) a permanent redirect to the survivor."""
    try:
        return get_object_or_404(rows, pk=pk), None
    except Http404:
        url = selectors.merged_record_url(user=request.user, record_type=record_type, pk=pk)
        if url is None:
            raise
        return None, HttpResponsePermanentRedirect(url)


# --- search -----------------------------------------------------------------------------------


@staff_perm("customers.view_contact")
def customer_search(request: AuthedRequest) -> HttpResponse:
    q = request.GET.get("q", "").strip()
    context = _list_context(request, selectors.customers_search(user=request.user, q=q))
    return render(request, "customers/search.html", context)


# --- the duplicate warning -------------------------------------------------------------------

DUPLICATE_FIELDS = {
    "contact": ("surname", "given_name", "phone", "email"),
    "account": ("name", "registration_number"),
    "lead": ("surname", "given_name", "company_name", "phone", "email"),
}
DUPLICATE_URLS = {"contact": "contact-duplicates", "account": "account-duplicates", "lead": "lead-duplicates"}


def _duplicates_of(request: AuthedRequest, record_type: str) -> list[Any]:
    data = request.POST if request.method == "POST" else request.GET
    values: dict[str, Any] = {name: data.get(name, "") for name in DUPLICATE_FIELDS[record_type]}
    if record_type == "contact":
        values["accounts"] = data.getlist("accounts")
    # an edit form sends its record's id, so the record is not reported as its own duplicate
    editing = data.get("editing", "")
    exclude = RECORD_TYPES[record_type](pk=int(editing)) if editing.isdigit() else None
    return likely_duplicates(record_type=record_type, values=values, user=request.user, exclude=exclude)


def _edit_page(request: AuthedRequest, form: forms.Form, record_type: str, record: Any, back: str) -> HttpResponse:
    """An edit form with the same live duplicate warning as the create form; it warns, it does not block
    (the record exists already: merging is the review queue's work)."""
    if form.is_bound:
        values = {name: form.data.get(name, "") for name in DUPLICATE_FIELDS[record_type]}
    else:
        values = {name: form.initial.get(name) or "" for name in DUPLICATE_FIELDS[record_type]}
    if record_type == "contact":
        data: Any = form.data  # a QueryDict when bound
        accounts = data.getlist("accounts") if form.is_bound else [a.pk for a in form.initial["accounts"]]
        values["accounts"] = accounts
    matches = likely_duplicates(record_type=record_type, values=values, user=request.user, exclude=record)
    context = {"form": form, "title": record, "back": back, "matches": matches, "editing": record.pk}
    return render(request, "customers/record_form.html", context | {"duplicates_url": DUPLICATE_URLS[record_type]})


def _checked_form(form: F) -> F:
    form.fields["create_anyway"] = forms.BooleanField(
        label=gettext_lazy("Create anyway"),
        required=False,
        help_text=gettext_lazy("Tick this when the matches shown are different people or companies."),
    )
    return form


def _refused_as_duplicate(request: AuthedRequest, form: forms.Form, record_type: str) -> list[Any] | None:
    """The strong matches that stop a save until the user ticks “create anyway”; None lets it through."""
    if form.cleaned_data.pop("create_anyway", False):
        return None
    matches = _duplicates_of(request, record_type)
    if not any(m.strong for m in matches):
        return None
    form.add_error(None, _("This probably exists already: check the matches shown, or tick “Create anyway”."))
    return matches


def _create_record(
    request: AuthedRequest,
    form: forms.Form,
    record_type: str,
    create: Callable[[dict[str, Any], dict[str, Any], Any], Any],
    *,
    done: str,
    title: str,
    back: str,
) -> HttpResponse:
    """A create page: the record type's custom fields on the form, the duplicate check, then `create(data,
    custom, tags)` (the service); its errors land on the form, and the new record's page follows a success."""
    form = _checked_form(form)
    customise_form(form, record_type)
    matches = None
    if request.method == "POST" and form.is_valid():
        matches = _refused_as_duplicate(request, form, record_type)
        if matches is None:
            data, custom, tags = _record_form_data(form)
            try:
                record = create(data, custom, tags)
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, done % {"name": record})
                return redirect(record)
    return _create_page(request, form, record_type, matches, title=title, back=back)


def _create_page(request: AuthedRequest, form: forms.Form, record_type: str, matches: Any, **context: Any) -> Any:
    context |= {"form": form, "matches": matches or [], "duplicates_url": DUPLICATE_URLS[record_type]}
    return render(request, "customers/record_form.html", context)


def _duplicates_panel(request: AuthedRequest, record_type: str) -> HttpResponse:
    matches = _duplicates_of(request, record_type)
    return render(request, "customers/_duplicates.html", {"matches": matches})


@staff_perm("customers.add_contact")
def contact_duplicates(request: AuthedRequest) -> HttpResponse:
    return _duplicates_panel(request, "contact")


@staff_perm("customers.add_account")
def account_duplicates(request: AuthedRequest) -> HttpResponse:
    return _duplicates_panel(request, "account")


@staff_perm("customers.add_lead")
def lead_duplicates(request: AuthedRequest) -> HttpResponse:
    return _duplicates_panel(request, "lead")


# --- contacts ---------------------------------------------------------------------------------


def _account_links(form: ContactForm, contact: Contact | None) -> list[tuple[Account, str]]:
    roles = {link.account_id: link.role for link in contact.links.all()} if contact else {}
    return [(account, roles.get(account.pk, "")) for account in form.cleaned_data["accounts"]]


@staff_perm("customers.view_contact")
def contact_list(request: AuthedRequest) -> HttpResponse:
    return list_page(request, lists.CONTACTS, "customers/contact_list.html")


@staff_perm("customers.view_contact")
def contact_vcard(request: AuthedRequest, pk: int) -> HttpResponse:
    """The contact as a .vcf file for an address book or a phone."""
    contact = get_object_or_404(selectors.contacts_visible_to(request.user), pk=pk)
    pii_log_views(user=request.user, records=[contact], fields=CONTACT_PII, channel="vcard")
    response = HttpResponse(
        vcards.contact_vcard(contact, viewer=request.user), content_type="text/vcard; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="contact-{contact.pk}.vcf"'
    return response


@staff_perm("customers.view_contact")
def contact_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    contact, moved = _found_or_merged(request, selectors.contacts_visible_to(request.user), pk, "contact")
    if moved is not None:
        return moved
    pii_log_views(user=request.user, records=[contact], fields=CONTACT_PII, channel="page")
    timeline = page_of(request, selectors.customer_timeline(record=contact, user=request.user))
    context = {
        "contact": contact,
        "timeline": timeline,
        "quality": quality.record_completeness(contact),
        "custom": custom_display("contact", contact.custom),
    }
    return render(request, "customers/contact_detail.html", context)


@staff_perm("customers.add_contact")
def contact_create(request: AuthedRequest) -> HttpResponse:
    form = ContactForm(request.POST or None, accounts=selectors.accounts_visible_to(request.user))

    def create(data: dict[str, Any], custom: dict[str, Any], tags: Any) -> Contact:
        data.pop("accounts")
        links = _account_links(form, None)
        return services.contact_create(actor=request.user, accounts=links, custom=custom, tags=tags, **data)

    done, title = _("Contact %(name)s created."), _("New contact")
    return _create_record(request, form, "contact", create, done=done, title=title, back="contact-list")


@staff_perm("customers.change_contact")
def contact_edit(request: AuthedRequest, pk: int) -> HttpResponse:
    contact = get_object_or_404(selectors.contacts_visible_to(request.user, "change"), pk=pk)
    initial = {name: getattr(contact, name) for name in services.CONTACT_FIELDS}
    initial["phone"] = contact.phone_display
    initial["accounts"] = [link.account for link in contact.links.all()]
    initial["tags"] = _tag_names(contact)
    form = ContactForm(request.POST or None, initial=initial, accounts=selectors.accounts_visible_to(request.user))
    customise_form(form, "contact", contact.custom)
    if request.method == "POST" and form.is_valid():
        data, custom, tags = _record_form_data(form)
        data.pop("accounts")
        links = _account_links(form, contact)
        try:
            services.contact_update(
                contact=contact, actor=request.user, accounts=links, custom=custom, tags=tags, **data
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("Changes saved."))
            return redirect(contact)
    return _edit_page(request, form, "contact", contact, "contact-list")


# --- accounts ---------------------------------------------------------------------------------


@staff_perm("customers.view_account")
def account_list(request: AuthedRequest) -> HttpResponse:
    return list_page(request, lists.ACCOUNTS, "customers/account_list.html")


@staff_perm("customers.view_account")
def account_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    account, moved = _found_or_merged(request, selectors.accounts_visible_to(request.user), pk, "account")
    if moved is not None:
        return moved
    context = {
        "account": account,
        "links": selectors.account_contacts(account=account, user=request.user),
        "timeline": page_of(request, selectors.customer_timeline(record=account, user=request.user)),
        "quality": quality.record_completeness(account),
        "custom": custom_display("account", account.custom),
    }
    return render(request, "customers/account_detail.html", context)


@staff_perm("customers.add_account")
def account_create(request: AuthedRequest) -> HttpResponse:
    def create(data: dict[str, Any], custom: dict[str, Any], tags: Any) -> Account:
        return services.account_create(actor=request.user, custom=custom, tags=tags, **data)

    form, done, title = AccountForm(request.POST or None), _("Account %(name)s created."), _("New account")
    return _create_record(request, form, "account", create, done=done, title=title, back="account-list")


@staff_perm("customers.change_account")
def account_edit(request: AuthedRequest, pk: int) -> HttpResponse:
    account = get_object_or_404(selectors.accounts_visible_to(request.user, "change"), pk=pk)
    initial = {name: getattr(account, name) for name in services.ACCOUNT_FIELDS}
    initial["tags"] = _tag_names(account)
    form = AccountForm(request.POST or None, initial=initial)
    customise_form(form, "account", account.custom)
    if request.method == "POST" and form.is_valid():
        data, custom, tags = _record_form_data(form)
        try:
            services.account_update(account=account, actor=request.user, custom=custom, tags=tags, **data)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("Changes saved."))
            return redirect(account)
    return _edit_page(request, form, "account", account, "account-list")


# --- leads ------------------------------------------------------------------------------------


@staff_perm("customers.view_lead")
def lead_list(request: AuthedRequest) -> HttpResponse:
    return list_page(request, lists.LEADS, "customers/lead_list.html")


@staff_perm("customers.view_lead")
def lead_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    lead, moved = _found_or_merged(request, selectors.leads_visible_to(request.user), pk, "lead")
    if moved is not None:
        return moved
    pii_log_views(user=request.user, records=[lead], fields=LEAD_PII, channel="page")
    timeline = page_of(request, selectors.customer_timeline(record=lead, user=request.user))
    can_convert = lead.status not in {Lead.Status.CONVERTED, Lead.Status.DISQUALIFIED} and request.user.has_perms(
        ["customers.change_lead", "customers.add_contact", "customers.add_account"]
    )
    context = {
        "lead": lead,
        "timeline": timeline,
        "can_convert": can_convert,
        "quality": quality.record_completeness(lead),
        "custom": custom_display("lead", lead.custom),
    }
    return render(request, "customers/lead_detail.html", context)


@staff_perm("customers.add_lead")
def lead_create(request: AuthedRequest) -> HttpResponse:
    def create(data: dict[str, Any], custom: dict[str, Any], tags: Any) -> Lead:
        return services.lead_create(actor=request.user, custom=custom, tags=tags, **data)

    form, done, title = LeadForm(request.POST or None), _("Lead %(name)s created."), _("New lead")
    return _create_record(request, form, "lead", create, done=done, title=title, back="lead-list")


@staff_perm("customers.change_lead")
def lead_edit(request: AuthedRequest, pk: int) -> HttpResponse:
    lead = get_object_or_404(selectors.leads_visible_to(request.user, "change"), pk=pk)
    initial = {name: getattr(lead, name) for name in services.LEAD_FIELDS}
    initial["phone"] = lead.phone_display
    initial["tags"] = _tag_names(lead)
    form = LeadForm(request.POST or None, initial=initial)
    customise_form(form, "lead", lead.custom)
    if lead.status == Lead.Status.CONVERTED:
        form.fields.pop("status")
    if request.method == "POST" and form.is_valid():
        data, custom, tags = _record_form_data(form)
        try:
            services.lead_update(lead=lead, actor=request.user, custom=custom, tags=tags, **data)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("Changes saved."))
            return redirect(lead)
    return _edit_page(request, form, "lead", lead, "lead-list")


@staff_perm("customers.change_lead")
def lead_convert(request: AuthedRequest, pk: int) -> HttpResponse:
    if not request.user.has_perms(["customers.add_contact", "customers.add_account"]):
        raise PermissionDenied
    lead = get_object_or_404(selectors.leads_visible_to(request.user, "change"), pk=pk)
    data = request.POST if request.method == "POST" else None
    with_deal = request.user.has_perm("sales.add_deal")
    form = LeadConvertForm(data, accounts=selectors.accounts_visible_to(request.user, "change"), with_deal=with_deal)
    if request.method == "POST" and form.is_valid():
        try:
            if with_deal and form.cleaned_data.get("create_deal"):
                # the sales app opens the deal in the conversion's own transaction (all of it, or none)
                from guanxi.sales.services import lead_convert_with_deal

                contact, _account, deal = lead_convert_with_deal(
                    lead=lead,
                    actor=request.user,
                    account=form.cleaned_data["account"],
                    deal_name=form.cleaned_data["deal_name"],
                    amount=form.cleaned_data["deal_amount"],
                )
                messages.success(request, _("Lead converted: deal “%(deal)s” opened.") % {"deal": deal})
                return redirect(deal)
            contact, _account = services.lead_convert(
                lead=lead, actor=request.user, account=form.cleaned_data["account"]
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("Lead converted: %(name)s is now a contact.") % {"name": contact})
            return redirect(contact)
    return render(request, "customers/lead_convert.html", {"lead": lead, "form": form})


# --- archiving --------------------------------------------------------------------------------


@require_POST
@staff_perm("customers.delete_contact")
def contact_archive(request: AuthedRequest, pk: int) -> HttpResponse:
    contact = get_object_or_404(selectors.contacts_visible_to(request.user, "delete"), pk=pk)
    services.contact_archive(contact=contact, actor=request.user)
    messages.success(request, _("%(name)s is archived.") % {"name": contact})
    return redirect("contact-list")


@require_POST
@staff_perm("customers.delete_account")
def account_archive(request: AuthedRequest, pk: int) -> HttpResponse:
    account = get_object_or_404(selectors.accounts_visible_to(request.user, "delete"), pk=pk)
    services.account_archive(account=account, actor=request.user)
    messages.success(request, _("%(name)s is archived.") % {"name": account})
    return redirect("account-list")


@require_POST
@staff_perm("customers.delete_lead")
def lead_archive(request: AuthedRequest, pk: int) -> HttpResponse:
    lead = get_object_or_404(selectors.leads_visible_to(request.user, "delete"), pk=pk)
    services.lead_archive(lead=lead, actor=request.user)
    messages.success(request, _("%(name)s is archived.") % {"name": lead})
    return redirect("lead-list")


# --- interactions and tasks -------------------------------------------------------------------


def _interaction_log(request: AuthedRequest, about: Account | Contact | Lead) -> HttpResponse:
    users = users_visible_to(request.user).filter(is_active=True)
    initial = {"occurred_at": timezone.localtime().replace(second=0, microsecond=0)}
    form = InteractionForm(request.POST or None, initial=initial, users=users)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        if data["kind"] == Interaction.Kind.TASK:
            data["assignee"] = data["assignee"] or request.user
        try:
            services.interaction_log(actor=request.user, about=about, **data)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("Logged on %(name)s’s timeline.") % {"name": about})
            return redirect(about)
    title = _("Log interaction: %(name)s") % {"name": about}
    return render(request, "customers/interaction_form.html", {"form": form, "title": title, "about": about})


@staff_perm("customers.add_interaction")
def contact_interaction_log(request: AuthedRequest, pk: int) -> HttpResponse:
    return _interaction_log(request, get_object_or_404(selectors.contacts_visible_to(request.user), pk=pk))


@staff_perm("customers.add_interaction")
def account_interaction_log(request: AuthedRequest, pk: int) -> HttpResponse:
    return _interaction_log(request, get_object_or_404(selectors.accounts_visible_to(request.user), pk=pk))


@staff_perm("customers.add_interaction")
def lead_interaction_log(request: AuthedRequest, pk: int) -> HttpResponse:
    return _interaction_log(request, get_object_or_404(selectors.leads_visible_to(request.user), pk=pk))


@staff_perm("customers.view_interaction")
def task_list(request: AuthedRequest) -> HttpResponse:
    page = page_of(request, selectors.tasks_for(user=request.user))
    return render(request, "customers/task_list.html", {"page": page, "now": timezone.now()})


@require_POST
@staff_perm("customers.change_interaction")
def task_complete(request: AuthedRequest, pk: int) -> HttpResponse:
    tasks = selectors.interactions_visible_to(request.user, "change").filter(kind=Interaction.Kind.TASK)
    task = get_object_or_404(tasks, pk=pk)
    try:
        services.task_complete(task=task, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Task “%(task)s” completed.") % {"task": task})
    return redirect("task-list")


# --- data quality -----------------------------------------------------------------------------


def _record_type(request: AuthedRequest) -> str:
    record_type = request.GET.get("type", "")
    return record_type if record_type in RecordType.values else RecordType.CONTACT


def _id_param(request: AuthedRequest, name: str) -> int | None:
    value = request.GET.get(name, "")
    return int(value) if value.isdigit() else None


@staff_perm("customers.view_data_quality")
def data_quality(request: AuthedRequest) -> HttpResponse:
    record_type = _record_type(request)
    filters = {"owner_id": _id_param(request, "owner"), "team_id": _id_param(request, "team")}
    sort = request.GET.get("sort", "average")
    report = selectors.quality_report(user=request.user, record_type=record_type, sort=sort, **filters)
    worst = page_of(request, selectors.quality_worst(user=request.user, record_type=record_type, **filters))
    owners, teams = selectors.quality_filter_choices(user=request.user, record_type=record_type)
    query = request.GET.copy()
    query.pop("page", None)
    sort_query = query.copy()
    sort_query.pop("sort", None)
    context = {
        "report": report,
        "page": worst,
        "records": selectors.quality_records(worst.object_list, record_type=record_type),
        "record_types": RecordType.choices,
        "record_type": record_type,
        "owners": owners,
        "teams": teams,
        "owner_id": filters["owner_id"],
        "team_id": filters["team_id"],
        "sort": sort,
        "query": query.urlencode(),
        "sort_query": sort_query.urlencode(),
        "peak": max((n for _low, _high, n in report.distribution), default=0),
    }
    return render(request, "customers/data_quality.html", context)


@require_POST
@staff_perm("customers.change_qualityweights")
def quality_recompute(request: AuthedRequest) -> HttpResponse:
    job = services.quality_recompute_start(actor=request.user)
    messages.success(request, _("The scores are being recomputed."))
    return redirect(job)


@staff_perm("customers.change_qualityweights")
def quality_weights(request: AuthedRequest) -> HttpResponse:
    record_type = _record_type(request)
    form = QualityWeightsForm(request.POST or None, initial=quality.weights_for(record_type), record_type=record_type)
    if request.method == "POST" and form.is_valid():
        try:
            _weights, job = services.quality_weights_set(
                record_type=record_type, weights=form.cleaned_data, actor=request.user
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            if job is None:
                messages.info(request, _("Nothing changed."))
                return redirect(f"{request.path}?{urlencode({'type': record_type})}")
            messages.success(request, _("Weights saved; the scores are being recomputed."))
            return redirect(job)
    context = {"form": form, "record_types": RecordType.choices, "record_type": record_type}
    return render(request, "customers/quality_weights.html", context)
