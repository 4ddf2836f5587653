"""Customer endpoints: accounts, contacts, leads, lead conversion, interactions, tasks, the timeline, search."""

from datetime import datetime
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponsePermanentRedirect
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import paginate

from guanxi.api.errors import error_body
from guanxi.api.pagination import PageNumbers
from guanxi.api.schemas import InputSchema
from guanxi.core.api import (
    Count,
    EventOut,
    JobOut,
    ListBulkIn,
    ListExportIn,
    list_endpoint_bulk,
    list_endpoint_export,
    list_endpoint_rows,
)
from guanxi.core.customfields import active_fields, custom_masked
from guanxi.core.http import AuthedRequest
from guanxi.core.pii import pii_log_views, pii_value
from guanxi.core.selectors import users_visible_to

from . import lists, quality, selectors, services
from .duplicates import DuplicateMatch, likely_duplicates
from .models import Account, Contact, Interaction, Lead, RecordType

router = Router(tags=["customers"])

PERSON_PII = ["phone", "email"]
CONTACT_PII = [*PERSON_PII, "street"]


def require_perm(request: AuthedRequest, *perms: str) -> None:
    if not request.user.has_perms(perms):
        raise PermissionDenied


def log_contact_pii(request: AuthedRequest, contacts: list[Any]) -> None:
    pii_log_views(user=request.user, records=contacts, fields=CONTACT_PII, channel="api")


def log_lead_pii(request: AuthedRequest, leads: list[Any]) -> None:
    pii_log_views(user=request.user, records=leads, fields=PERSON_PII, channel="api")


def _viewer(context: dict[str, Any]) -> Any:
    return context["request"].user


def _custom_out(obj: Any, record_type: str, context: dict[str, Any]) -> dict[str, Any]:
    """The record's custom values for this reader; the field definitions are read once per request."""
    request = context["request"]
    cache: dict[str, Any] = request.__dict__.setdefault("_gx_custom_fields", {})
    if record_type not in cache:
        cache[record_type] = active_fields(record_type)
    return custom_masked(obj.custom, fields=cache[record_type], user=request.user)


def _tag_names(obj: Any) -> list[str]:
    return [tag.name for tag in obj.tags.all()]


CUSTOM_DOC = "Custom-field values by key (see GET /custom-fields); email and phone values masked without view_pii."
CUSTOM_IN_DOC = 'Custom-field values by key; on PATCH only the given keys change, null or "" clears one.'
TAGS_IN_DOC = "Tag names; missing tags are created. On PATCH the list replaces the record's tags."


# --- schemas ----------------------------------------------------------------------------------


class AccountOut(Schema):
    id: int
    name: str
    registration_number: str
    industry: str
    size: str
    province: str
    city: str
    district: str
    website: str
    tier: str
    lifecycle_stage: str
    completeness: int
    custom: dict[str, Any] = Field(description=CUSTOM_DOC)
    tags: list[str]
    owner_id: int | None
    team_id: int | None
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_custom(obj: Account, context: dict[str, Any]) -> dict[str, Any]:
        return _custom_out(obj, "account", context)

    @staticmethod
    def resolve_tags(obj: Account) -> list[str]:
        return _tag_names(obj)


class AccountIn(InputSchema):
    name: str
    registration_number: str = ""
    industry: str = ""
    size: str = ""
    province: str = ""
    city: str = ""
    district: str = ""
    website: str = ""
    tier: str = ""
    custom: dict[str, Any] = Field(default_factory=dict, description=CUSTOM_IN_DOC)
    tags: list[str] = Field(default_factory=list, description=TAGS_IN_DOC)
    force: bool = False  # create even when it probably exists already


class AccountPatch(InputSchema):
    name: str | None = None
    registration_number: str | None = None
    industry: str | None = None
    size: str | None = None
    province: str | None = None
    city: str | None = None
    district: str | None = None
    website: str | None = None
    tier: str | None = None
    custom: dict[str, Any] | None = Field(default=None, description=CUSTOM_IN_DOC)
    tags: list[str] | None = Field(default=None, description=TAGS_IN_DOC)


