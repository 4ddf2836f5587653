"""The contact, account and lead lists: their columns, filters, default sort and bulk actions (core/listviews.py).

The administrator's custom fields plug in with `column_source` / `filter_source` (read on every request).
"""

from __future__ import annotations

from functools import partial
from typing import Any

from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from guanxi.core import customfields
from guanxi.core.listviews import (
    BulkAction,
    Column,
    Filter,
    ListSpec,
    choice_filter,
    column_source,
    date_range_filter,
    filter_source,
    list_spec,
    owner_filter,
    presence_filter,
    tag_filter,
    team_filter,
    text_filter,
)

from . import selectors, services
from .models import Account, Contact, Lead, LifecycleStage

STAGE = "customers/cells/stage.html"


def _ownership_columns() -> list[Column]:
    return [
        Column("tags", _("Tags"), lambda r: ", ".join(t.name for t in r.tags.all())),
        Column("completeness", _("Completeness"), lambda r: r.completeness, sort="completeness"),
        Column("owner", _("Owner"), lambda r: str(r.owner) if r.owner else "", sort="owner__full_name"),
        Column("team", _("Team"), lambda r: str(r.team) if r.team else "", sort="team__name"),
        Column("created", _("Created"), lambda r: r.created_at, sort="created_at"),
        Column("updated", _("Updated"), lambda r: r.updated_at, sort="updated_at"),
    ]


def _common_filters() -> list[Filter]:
    return [
        tag_filter(_("Tag")),
        owner_filter(_("Owner")),
        team_filter(_("Team")),
        date_range_filter("created", _("Created"), "created_at"),
        date_range_filter("updated", _("Updated"), "updated_at"),
    ]


def _bulk(model: Any, app_model: str) -> list[BulkAction]:
    return [
        BulkAction(
            "reassign",
            _("Reassign"),
            f"customers.change_{app_model}",
            partial(services.customers_bulk_reassign, model=model),
            options=("owner", "team"),
        ),
        BulkAction(
            "archive",
            _("Archive"),
            f"customers.delete_{app_model}",
            partial(services.customers_bulk_archive, model=model),
        ),
        BulkAction(
            "unarchive",
            _("Unarchive"),
            f"customers.delete_{app_model}",
            partial(services.customers_bulk_unarchive, model=model),
            archived_rows=True,
        ),
    ]


def _stage_filter() -> Filter:
    return choice_filter("stage", _("Stage"), "lifecycle_stage", lambda: LifecycleStage.choices)


CONTACTS = list_spec(
    ListSpec(
        name="contacts",
        label=_("Contacts"),
        permission="customers.view_contact",
        url_name="contact-list",
        rows=lambda viewer, q, archived: selectors.contacts_search(user=viewer, q=q, archived=archived),
        search=lambda viewer, q, rows: selectors.contacts_search(user=viewer, q=q, rows=rows),
        columns=[
            Column(
                "name",
                _("Name"),
                lambda c: c.full_name,
                sort="full_name",
                template="customers/cells/contact_name.html",
                default=True,
            ),
            Column("phone", _("Phone"), lambda c: c.phone_display, pii="phone", pii_field="phone", default=True),
            Column("email", _("Email"), lambda c: c.email, pii="email", pii_field="email", default=True),
            Column(
                "accounts",
                _("Accounts"),
                lambda c: ", ".join(link.account.name for link in c.links.all()),
                template="customers/cells/accounts.html",
                default=True,
            ),
            Column(
                "stage",
                _("Stage"),
                lambda c: c.get_lifecycle_stage_display(),
                sort="lifecycle_stage",
                template=STAGE,
                default=True,
            ),
            Column("title", _("Job title"), lambda c: c.title, sort="title"),
            Column("province", _("Province"), lambda c: c.province, sort="province"),
            Column("city", _("City"), lambda c: c.city, sort="city"),
            Column("street", _("Street address"), lambda c: c.street, pii="text", pii_field="street"),
            *_ownership_columns(),
        ],
        filters=[
            _stage_filter(),
            presence_filter("has_phone", _("Has a phone number"), "phone"),
            presence_filter("has_email", _("Has an email address"), "email"),
            text_filter("province", _("Province"), "province"),
            text_filter("city", _("City"), "city"),
            *_common_filters(),
        ],
        default_sort="name",
        archive_permission="customers.delete_contact",
        bulk_actions=_bulk(Contact, "contact"),
    )
)

