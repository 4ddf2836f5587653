"""The deal list: its columns, filters and default sort (core/listviews.py), like the customer lists."""

from __future__ import annotations

from functools import partial
from typing import Any

from django import forms
from django.db.models import BooleanField, ExpressionWrapper, QuerySet
from django.utils.translation import gettext_lazy as _

from guanxi.core import customfields
from guanxi.core.listviews import (
    Column,
    Filter,
    ListSpec,
    choice_filter,
    column_source,
    date_range_filter,
    filter_source,
    list_spec,
    owner_filter,
    tag_filter,
    team_filter,
)
from guanxi.customers.models import Lead

from . import selectors
from .models import DealStatus, Pipeline, Stage


def _rows(viewer: Any, q: str, archived: bool) -> QuerySet:
    rows = (
        selectors.deals_visible_to(viewer)
        .select_related("pipeline", "stage", "account", "currency", "owner", "team", "lost_reason")
        .prefetch_related("tags")
        .annotate(is_stale=ExpressionWrapper(selectors.stale_q(), output_field=BooleanField()))
    )
    if q:
        rows = rows.filter(name__icontains=q.strip())
    return rows


def _stale_filter() -> Filter:
    choices = [("", "—"), ("yes", _("Yes")), ("no", _("No"))]

    def apply(rows: QuerySet, values: dict[str, Any], viewer: Any) -> QuerySet:
        stale = selectors.stale_q()
        return rows.filter(stale) if values["stale"] == "yes" else rows.exclude(stale)

    return Filter(
        "stale",
        _("No recent activity"),
        fields=lambda viewer: {
            "stale": forms.ChoiceField(label=_("No recent activity"), required=False, choices=choices)
        },
        apply=apply,
    )


def _pipelines() -> list[tuple[str, str]]:
    return [(str(p.pk), p.name) for p in Pipeline.objects.order_by("position", "id")]


def _stages() -> list[tuple[str, str]]:
    return [
        (str(s.pk), f"{s.pipeline.name} · {s.name}")
        for s in Stage.objects.select_related("pipeline").order_by("pipeline__position", "pipeline_id", "position")
    ]


def _money(value: Any) -> str:
    return "" if value is None else f"{value:,.2f}"


DEALS = list_spec(
    ListSpec(
        name="deals",
        label=_("Deals"),
        permission="sales.view_deal",
        url_name="deal-list",
        rows=_rows,
        columns=[
            Column(
                "name", _("Deal"), lambda d: d.name, sort="name", template="sales/cells/deal_name.html", default=True
            ),
            Column(
                "account",
                _("Account"),
                lambda d: d.account.name if d.account else "",
                sort="account__name",
                default=True,
            ),
            Column("pipeline", _("Pipeline"), lambda d: d.pipeline.name, sort="pipeline__position"),
            Column("stage", _("Stage"), lambda d: d.stage.name, sort="stage__position", default=True),
            Column("status", _("Status"), lambda d: d.get_status_display(), sort="status"),
            Column("amount", _("Amount"), lambda d: _money(d.amount), sort="amount", default=True),
            Column("currency", _("Currency"), lambda d: d.currency.code, sort="currency__code", default=True),
            Column("amount_cny", _("Amount (CNY)"), lambda d: _money(d.amount_cny), sort="amount_cny"),
            Column(
                "expected_close", _("Expected close"), lambda d: d.expected_close, sort="expected_close", default=True
            ),
            Column("source", _("Source"), lambda d: d.get_source_display(), sort="source"),
            Column("lost_reason", _("Lost reason"), lambda d: d.lost_reason.name if d.lost_reason else ""),
            Column("tags", _("Tags"), lambda d: ", ".join(t.name for t in d.tags.all())),
            Column("last_activity", _("Last activity"), lambda d: d.last_activity_at, sort="last_activity_at"),
            Column(
                "owner", _("Owner"), lambda d: str(d.owner) if d.owner else "", sort="owner__full_name", default=True
            ),
            Column("team", _("Team"), lambda d: str(d.team) if d.team else "", sort="team__name"),
            Column("created", _("Created"), lambda d: d.created_at, sort="created_at"),
            Column("updated", _("Updated"), lambda d: d.updated_at, sort="updated_at"),
        ],
        filters=[
            choice_filter("pipeline", _("Pipeline"), "pipeline_id", _pipelines),
            choice_filter("stage", _("Stage"), "stage_id", _stages),
            choice_filter("status", _("Status"), "status", lambda: DealStatus.choices),
            choice_filter("source", _("Source"), "source", lambda: Lead.Source.choices),
            _stale_filter(),
            date_range_filter("expected_close", _("Expected close"), "expected_close"),
            tag_filter(_("Tag")),
            owner_filter(_("Owner")),
            team_filter(_("Team")),
            date_range_filter("created", _("Created"), "created_at"),
        ],
        default_sort="-created",
    )
)

# the administrator's deal custom fields: a column and a filter each (read on every request, no restart)
column_source("deals", partial(customfields.list_columns, "deal"))
filter_source("deals", partial(customfields.list_filters, "deal"))