class AccountLinkIn(InputSchema):
    account_id: int
    role: str = ""


class AccountLinkOut(Schema):
    account_id: int
    name: str
    role: str

    @staticmethod
    def resolve_name(obj: Any) -> str:
        return obj.account.name


class ContactOut(Schema):
    id: int
    surname: str
    given_name: str
    full_name: str
    name_pinyin: str
    phone: str
    phone_national: str
    email: str
    title: str
    province: str
    city: str
    district: str
    street: str
    lifecycle_stage: str
    completeness: int
    accounts: list[AccountLinkOut]
    custom: dict[str, Any] = Field(description=CUSTOM_DOC)
    tags: list[str]
    converted_from_id: int | None
    owner_id: int | None
    team_id: int | None
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_phone(obj: Contact, context: dict[str, Any]) -> str:
        return pii_value(obj.phone, kind="phone", user=_viewer(context))

    @staticmethod
    def resolve_phone_national(obj: Contact, context: dict[str, Any]) -> str:
        return pii_value(obj.phone_display, kind="phone", user=_viewer(context))

    @staticmethod
    def resolve_email(obj: Contact, context: dict[str, Any]) -> str:
        return pii_value(obj.email, kind="email", user=_viewer(context))

    @staticmethod
    def resolve_street(obj: Contact, context: dict[str, Any]) -> str:
        return pii_value(obj.street, kind="text", user=_viewer(context))

    @staticmethod
    def resolve_accounts(obj: Contact) -> list[Any]:
        return list(obj.links.all())

    @staticmethod
    def resolve_custom(obj: Contact, context: dict[str, Any]) -> dict[str, Any]:
        return _custom_out(obj, "contact", context)

    @staticmethod
    def resolve_tags(obj: Contact) -> list[str]:
        return _tag_names(obj)


class ContactIn(InputSchema):
    surname: str = ""
    given_name: str = ""
    phone: str = ""
    email: str = ""
    title: str = ""
    province: str = ""
    city: str = ""
    district: str = ""
    street: str = ""
    accounts: list[AccountLinkIn] = []
    custom: dict[str, Any] = Field(default_factory=dict, description=CUSTOM_IN_DOC)
    tags: list[str] = Field(default_factory=list, description=TAGS_IN_DOC)
    force: bool = False  # create even when it probably exists already


class ContactPatch(InputSchema):
    surname: str | None = None
    given_name: str | None = None
    phone: str | None = None
    email: str | None = None
    title: str | None = None
    province: str | None = None
    city: str | None = None
    district: str | None = None
    street: str | None = None
    accounts: list[AccountLinkIn] | None = None
    custom: dict[str, Any] | None = Field(default=None, description=CUSTOM_IN_DOC)
    tags: list[str] | None = Field(default=None, description=TAGS_IN_DOC)


class LeadOut(Schema):
    id: int
    surname: str
    given_name: str
    full_name: str
    company_name: str
    phone: str
    phone_national: str
    email: str
    source: str
    status: str
    notes: str
    custom: dict[str, Any] = Field(description=CUSTOM_DOC)
    tags: list[str]
    converted_at: datetime | None
    converted_contact_id: int | None
    converted_account_id: int | None
    completeness: int
    owner_id: int | None
    team_id: int | None
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_phone(obj: Lead, context: dict[str, Any]) -> str:
        return pii_value(obj.phone, kind="phone", user=_viewer(context))

    @staticmethod
    def resolve_phone_national(obj: Lead, context: dict[str, Any]) -> str:
        return pii_value(obj.phone_display, kind="phone", user=_viewer(context))

    @staticmethod
    def resolve_email(obj: Lead, context: dict[str, Any]) -> str:
        return pii_value(obj.email, kind="email", user=_viewer(context))

    @staticmethod
    def resolve_custom(obj: Lead, context: dict[str, Any]) -> dict[str, Any]:
        return _custom_out(obj, "lead", context)

    @staticmethod
    def resolve_tags(obj: Lead) -> list[str]:
        return _tag_names(obj)

    @staticmethod
    def resolve_converted_contact_id(obj: Lead) -> int | None:
        try:
            return obj.converted_contact.pk
        except Contact.DoesNotExist:
            return None


