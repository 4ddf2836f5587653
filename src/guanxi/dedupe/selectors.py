"""Reads of the dedupe app, always scoped to the user: the review queue, a cluster's comparison, merges."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext as _

from guanxi.core.customfields import active_fields, custom_display
from guanxi.core.pii import pii_value

from .features import reason_label
from .models import ClusterMember, DuplicateCluster, Merge, MergeRedirect, record_key
from .records import CHOOSABLE, CUSTOM_PREFIX, MODELS, Record, is_empty, merge_defaults, value_of

PII_KINDS = {"phone": "phone", "email": "email", "street": "text"}


def _hidden_members(user: Any) -> Q:
    """Members the user may not see (one such member hides the whole cluster from them)."""
    hidden = Q()
    for kind, model in MODELS.items():
        visible = model.objects.visible_to(user).values("pk")
        hidden |= Q(record_type=kind) & ~Q(record_id__in=visible)
    return hidden


def clusters_visible_to(
    user: Any, *, status: str | None = None, record_type: str | None = None
) -> QuerySet[DuplicateCluster]:
    """Clusters the user may review, best first: with the permission, and (below administrator) only clusters
    whose every record the user sees. `status` and `record_type` (any member of that type) narrow them."""
    if not user.is_authenticated or not user.has_perm("dedupe.view_duplicatecluster"):
        return DuplicateCluster.objects.none()
    rows = DuplicateCluster.objects.all()
    if not user.sees_everything:
        hidden = ClusterMember.objects.filter(_hidden_members(user), cluster=OuterRef("pk"))
        rows = rows.filter(~Exists(hidden))
    if status:
        rows = rows.filter(status=status)
    if record_type in MODELS:
        rows = rows.filter(Exists(ClusterMember.objects.filter(cluster=OuterRef("pk"), record_type=record_type)))
    return rows.prefetch_related("members").order_by("-score", "-id")


@dataclass
class MemberView:
    """One record of a cluster as the queue and the comparison show it."""

    key: str
    record_type: str
    record_id: int
    record: Record | None
    merged_into: str = ""

    @property
    def label(self) -> str:
        return str(self.record) if self.record is not None else self.key

    @property
    def type_label(self) -> str:
        return str(MODELS[self.record_type]._meta.verbose_name)

    @property
    def url(self) -> str:
        return self.record.get_absolute_url() if self.record is not None else ""

    @property
    def is_live(self) -> bool:
        return self.record is not None and self.record.archived_at is None and not self.merged_into


def _records(refs: Iterable[tuple[str, int]]) -> dict[tuple[str, int], Record]:
    by_type: dict[str, set[int]] = defaultdict(set)
    for kind, pk in refs:
        by_type[kind].add(pk)
    found: dict[tuple[str, int], Record] = {}
    for kind, ids in by_type.items():
        rows = MODELS[kind]._base_manager.filter(pk__in=ids).select_related("owner", "team").prefetch_related("tags")
        found.update({(kind, r.pk): r for r in rows})
    return found


def cluster_members(clusters: list[DuplicateCluster]) -> dict[int, list[MemberView]]:
    """The members of these clusters with their records, in a few queries whatever the number of clusters."""
    refs = [(m.record_type, m.record_id) for c in clusters for m in c.members.all()]
    records = _records(refs)
    redirects = {
        (r.record_type, r.old_id): record_key(r.survivor_type, r.survivor_id)
        for r in MergeRedirect.objects.filter(
            Q(*[Q(record_type=t, old_id=i) for t, i in refs], _connector=Q.OR) if refs else Q(pk__in=[])
        )
    }
    return {
        c.pk: [
            MemberView(
                record_key(m.record_type, m.record_id),
                m.record_type,
                m.record_id,
                records.get((m.record_type, m.record_id)),
                redirects.get((m.record_type, m.record_id), ""),
            )
            for m in c.members.all()
        ]
        for c in clusters
    }


@dataclass
class ReasonField:
    name: str
    level: str
    weight: float
    label: str

    @property
    def agreed(self) -> bool:
        return self.weight > 0


@dataclass
class Reason:
    """Why two records look like one customer: which fields agreed, and how strongly."""

    a: str
    b: str
    a_label: str
    b_label: str
    probability: float
    fields: list[ReasonField]


def cluster_reasons(cluster: DuplicateCluster, members: list[MemberView]) -> list[Reason]:
    """The cluster's stored reasons, strongest evidence first within each pair."""
    labels = {m.key: m.label for m in members}
    out = []
    for raw in cluster.reasons or []:
        if not isinstance(raw, dict):
            continue
        fields = []
        for name, info in (raw.get("fields") or {}).items():
            info = info if isinstance(info, dict) else {}
            try:
                weight = float(info.get("weight") or 0)
            except (TypeError, ValueError):
                weight = 0.0
            level = str(info.get("level", ""))
            label = str(info.get("label") or reason_label(str(name), level))  # the engine stores codes only
            fields.append(ReasonField(str(name), level, weight, label))
        fields.sort(key=lambda f: -f.weight)
        a, b = str(raw.get("a", "")), str(raw.get("b", ""))
        try:
            probability = float(raw.get("probability") or 0)
        except (TypeError, ValueError):
            probability = 0.0
        out.append(Reason(a, b, labels.get(a, a), labels.get(b, b), probability, fields))
    return sorted(out, key=lambda r: -r.probability)