ACCOUNTS = list_spec(
    ListSpec(
        name="accounts",
        label=_("Accounts"),
        permission="customers.view_account",
        url_name="account-list",
        rows=lambda viewer, q, archived: selectors.accounts_search(user=viewer, q=q, archived=archived),
        search=lambda viewer, q, rows: selectors.accounts_search(user=viewer, q=q, rows=rows),
        columns=[
            Column(
                "name",
                _("Name"),
                lambda a: a.name,
                sort="name",
                template="customers/cells/record_name.html",
                default=True,
            ),
            Column(
                "registration_number",
                _("Registration number"),
                lambda a: a.registration_number,
                sort="registration_number",
                default=True,
            ),
            Column("industry", _("Industry"), lambda a: a.industry, sort="industry", default=True),
            Column("city", _("City"), lambda a: a.city, sort="city", default=True),
            Column("tier", _("Tier"), lambda a: a.get_tier_display(), sort="tier", default=True),
            Column(
                "stage",
                _("Stage"),
                lambda a: a.get_lifecycle_stage_display(),
                sort="lifecycle_stage",
                template=STAGE,
                default=True,
            ),
            Column("province", _("Province"), lambda a: a.province, sort="province"),
            Column("size", _("Size"), lambda a: a.get_size_display(), sort="size"),
            Column("website", _("Website"), lambda a: a.website),
            *_ownership_columns(),
        ],
        filters=[
            _stage_filter(),
            choice_filter("tier", _("Tier"), "tier", lambda: Account.Tier.choices),
            choice_filter("size", _("Size"), "size", lambda: Account.Size.choices),
            text_filter("industry", _("Industry"), "industry"),
            text_filter("province", _("Province"), "province"),
            text_filter("city", _("City"), "city"),
            *_common_filters(),
        ],
        default_sort="name",
        archive_permission="customers.delete_account",
        bulk_actions=_bulk(Account, "account"),
    )
)

LEADS = list_spec(
    ListSpec(
        name="leads",
        label=_("Leads"),
        permission="customers.view_lead",
        url_name="lead-list",
        rows=lambda viewer, q, archived: selectors.leads_search(user=viewer, q=q, archived=archived),
        search=lambda viewer, q, rows: selectors.leads_search(user=viewer, q=q, rows=rows),
        columns=[
            Column(
                "name",
                pgettext_lazy("list column", "Lead"),
                lambda lead: lead.full_name or lead.company_name,
                sort="full_name",
                template="customers/cells/lead_name.html",
                default=True,
            ),
            Column("company", _("Company"), lambda lead: lead.company_name, sort="company_name"),
            Column(
                "status",
                _("Status"),
                lambda lead: lead.get_status_display(),
                sort="status",
                template="customers/cells/badge.html",
                default=True,
            ),
            Column("phone", _("Phone"), lambda lead: lead.phone_display, pii="phone", pii_field="phone", default=True),
            Column("email", _("Email"), lambda lead: lead.email, pii="email", pii_field="email"),
            Column("source", _("Source"), lambda lead: lead.get_source_display(), sort="source", default=True),
            *_ownership_columns()[:4],
            Column("created", _("Created"), lambda r: r.created_at, sort="created_at", default=True),
            Column("updated", _("Updated"), lambda r: r.updated_at, sort="updated_at"),
        ],
        filters=[
            choice_filter("status", _("Status"), "status", lambda: Lead.Status.choices),
            choice_filter("source", _("Source"), "source", lambda: Lead.Source.choices),
            presence_filter("has_phone", _("Has a phone number"), "phone"),
            presence_filter("has_email", _("Has an email address"), "email"),
            *_common_filters(),
        ],
        default_sort="-created",
        archive_permission="customers.delete_lead",
        bulk_actions=_bulk(Lead, "lead"),
    )
)


for _list_name, _record_type in (("contacts", "contact"), ("accounts", "account"), ("leads", "lead")):
    column_source(_list_name, partial(customfields.list_columns, _record_type))
    filter_source(_list_name, partial(customfields.list_filters, _record_type))