class LeadIn(InputSchema):
    surname: str = ""
    given_name: str = ""
    company_name: str = ""
    phone: str = ""
    email: str = ""
    source: str = ""
    status: str = Lead.Status.NEW
    notes: str = ""
    custom: dict[str, Any] = Field(default_factory=dict, description=CUSTOM_IN_DOC)
    tags: list[str] = Field(default_factory=list, description=TAGS_IN_DOC)
    force: bool = False  # create even when it probably exists already


class LeadPatch(InputSchema):
    surname: str | None = None
    given_name: str | None = None
    company_name: str | None = None
    phone: str | None = None
    email: str | None = None
    source: str | None = None
    status: str | None = None
    notes: str | None = None
    custom: dict[str, Any] | None = Field(default=None, description=CUSTOM_IN_DOC)
    tags: list[str] | None = Field(default=None, description=TAGS_IN_DOC)


class LeadConvertIn(InputSchema):
    account_id: int | None = None


class ConversionOut(Schema):
    lead: LeadOut
    contact: ContactOut
    account: AccountOut | None


class DuplicateOut(Schema):
    type: str
    id: int | None
    name: str
    url: str
    owner: str
    visible: bool
    strong: bool
    score: float
    reasons: list[str]
    codes: list[str]

    @staticmethod
    def resolve_id(obj: DuplicateMatch) -> int | None:
        return obj.pk if obj.visible else None


class DuplicatesOut(Schema):
    matches: list[DuplicateOut]


class DuplicateErrorOut(Schema):
    error: dict[str, Any]
    matches: list[DuplicateOut]


def _duplicates(request: AuthedRequest, record_type: str, data: dict[str, Any]) -> list[DuplicateMatch]:
    values = dict(data)
    if record_type == "contact":
        values["accounts"] = [link["account_id"] for link in values.get("accounts") or []]
    return likely_duplicates(record_type=record_type, values=values, user=request.user)


def _refuse_duplicates(request: AuthedRequest, record_type: str, data: dict[str, Any]) -> Any:
    """A 409 with the likely matches when the new record probably exists, unless the body says `force`."""
    if data.pop("force", False):
        return None
    matches = _duplicates(request, record_type, data)
    if not any(m.strong for m in matches):
        return None
    message = _("This probably exists already; send “force”: true to create it anyway.")
    return Status(409, {**error_body("duplicate", message), "matches": matches})


class SearchFilters(Schema):
    q: str = ""


class ListFilters(Schema):
    """Documented here: `q` and `sort`. Every filter of the list's page works too (`owner=me`, `team=3`,
    `stage=customer`, `created_from=2026-01-01`, `has_email=yes` …); an unknown or bad one is a 422 naming it."""

    q: str = ""
    sort: str = Field("", description="A column key, `-` first for descending: name, created, updated, owner …")


class SearchHitOut(Schema):
    type: str
    id: int
    name: str
    detail: str
    url: str


# --- duplicate checks (before the /{id} routes, which would take the path) ---------------------


@router.post("/accounts/duplicates-check", response=DuplicatesOut)
def account_duplicates_check(request: AuthedRequest, body: AccountIn) -> Any:
    require_perm(request, "customers.add_account")
    return {"matches": _duplicates(request, "account", body.dict())}


@router.post("/contacts/duplicates-check", response=DuplicatesOut)
def contact_duplicates_check(request: AuthedRequest, body: ContactIn) -> Any:
    require_perm(request, "customers.add_contact")
    return {"matches": _duplicates(request, "contact", body.dict())}