@dataclass
class Cell:
    key: str  # the member's key
    shown: str
    present: bool  # the member's type has this field
    empty: bool


@dataclass
class FieldRow:
    """One field of the comparison: each member's value, whether they differ, and the default choice."""

    name: str
    label: str
    cells: list[Cell]
    default: str
    differs: bool = field(default=False)


def _shown(record: Record, name: str, user: Any) -> str:
    value = value_of(record, name)
    if is_empty(value):
        return ""
    if name in ("owner", "team"):
        related = getattr(record, name)
        return str(related) if related else ""
    model_field: Any = record._meta.get_field(name)
    if model_field.choices:
        return str(dict(model_field.flatchoices).get(value, value))
    if name == "phone":
        from guanxi.customers.phones import phone_display

        value = phone_display(value)
    if name in PII_KINDS:
        return pii_value(str(value), kind=PII_KINDS[name], user=user)
    return str(value)


def _custom_shown(record: Record, record_type: str, key: str, user: Any) -> str:
    values = custom_display(record_type, {key: (record.custom or {}).get(key)})
    for value in values:
        if value.key == key:
            return pii_value(value.text, kind=value.pii, user=user) if value.pii else value.text
    return ""


@dataclass
class Comparison:
    members: list[MemberView]
    survivor: str
    rows: list[FieldRow]
    reasons: list[Reason]


def cluster_comparison(cluster: DuplicateCluster, *, user: Any) -> Comparison:
    """Side by side: the fields in rows, the live members in columns, differing values flagged, and the
    survivor and per-field choices a person starts from (most complete, then most recent)."""
    members = cluster_members([cluster])[cluster.pk]
    live = [m for m in members if m.is_live]
    records = [m.record for m in live if m.record is not None]
    reasons = cluster_reasons(cluster, members)
    if len(records) < 1:
        return Comparison(members, "", [], reasons)
    survivor, choices = merge_defaults(records)
    kind = next(m.record_type for m in live if m.record is survivor)
    rows: list[FieldRow] = []
    names = list(CHOOSABLE[kind]) + [CUSTOM_PREFIX + cf.key for cf in active_fields(kind)]
    custom_labels = {CUSTOM_PREFIX + cf.key: cf.display_label for cf in active_fields(kind)}
    for name in names:
        cells = []
        for member in live:
            assert member.record is not None
            present = name.startswith(CUSTOM_PREFIX) or name in CHOOSABLE[member.record_type]
            if not present:
                cells.append(Cell(member.key, "", False, True))
                continue
            if name.startswith(CUSTOM_PREFIX):
                shown = _custom_shown(member.record, member.record_type, name[len(CUSTOM_PREFIX) :], user)
            else:
                shown = _shown(member.record, name, user)
            cells.append(Cell(member.key, shown, True, shown == ""))
        if all(c.empty for c in cells):
            continue
        if name in custom_labels:
            label = custom_labels[name]
        else:
            model_field: Any = MODELS[kind]._meta.get_field(name)
            label = str(model_field.verbose_name)
        values = {c.shown for c in cells if c.present}
        rows.append(FieldRow(name, label, cells, choices.get(name, record_key(kind, survivor.pk)), len(values) > 1))
    return Comparison(members, record_key(kind, survivor.pk), rows, reasons)


def merges_visible_to(user: Any) -> QuerySet[Merge]:
    """Merges the user may see, newest first: administrators all; reviewers those whose survivor they see."""
    if not user.is_authenticated or not user.has_perm("dedupe.view_merge"):
        return Merge.objects.none()
    rows = Merge.objects.select_related("by", "undone_by", "cluster").order_by("-id")
    if user.sees_everything:
        return rows
    scope = Q()
    for kind, model in MODELS.items():
        scope |= Q(survivor_type=kind, survivor_id__in=model.objects.visible_to(user).values("pk"))
    return rows.filter(scope)


def merge_records(merges: list[Merge]) -> dict[str, Record]:
    """The survivor and merged records of these merges, by key, in a few queries."""
    refs = []
    for merge in merges:
        refs.append((merge.survivor_type, merge.survivor_id))
        refs += [(m["type"], m["id"]) for m in merge.merged]
    return {record_key(*ref): record for ref, record in _records(refs).items()}


def merged_into(*, record_type: str, record_id: int) -> list[tuple[str, int]]:
    """The records merged into this one (and not un-merged): their history belongs to its timeline."""
    return list(
        MergeRedirect.objects.filter(survivor_type=record_type, survivor_id=record_id).values_list(
            "record_type", "old_id"
        )
    )


def merge_redirect(*, record_type: str, old_id: int) -> MergeRedirect | None:
    """Where a merged record's id now leads, if it was merged."""
    return MergeRedirect.objects.filter(record_type=record_type, old_id=old_id).first()


def status_choices() -> list[tuple[str, str]]:
    return [("", _("All")), *((str(v), str(label)) for v, label in DuplicateCluster.Status.choices)]