@router.post("/leads/duplicates-check", response=DuplicatesOut)
def lead_duplicates_check(request: AuthedRequest, body: LeadIn) -> Any:
    require_perm(request, "customers.add_lead")
    return {"matches": _duplicates(request, "lead", body.dict())}


# --- accounts ---------------------------------------------------------------------------------


LIST_DOC = (
    "Filter on custom fields with `cf_<key>=value` (one choice for multi-choice fields) and, for number, "
    "money and date fields, `cf_<key>__gte=` / `cf_<key>__lte=`."
)


@router.get("/accounts", response=list[AccountOut], description=LIST_DOC)
@paginate(PageNumbers)
def accounts_list(request: AuthedRequest, filters: Query[ListFilters]) -> Any:
    require_perm(request, "customers.view_account")
    return list_endpoint_rows(request, lists.ACCOUNTS)


@router.post("/accounts/bulk", response=Count)
def accounts_bulk(request: AuthedRequest, body: ListBulkIn) -> Any:
    return list_endpoint_bulk(request, lists.ACCOUNTS, body)


@router.post("/accounts/export", response={202: JobOut})
def accounts_export(request: AuthedRequest, body: ListExportIn) -> Any:
    return list_endpoint_export(request, lists.ACCOUNTS, body)


def _found_or_merged(request: AuthedRequest, rows: Any, pk: int, record_type: str) -> Any:
    """The record, or (when it was merged into another) a 301 to the survivor's API path."""
    try:
        return get_object_or_404(rows, pk=pk)
    except Http404:
        url = selectors.merged_record_url(user=request.user, record_type=record_type, pk=pk, api=True)
        if url is None:
            raise
        return HttpResponsePermanentRedirect(url)


@router.get("/accounts/{account_id}", response=AccountOut)
def account_detail(request: AuthedRequest, account_id: int) -> Any:
    require_perm(request, "customers.view_account")
    return _found_or_merged(request, selectors.accounts_visible_to(request.user), account_id, "account")


@router.post("/accounts", response={201: AccountOut, 409: DuplicateErrorOut})
def account_create(request: AuthedRequest, body: AccountIn) -> Any:
    require_perm(request, "customers.add_account")
    data = body.dict()
    refused = _refuse_duplicates(request, "account", data)
    if refused is not None:
        return refused
    return Status(201, services.account_create(actor=request.user, **data))


@router.patch("/accounts/{account_id}", response=AccountOut)
def account_update(request: AuthedRequest, account_id: int, body: AccountPatch) -> Any:
    require_perm(request, "customers.change_account")
    account = get_object_or_404(selectors.accounts_visible_to(request.user, "change"), pk=account_id)
    return services.account_update(account=account, actor=request.user, **body.dict(exclude_unset=True))


@router.delete("/accounts/{account_id}", response={204: None})
def account_archive(request: AuthedRequest, account_id: int) -> Any:
    require_perm(request, "customers.delete_account")
    account = get_object_or_404(selectors.accounts_visible_to(request.user, "delete"), pk=account_id)
    services.account_archive(account=account, actor=request.user)
    return Status(204, None)


# --- contacts ---------------------------------------------------------------------------------


def _links(request: AuthedRequest, links: list[dict[str, Any]] | None) -> list[tuple[Account, str]] | None:
    """The accounts a contact is linked to, each one the user may see, or a named error."""
    if links is None:
        return None
    ids = [link["account_id"] for link in links]
    accounts = selectors.accounts_visible_to(request.user).in_bulk(ids)
    if len(accounts) != len(set(ids)):
        raise ValidationError({"accounts": _("Unknown account.")})
    return [(accounts[link["account_id"]], link["role"]) for link in links]


@router.get("/contacts", response=list[ContactOut], description=LIST_DOC)
@paginate(PageNumbers, on_page=log_contact_pii)
def contacts_list(request: AuthedRequest, filters: Query[ListFilters]) -> Any:
    require_perm(request, "customers.view_contact")
    return list_endpoint_rows(request, lists.CONTACTS)


@router.post("/contacts/bulk", response=Count)
def contacts_bulk(request: AuthedRequest, body: ListBulkIn) -> Any:
    return list_endpoint_bulk(request, lists.CONTACTS, body)


@router.post("/contacts/export", response={202: JobOut})
def contacts_export(request: AuthedRequest, body: ListExportIn) -> Any:
    return list_endpoint_export(request, lists.CONTACTS, body)


@router.get("/contacts/{contact_id}", response=ContactOut)
def contact_detail(request: AuthedRequest, contact_id: int) -> Any:
    require_perm(request, "customers.view_contact")
    contact = _found_or_merged(request, selectors.contacts_visible_to(request.user), contact_id, "contact")
    if isinstance(contact, HttpResponsePermanentRedirect):
        return contact
    log_contact_pii(request, [contact])
    return contact


@router.post("/contacts", response={201: ContactOut, 409: DuplicateErrorOut})
def contact_create(request: AuthedRequest, body: ContactIn) -> Any:
    require_perm(request, "customers.add_contact")
    data = body.dict()
    refused = _refuse_duplicates(request, "contact", data)
    if refused is not None:
        return refused
    accounts = _links(request, data.pop("accounts"))
    contact = services.contact_create(actor=request.user, accounts=accounts, **data)
    log_contact_pii(request, [contact])
    return Status(201, selectors.contacts_visible_to(request.user).get(pk=contact.pk))


@router.patch("/contacts/{contact_id}", response=ContactOut)
def contact_update(request: AuthedRequest, contact_id: int, body: ContactPatch) -> Any:
    require_perm(request, "customers.change_contact")
    contact = get_object_or_404(selectors.contacts_visible_to(request.user, "change"), pk=contact_id)
    data = body.dict(exclude_unset=True)
    accounts = _links(request, data.pop("accounts", None))
    services.contact_update(contact=contact, actor=request.user, accounts=accounts, **data)
    log_contact_pii(request, [contact])
    return selectors.contacts_visible_to(request.user).get(pk=contact.pk)


@router.delete("/contacts/{contact_id}", response={204: None})
def contact_archive(request: AuthedRequest, contact_id: int) -> Any:
    require_perm(request, "customers.delete_contact")
    contact = get_object_or_404(selectors.contacts_visible_to(request.user, "delete"), pk=contact_id)
    services.contact_archive(contact=contact, actor=request.user)
    return Status(204, None)


# --- leads ------------------------------------------------------------------------------------


@router.get("/leads", response=list[LeadOut], description=LIST_DOC)
@paginate(PageNumbers, on_page=log_lead_pii)
def leads_list(request: AuthedRequest, filters: Query[ListFilters]) -> Any:
    require_perm(request, "customers.view_lead")
    return list_endpoint_rows(request, lists.LEADS)


@router.post("/leads/bulk", response=Count)
def leads_bulk(request: AuthedRequest, body: ListBulkIn) -> Any:
    return list_endpoint_bulk(request, lists.LEADS, body)


@router.post("/leads/export", response={202: JobOut})
def leads_export(request: AuthedRequest, body: ListExportIn) -> Any:
    return list_endpoint_export(request, lists.LEADS, body)


@router.get("/leads/{lead_id}", response=LeadOut)
def lead_detail(request: AuthedRequest, lead_id: int) -> Any:
    require_perm(request, "customers.view_lead")
    lead = _found_or_merged(request, selectors.leads_visible_to(request.user), lead_id, "lead")
    if isinstance(lead, HttpResponsePermanentRedirect):
        return lead
    log_lead_pii(request, [lead])
    return lead


@router.post("/leads", response={201: LeadOut, 409: DuplicateErrorOut})
def lead_create(request: AuthedRequest, body: LeadIn) -> Any:
    require_perm(request, "customers.add_lead")
    data = body.dict()
    refused = _refuse_duplicates(request, "lead", data)
    if refused is not None:
        return refused
    lead = services.lead_create(actor=request.user, **data)
    log_lead_pii(request, [lead])
    return Status(201, lead)


@router.patch("/leads/{lead_id}", response=LeadOut)
def lead_update(request: AuthedRequest, lead_id: int, body: LeadPatch) -> Any:
    require_perm(request, "customers.change_lead")
    lead = get_object_or_404(selectors.leads_visible_to(request.user, "change"), pk=lead_id)
    lead = services.lead_update(lead=lead, actor=request.user, **body.dict(exclude_unset=True))
    log_lead_pii(request, [lead])
    return lead


@router.delete("/leads/{lead_id}", response={204: None})
def lead_archive(request: AuthedRequest, lead_id: int) -> Any:
    require_perm(request, "customers.delete_lead")
    lead = get_object_or_404(selectors.leads_visible_to(request.user, "delete"), pk=lead_id)
    services.lead_archive(lead=lead, actor=request.user)
    return Status(204, None)


@router.post("/leads/{lead_id}/convert", response=ConversionOut)
def lead_convert(request: AuthedRequest, lead_id: int, body: LeadConvertIn) -> Any:
    require_perm(request, "customers.change_lead", "customers.add_contact", "customers.add_account")
    lead = get_object_or_404(selectors.leads_visible_to(request.user, "change"), pk=lead_id)
    account = None
    if body.account_id is not None:
        account = selectors.accounts_visible_to(request.user, "change").filter(pk=body.account_id).first()
        if account is None:
            raise ValidationError({"account_id": _("Unknown account.")})
    contact, account = services.lead_convert(lead=lead, actor=request.user, account=account)
    contact = Contact.objects.prefetch_related("links__account").get(pk=contact.pk)
    log_lead_pii(request, [lead])
    log_contact_pii(request, [contact])
    return {"lead": lead, "contact": contact, "account": account}


# --- search -----------------------------------------------------------------------------------


@router.get("/search", response=list[SearchHitOut])
@paginate(PageNumbers)
def customers_search(request: AuthedRequest, filters: Query[SearchFilters]) -> Any:
    if not any(request.user.has_perm(f"customers.view_{m}") for m in ("contact", "account", "lead")):
        raise PermissionDenied
    return selectors.customers_search(user=request.user, q=filters.q)


# --- interactions, tasks and the timeline -----------------------------------------------------


class InteractionOut(Schema):
    id: int
    kind: str
    channel: str
    direction: str
    occurred_at: datetime
    duration: int | None
    subject: str
    body: str
    outcome: str
    done_by_id: int | None
    contact_id: int | None
    account_id: int | None
    lead_id: int | None
    due_at: datetime | None
    completed_at: datetime | None
    assignee_id: int | None
    reminded_at: datetime | None
    owner_id: int | None
    team_id: int | None
    created_at: datetime


class InteractionIn(InputSchema):
    kind: str
    channel: str = ""
    direction: str = "outbound"
    occurred_at: datetime | None = None
    duration: int | None = None
    subject: str = ""
    body: str = ""
    outcome: str = ""
    due_at: datetime | None = None
    assignee_id: int | None = None


class TaskFilters(Schema):
    mine: bool = True
    open: bool = True


class TimelineItemOut(Schema):
    type: str
    at: datetime
    interaction: InteractionOut | None
    event: EventOut | None


def _interaction_log(request: AuthedRequest, about: Any, body: InteractionIn) -> Any:
    data = body.dict()
    assignee_id = data.pop("assignee_id")
    if data["occurred_at"] is None:
        data.pop("occurred_at")
    if assignee_id is not None:
        data["assignee"] = users_visible_to(request.user).filter(pk=assignee_id, is_active=True).first()
        if data["assignee"] is None:
            raise ValidationError({"assignee_id": _("Unknown user.")})
    return Status(201, services.interaction_log(actor=request.user, about=about, **data))


@router.get("/contacts/{contact_id}/interactions", response=list[InteractionOut])
@paginate(PageNumbers)
def contact_interactions(request: AuthedRequest, contact_id: int) -> Any:
    require_perm(request, "customers.view_contact", "customers.view_interaction")
    contact = get_object_or_404(selectors.contacts_visible_to(request.user), pk=contact_id)
    return selectors.record_interactions(record=contact, user=request.user)


@router.post("/contacts/{contact_id}/interactions", response={201: InteractionOut})
def contact_interaction_log(request: AuthedRequest, contact_id: int, body: InteractionIn) -> Any:
    require_perm(request, "customers.view_contact", "customers.add_interaction")
    contact = get_object_or_404(selectors.contacts_visible_to(request.user), pk=contact_id)
    return _interaction_log(request, contact, body)


@router.get("/contacts/{contact_id}/timeline", response=list[TimelineItemOut])
@paginate(PageNumbers)
def contact_timeline(request: AuthedRequest, contact_id: int) -> Any:
    require_perm(request, "customers.view_contact")
    contact = get_object_or_404(selectors.contacts_visible_to(request.user), pk=contact_id)
    return selectors.customer_timeline(record=contact, user=request.user)


@router.get("/accounts/{account_id}/interactions", response=list[InteractionOut])
@paginate(PageNumbers)
def account_interactions(request: AuthedRequest, account_id: int) -> Any:
    require_perm(request, "customers.view_account", "customers.view_interaction")
    account = get_object_or_404(selectors.accounts_visible_to(request.user), pk=account_id)
    return selectors.record_interactions(record=account, user=request.user)


@router.post("/accounts/{account_id}/interactions", response={201: InteractionOut})
def account_interaction_log(request: AuthedRequest, account_id: int, body: InteractionIn) -> Any:
    require_perm(request, "customers.view_account", "customers.add_interaction")
    account = get_object_or_404(selectors.accounts_visible_to(request.user), pk=account_id)
    return _interaction_log(request, account, body)


@router.get("/leads/{lead_id}/interactions", response=list[InteractionOut])
@paginate(PageNumbers)
def lead_interactions(request: AuthedRequest, lead_id: int) -> Any:
    require_perm(request, "customers.view_lead", "customers.view_interaction")
    lead = get_object_or_404(selectors.leads_visible_to(request.user), pk=lead_id)
    return selectors.record_interactions(record=lead, user=request.user)


@router.post("/leads/{lead_id}/interactions", response={201: InteractionOut})
def lead_interaction_log(request: AuthedRequest, lead_id: int, body: InteractionIn) -> Any:
    require_perm(request, "customers.view_lead", "customers.add_interaction")
    lead = get_object_or_404(selectors.leads_visible_to(request.user), pk=lead_id)
    return _interaction_log(request, lead, body)


@router.get("/tasks", response=list[InteractionOut])
@paginate(PageNumbers)
def tasks_list(request: AuthedRequest, filters: Query[TaskFilters]) -> Any:
    require_perm(request, "customers.view_interaction")
    return selectors.tasks_for(user=request.user, mine=filters.mine, open_only=filters.open)


@router.post("/tasks/{task_id}/complete", response=InteractionOut)
def task_complete(request: AuthedRequest, task_id: int) -> Any:
    require_perm(request, "customers.change_interaction")
    tasks = selectors.interactions_visible_to(request.user, "change").filter(kind=Interaction.Kind.TASK)
    task = get_object_or_404(tasks, pk=task_id)
    return services.task_complete(task=task, actor=request.user)


# --- data quality -----------------------------------------------------------------------------


class QualityFilters(Schema):
    type: str = "contact"
    owner_id: int | None = None
    team_id: int | None = None
    sort: str = "average"


class QualityBucketOut(Schema):
    score_from: int
    score_to: int
    count: int


class QualityGroupOut(Schema):
    id: int | None
    name: str
    count: int
    average: float


class QualityFieldOut(Schema):
    key: str
    label: str
    weight: int
    filled: int
    rate: float


class QualityRecordOut(Schema):
    id: int
    name: str
    score: int
    missing: list[str]
    missing_keys: list[str]
    url: str
    edit_url: str


class DataQualityOut(Schema):
    record_type: str
    count: int
    average: float
    distribution: list[QualityBucketOut]
    by_owner: list[QualityGroupOut]
    by_team: list[QualityGroupOut]
    fields: list[QualityFieldOut]
    worst: list[QualityRecordOut]


class QualityWeightsOut(Schema):
    record_type: str
    weights: dict[str, int]
    labels: dict[str, str]


class QualityWeightsIn(InputSchema):
    weights: dict[str, Any]


class QualityWeightsSaved(QualityWeightsOut):
    job_id: int | None


class QualityRecomputeIn(InputSchema):
    record_types: list[str] = []


class QualityJobOut(Schema):
    id: int
    kind: str
    state: str


def _record_type(value: str, field: str = "type") -> str:
    if value not in RecordType.values:
        raise ValidationError({field: _("Unknown record type: %(type)s.") % {"type": value}})
    return value


def _weights_out(record_type: str, weights: dict[str, int]) -> dict[str, Any]:
    labels = {key: str(check.label) for key, check in quality.CHECKS[record_type].items()}
    return {"record_type": record_type, "weights": weights, "labels": labels}


@router.get("/data-quality", response=DataQualityOut, tags=["data quality"])
def data_quality(request: AuthedRequest, filters: Query[QualityFilters]) -> Any:
    """Completeness figures of one record type in your scope, with the worst records first (up to 50)."""
    require_perm(request, "customers.view_data_quality")
    record_type = _record_type(filters.type)
    scope = {"owner_id": filters.owner_id, "team_id": filters.team_id}
    report = selectors.quality_report(user=request.user, record_type=record_type, sort=filters.sort, **scope)
    worst = selectors.quality_worst(user=request.user, record_type=record_type, **scope)[: selectors.WORST_LIMIT]
    return {
        **{k: getattr(report, k) for k in ("record_type", "count", "average", "by_owner", "by_team", "fields")},
        "distribution": [{"score_from": a, "score_to": b, "count": n} for a, b, n in report.distribution],
        "worst": selectors.quality_records(worst, record_type=record_type),
    }


@router.get("/data-quality/weights", response=list[QualityWeightsOut], tags=["data quality"])
def quality_weights(request: AuthedRequest) -> Any:
    """How much each field counts towards completeness, per record type."""
    require_perm(request, "customers.view_qualityweights")
    return [_weights_out(t, w) for t, w in quality.all_weights().items()]


@router.put("/data-quality/weights/{record_type}", response=QualityWeightsSaved, tags=["data quality"])
def quality_weights_set(request: AuthedRequest, record_type: str, body: QualityWeightsIn) -> Any:
    """Change weights (fields left out keep theirs); a change queues a recompute job of that record type."""
    require_perm(request, "customers.change_qualityweights")
    weights, job = services.quality_weights_set(
        record_type=_record_type(record_type, "record_type"), weights=body.weights, actor=request.user
    )
    return {**_weights_out(record_type, weights), "job_id": job.pk if job else None}


@router.post("/data-quality/recompute", response={202: QualityJobOut}, tags=["data quality"])
def quality_recompute(request: AuthedRequest, body: QualityRecomputeIn) -> Any:
    """Queue a recompute of the completeness scores (every record type unless named); follow it at /jobs/{id}."""
    require_perm(request, "customers.change_qualityweights")
    return Status(202, services.quality_recompute_start(actor=request.user, record_types=body.record_types or None))
