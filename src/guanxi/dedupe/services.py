"""Every write of the dedupe app: storing clusters, "not a duplicate", merging records and undoing a merge.

A merge loses nothing. Every row of every app that points at a merged record is found generically
(the model's reverse relations, hidden ones included, and its generic relations) and re-pointed to the
survivor; a link row that would then exist twice is dropped and remembered; tags are united. The one
`merged` event on the survivor holds the full before-state of every record and the list of everything
moved, dropped or added, so `merge_undo` can put it all back exactly.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import uuid
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from django.apps import apps
from django.contrib.contenttypes.fields import GenericRelation
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import connection, models, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi.core.bulk import insert_rows
from guanxi.core.events import record_event
from guanxi.core.models import User
from guanxi.customers.models import Lead
from guanxi.customers.services import customer_derived_refresh

from .models import (
    ClusterMember,
    DedupeSettings,
    DuplicateCluster,
    MatchRun,
    Merge,
    MergeRedirect,
    NotDuplicate,
    pair_canonical,
    record_key,
)
from .records import (
    CHOOSABLE,
    CUSTOM_PREFIX,
    MODELS,
    VOLATILE,
    Record,
    RecordRef,
    custom_keys,
    is_empty,
    merge_defaults,
    parse_ref,
    ref_of,
    value_of,
)

# --- plain values: exact round trips through the event's JSON ---------------------------------


def _plain(value: Any) -> Any:
    """A column value as JSON keeps it exactly (DjangoJSONEncoder would cut microseconds)."""
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    return value


def _row(obj: models.Model) -> dict[str, Any]:
    """Every concrete column of a row, by attname, as plain JSON values."""
    return {f.attname: _plain(getattr(obj, f.attname)) for f in obj._meta.concrete_fields}


def _python(model: type[models.Model], values: dict[str, Any]) -> dict[str, Any]:
    """Plain values back into what the model's columns hold."""
    fields = {f.attname: f for f in model._meta.concrete_fields}
    out = {}
    for name, value in values.items():
        field = fields[name]
        out[name] = value if value is None or isinstance(field, models.JSONField) else field.to_python(value)
    return out


def _label(model: type[models.Model]) -> str:
    return model._meta.label_lower


def _model(label: str) -> type[models.Model]:
    return apps.get_model(label)


def _tag_ids(record: Record) -> list[int]:
    return sorted(record.tags.values_list("pk", flat=True))


def record_state(record: Record) -> dict[str, Any]:
    """The full state of one customer record: every column (custom values included) and its tags."""
    return {"fields": _row(record), "tags": _tag_ids(record)}


# --- clusters ---------------------------------------------------------------------------------


_SCAN_ABOVE = 20_000  # records: above this many, the tables are read once instead of by lists of ids


def _not_duplicate_pairs(refs: Iterable[RecordRef]) -> set[tuple[RecordRef, RecordRef]]:
    """The recorded "not a duplicate" pairs touching any of `refs`, in canonical order."""
    wanted = set(refs)
    pairs: set[tuple[RecordRef, RecordRef]] = set()
    if len(wanted) > _SCAN_ABOVE:  # a large run: one pass over the table beats hundreds of lists of ids
        rows = NotDuplicate.objects.values_list("record_type_a", "id_a", "record_type_b", "id_b")
        for ta, a, tb, b in rows.iterator(chunk_size=10_000):
            if (ta, a) in wanted or (tb, b) in wanted:
                pairs.add(((ta, a), (tb, b)))
        return pairs
    by_type: dict[str, set[int]] = defaultdict(set)
    for kind, pk in refs:
        by_type[kind].add(pk)
    for kind, ids in by_type.items():
        id_list = sorted(ids)
        for start in range(0, len(id_list), 900):
            chunk = id_list[start : start + 900]
            rows = NotDuplicate.objects.filter(
                Q(record_type_a=kind, id_a__in=chunk) | Q(record_type_b=kind, id_b__in=chunk)
            ).values_list("record_type_a", "id_a", "record_type_b", "id_b")
            pairs.update(((ta, a), (tb, b)) for ta, a, tb, b in rows)
    return pairs


def _open_cluster_of(refs: Iterable[RecordRef]) -> dict[RecordRef, int]:
    """For each of `refs` that sits in an open cluster: that cluster's id."""
    wanted = set(refs)
    found: dict[RecordRef, int] = {}
    if len(wanted) > _SCAN_ABOVE:  # a large run: one pass over the open clusters' members
        rows = ClusterMember.objects.filter(cluster__status=DuplicateCluster.Status.OPEN).values_list(
            "record_type", "record_id", "cluster_id"
        )
        for t, r, c in rows.iterator(chunk_size=10_000):
            if (t, r) in wanted:
                found[t, r] = c
        return found
    by_type: dict[str, set[int]] = defaultdict(set)
    for kind, pk in refs:
        by_type[kind].add(pk)
    for kind, ids in by_type.items():
        id_list = sorted(ids)
        for start in range(0, len(id_list), 900):
            rows = ClusterMember.objects.filter(
                record_type=kind,
                record_id__in=id_list[start : start + 900],
                cluster__status=DuplicateCluster.Status.OPEN,
            ).values_list("record_type", "record_id", "cluster_id")
            found.update({(t, r): c for t, r, c in rows})
    return found


def _components(members: list[RecordRef], edges: list[tuple[RecordRef, RecordRef]]) -> list[list[RecordRef]]:
    """The connected groups of `members` over `edges` (union-find), each of two or more records."""
    parent = {m: m for m in members}

    def root(x: RecordRef) -> RecordRef:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in edges:
        if a in parent and b in parent:
            parent[root(a)] = root(b)
    groups: dict[RecordRef, list[RecordRef]] = defaultdict(list)
    for m in members:
        groups[root(m)].append(m)
    return [g for g in groups.values() if len(g) > 1]


@transaction.atomic
def clusters_store(run: MatchRun, clusters: list[tuple[list[tuple[str, int]], float, list[dict[str, Any]]]]) -> int:
    """Store the engine's clusters for review; return how many clusters were created or updated.

    Each cluster is `(members, score, reasons)`:
    - `members`: `[("contact", 12), ("lead", 7), …]` (record type, id), two or more;
    - `score`: 0–1, the cluster's best or mean pair probability;
    - `reasons`: `[{"a": "contact:12", "b": "lead:7", "probability": 0.98,
      "fields": {"name": {"level": "exact", "weight": 6.1, "label": "…"}, …}}, …]`.

    Pairs recorded as "not a duplicate" are never proposed again: their reasons are dropped and the
    cluster is split along the remaining reasons (a two-record cluster of such a pair is skipped).
    A cluster with a member already in an open cluster updates that cluster instead (members added,
    score and reasons replaced). New clusters and members are written with bulk inserts.
    """
    cleaned: list[tuple[list[RecordRef], float, list[dict[str, Any]]]] = []
    every: set[RecordRef] = set()
    for members, score, reasons in clusters:
        refs = list(dict.fromkeys((str(t), int(i)) for t, i in members if str(t) in MODELS))
        if len(refs) < 2:
            continue
        cleaned.append((refs, max(0.0, min(1.0, float(score))), list(reasons or [])))
        every.update(refs)
    refused = _not_duplicate_pairs(every)
    in_open = _open_cluster_of(every)
    new_clusters: list[DuplicateCluster] = []
    new_members: list[list[RecordRef]] = []
    updated: dict[int, tuple[set[RecordRef], float, list[dict[str, Any]]]] = {}
    pending: dict[RecordRef, int] = {}  # record → index of the new cluster of this batch holding it
    for refs, score, reasons in cleaned:
        kept_reasons, edges = [], []
        for reason in reasons:
            try:
                a, b = parse_ref(reason.get("a", "")), parse_ref(reason.get("b", ""))
            except ValidationError:
                continue
            if pair_canonical(a, b) in refused:
                continue
            kept_reasons.append(reason)
            edges.append((a, b))
        if reasons:
            groups = _components(refs, edges)
        else:
            groups = [refs]
            if len(refs) == 2 and pair_canonical(refs[0], refs[1]) in refused:
                groups = []
        for group in groups:
            members_set = set(group)
            group_reasons = [r for r in kept_reasons if parse_ref(r["a"]) in members_set]
            existing = next((in_open[m] for m in group if m in in_open), None)
            if existing is not None:
                known, _old, old_reasons = updated.get(existing, (set(), 0.0, []))
                updated[existing] = (known | members_set, score, old_reasons + group_reasons)
                continue
            batch = next((pending[m] for m in group if m in pending), None)
            if batch is not None:  # shares a record with a cluster of this same batch: one cluster
                new_members[batch] = list(dict.fromkeys([*new_members[batch], *group]))
                new_clusters[batch].reasons = [*new_clusters[batch].reasons, *group_reasons]
                new_clusters[batch].score = max(new_clusters[batch].score, score)
                for m in group:
                    pending[m] = batch
                continue
            new_clusters.append(DuplicateCluster(run=run, score=score, reasons=group_reasons))
            new_members.append(group)
            for m in group:
                pending[m] = len(new_clusters) - 1
    created = _clusters_insert(new_clusters, new_members)
    now = timezone.now()
    for cluster_id, (refs_set, score, reasons) in updated.items():
        ClusterMember.objects.bulk_create(
            [ClusterMember(cluster_id=cluster_id, record_type=t, record_id=i) for t, i in sorted(refs_set)],
            ignore_conflicts=True,
        )
        cluster = DuplicateCluster.objects.get(pk=cluster_id)
        by_pair = {(r.get("a"), r.get("b")): r for r in cluster.reasons}
        by_pair.update({(r.get("a"), r.get("b")): r for r in reasons})
        DuplicateCluster.objects.filter(pk=cluster_id).update(
            score=score, reasons=list(by_pair.values()), run=run, updated_at=now
        )
    count = len(created) + len(updated)
    MatchRun.objects.filter(pk=run.pk).update(clusters_found=models.F("clusters_found") + len(created))
    return count


def _clusters_insert(clusters: list[DuplicateCluster], members: list[list[RecordRef]]) -> list[int]:
    """Write new clusters and their members; return the clusters' ids. PostgreSQL: the ids are taken from the
    table's sequence first, then clusters and members are written by COPY (a hundred thousand clusters in
    seconds, where `bulk_create` spends most of its time building parameters)."""
    if connection.vendor != "postgresql":
        created = DuplicateCluster.objects.bulk_create(clusters, batch_size=1000)
        rows = [
            ClusterMember(cluster=cluster, record_type=t, record_id=i)
            for cluster, group in zip(created, members, strict=True)
            for t, i in group
        ]
        ClusterMember.objects.bulk_create(rows, batch_size=2000, ignore_conflicts=True)
        return [cluster.pk for cluster in created]
    if not clusters:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [DuplicateCluster._meta.db_table, len(clusters)],
        )
        ids = [row[0] for row in cursor.fetchall()]
    now = timezone.now()
    insert_rows(
        model=DuplicateCluster,
        fields=["id", "run", "score", "status", "reasons", "created_at", "updated_at"],
        rows=(
            (pk, c.run_id, c.score, DuplicateCluster.Status.OPEN.value, json.dumps(c.reasons), now, now)
            for pk, c in zip(ids, clusters, strict=True)
        ),
    )
    insert_rows(
        model=ClusterMember,
        fields=["cluster", "record_type", "record_id"],
        rows=((pk, t, i) for pk, group in zip(ids, members, strict=True) for t, i in group),
    )
    return ids


@transaction.atomic
def cluster_dismiss(*, cluster: DuplicateCluster, actor: User) -> DuplicateCluster:
    """ "Not a duplicate": remember every pair of the cluster so it never comes back, and close the cluster."""
    cluster = DuplicateCluster.objects.select_for_update().get(pk=cluster.pk)
    if cluster.status != DuplicateCluster.Status.OPEN:
        raise ValidationError(
            {
                "cluster": _("This cluster has already been closed (%(status)s).")
                % {"status": cluster.get_status_display()}
            }
        )
    refs = sorted((m.record_type, m.record_id) for m in cluster.members.all())
    rows = []
    for i, a in enumerate(refs):
        for b in refs[i + 1 :]:
            (ta, ia), (tb, ib) = pair_canonical(a, b)
            rows.append(NotDuplicate(record_type_a=ta, id_a=ia, record_type_b=tb, id_b=ib, by=actor))
    NotDuplicate.objects.bulk_create(rows, ignore_conflicts=True)
    cluster.status = DuplicateCluster.Status.DISMISSED
    cluster.save(update_fields=["status", "updated_at"])
    record_event(
        obj=cluster,
        action="status_changed",
        actor=actor,
        changes={"status": [DuplicateCluster.Status.OPEN.value, cluster.status]},
        data={"pairs": [[record_key(*a), record_key(*b)] for a, b in _pairs(refs)]},
    )
    return cluster


def _pairs(refs: list[RecordRef]) -> list[tuple[RecordRef, RecordRef]]:
    return [(a, b) for i, a in enumerate(refs) for b in refs[i + 1 :]]


@transaction.atomic
def dedupe_settings_set(
    *,
    actor: User,
    auto_merge_threshold: float | None,
    schedule_enabled: bool,
    schedule_hour: int,
    review_threshold: float | None = None,
) -> DedupeSettings:
    """Set the auto-merge threshold (None = off) and the nightly schedule; records what changed."""
    errors: dict[str, list[str]] = {}
    if auto_merge_threshold is not None and not 0.5 <= auto_merge_threshold <= 1:
        errors["auto_merge_threshold"] = [_("Enter a probability between 0.5 and 1, or leave it empty to turn it off.")]
    if review_threshold is not None and not 0 < review_threshold <= 1:
        errors["review_threshold"] = [_("Enter a probability above 0 and at most 1.")]
    if not 0 <= schedule_hour <= 23:
        errors["schedule_hour"] = [_("Enter an hour from 0 to 23.")]
    if errors:
        raise ValidationError(errors)
    row = DedupeSettings.load()
    before = row.as_dict()
    row.auto_merge_threshold = auto_merge_threshold
    row.schedule_enabled = schedule_enabled
    row.schedule_hour = schedule_hour
    if review_threshold is not None:
        row.review_threshold = review_threshold
    row.updated_by = actor
    row.save()
    after = row.as_dict()
    changes = {k: [before[k], after[k]] for k in after if before[k] != after[k]}
    if changes:
        record_event(obj=row, action="updated", actor=actor, changes=changes)
    return row


# --- merge ------------------------------------------------------------------------------------


def _lock(refs: list[RecordRef]) -> dict[RecordRef, Record]:
    """The records, locked in a fixed order (PostgreSQL: FOR UPDATE; SQLite's IMMEDIATE transaction serialises)."""
    found: dict[RecordRef, Record] = {}
    for kind, pk in sorted(refs):
        record = MODELS[kind]._base_manager.select_for_update().filter(pk=pk).first()
        if record is not None:
            found[(kind, pk)] = record
    return found


def _who(user_id: int | None) -> str:
    user = User.objects.filter(pk=user_id).first() if user_id else None
    return str(user) if user else _("someone")


def _already_merged(ref: RecordRef) -> MergeRedirect | None:
    return MergeRedirect.objects.select_related("merge").filter(record_type=ref[0], old_id=ref[1]).first()


def _check_types(survivor: RecordRef, others: list[RecordRef]) -> None:
    for kind, _pk in others:
        if kind == survivor[0]:
            continue
        if kind == "lead" and survivor[0] == "contact":
            continue  # a lead that is already a contact folds into the contact
        if kind == "contact" and survivor[0] == "lead":
            raise ValidationError({"survivor": _("When a lead and a contact are merged, the contact must survive.")})
        raise ValidationError({"survivor": _("An account and a person cannot be merged.")})


def _apply_choices(
    survivor: Record, records: dict[RecordRef, Record], others: list[RecordRef], field_choices: dict[str, str]
) -> None:
    """Set the survivor's fields and custom values from the chosen records; unchosen empty ones are filled."""
    kind = ref_of(survivor)[0]
    plain = CHOOSABLE[kind]
    keys = custom_keys(kind)
    allowed = {*plain, *(CUSTOM_PREFIX + k for k in keys)}
    errors: dict[str, list[str]] = {}
    if not isinstance(field_choices, dict):
        raise ValidationError({"field_choices": _("Send the field choices as an object {field: record}.")})
    choices: dict[str, Record] = {}
    for name, key in field_choices.items():
        if name not in allowed:
            errors.setdefault("field_choices", []).append(
                _("“%(field)s” is not a field that can be chosen in a merge.") % {"field": str(name)[:60]}
            )
            continue
        try:
            ref = parse_ref(key, field=name)
        except ValidationError as exc:
            errors.setdefault(name, []).extend(exc.messages)
            continue
        source = records.get(ref)
        if source is None:
            errors.setdefault(name, []).append(
                _("“%(record)s” is not one of the records being merged.") % {"record": record_key(*ref)}
            )
            continue
        if not name.startswith(CUSTOM_PREFIX) and name not in CHOOSABLE[ref[0]]:
            errors.setdefault(name, []).append(
                _("%(record)s has no field “%(field)s”.") % {"record": record_key(*ref), "field": name}
            )
            continue
        choices[name] = source
    if errors:
        raise ValidationError(errors)
    custom = dict(survivor.custom or {})
    for name in sorted(allowed):
        if name in choices:
            value = value_of(choices[name], name)
        elif is_empty(value_of(survivor, name)):
            donors = [records[r] for r in others if name.startswith(CUSTOM_PREFIX) or name in CHOOSABLE[r[0]]]
            value = next((v for v in (value_of(d, name) for d in donors) if not is_empty(v)), None)
            if value is None:
                continue
        else:
            continue
        if name.startswith(CUSTOM_PREFIX):
            key = name[len(CUSTOM_PREFIX) :]
            if is_empty(value):
                custom.pop(key, None)
            else:
                custom[key] = value
        else:
            field: Any = survivor._meta.get_field(name)
            setattr(survivor, field.attname, value if value is not None or field.null else "")
    survivor.custom = custom
    derive_errors = customer_derived_refresh(survivor)
    if derive_errors:
        raise ValidationError(derive_errors)


def _unique_sets(model: type[models.Model], field: Any) -> list[list[str]]:
    """The unique column sets of `model` that include `field` (unconditional ones: what a move could collide on)."""
    sets: list[list[str]] = []
    if field.unique:
        sets.append([field.name])
    for together in model._meta.unique_together:
        if field.name in together:
            sets.append(list(together))
    for constraint in model._meta.constraints:
        if isinstance(constraint, models.UniqueConstraint) and constraint.condition is None:
            names = list(constraint.fields or ())
            if field.name in names:
                sets.append(names)
    return sets


def _is_link(model: type[models.Model]) -> bool:
    """A row that only links two things (an M2M through table): a duplicate of it is dropped, not kept."""
    if model._meta.auto_created:
        return True
    return any(
        getattr(f.remote_field, "through", None) is model
        for m in apps.get_models()
        for f in m._meta.many_to_many
        if f.remote_field is not None
    )


def _collides(model: type[models.Model], row: models.Model, sets: list[list[str]], changes: dict[str, Any]) -> bool:
    for names in sets:
        lookup = {}
        for name in names:
            attname = getattr(model._meta.get_field(name), "attname", name)
            lookup[attname] = changes.get(attname, getattr(row, attname))
        if model._base_manager.filter(**lookup).exclude(pk=row.pk).exists():
            return True
    return False


class _Mover:
    """Re-points everything that refers to one merged record to the survivor, and remembers how."""

    def __init__(self, survivor: Record) -> None:
        self.survivor = survivor
        self.moved: list[dict[str, Any]] = []
        self.dropped: list[dict[str, Any]] = []
        self.added: list[dict[str, Any]] = []
        self.kept: list[dict[str, Any]] = []

    def move(self, record: Record) -> None:
        model = type(record)
        for field in self._pointing_fields(model):
            self._move_fk(record, field)
        for relation in model._meta.private_fields:
            if isinstance(relation, GenericRelation):
                self._move_generic(record, relation)
        m2m: Any
        for m2m in model._meta.many_to_many:
            if m2m.remote_field.through._meta.auto_created:
                self._unite(record, m2m)
        self._take_one_to_one(record)

    def _take_one_to_one(self, record: Record) -> None:
        """A one-to-one the merged record holds and the survivor lacks (the lead a contact was converted from)
        passes to the survivor; the change shows in both records' before/after states."""
        field: Any
        for field in type(record)._meta.concrete_fields:
            if not field.one_to_one or getattr(record, field.attname) is None:
                continue
            try:
                target: Any = type(self.survivor)._meta.get_field(field.name)
            except FieldDoesNotExist:
                continue
            if target.remote_field.model is not field.remote_field.model:
                continue
            if getattr(self.survivor, target.attname) is None:
                value = getattr(record, field.attname)
                type(record)._base_manager.filter(pk=record.pk).update(**{field.attname: None})
                setattr(record, field.attname, None)
                setattr(self.survivor, target.attname, value)

    @staticmethod
    def _pointing_fields(model: type[models.Model]) -> list[Any]:
        """Every FK (and one-to-one) in any app pointing at `model`, hidden ones included.

        `_meta.related_objects` leaves out relations declared with `related_name="+"`, so the full
        reverse-field list is read instead. An M2M to `model` is reached through its through table's FK.
        The through tables of `model`'s own M2M fields (its tags) are united separately.
        """
        fields = []
        rel: Any
        for rel in model._meta.get_fields(include_hidden=True):
            if not rel.auto_created or rel.concrete or rel.many_to_many:
                continue
            field = rel.field
            related = field.model
            if related._meta.auto_created is model:
                continue
            fields.append(field)
        return fields

    def _move_fk(self, record: Record, field: Any) -> None:
        related: Any = field.model
        survivor = self.survivor
        same_type = isinstance(survivor, field.remote_field.model)
        twin = None
        if not same_type:
            twins = [
                f
                for f in related._meta.concrete_fields
                if f.is_relation and f.remote_field.model is type(survivor) and f.null
            ]
            twin = twins[0] if len(twins) == 1 and field.null else None
        sets = _unique_sets(related, field) + (_unique_sets(related, twin) if twin else [])
        rows = related._base_manager.select_for_update().filter(**{field.attname: record.pk}).order_by("pk")
        for row in rows:
            where = {"model": _label(related), "pk": _plain(row.pk), "field": field.attname}
            changes: dict[str, Any]
            if same_type:
                changes = {field.attname: survivor.pk}
            elif twin is not None and getattr(row, twin.attname) is None:
                changes = {field.attname: None, twin.attname: survivor.pk}
            else:
                self.kept.append({**where, "why": "other_type"})
                continue
            if _collides(related, row, sets, changes):
                if _is_link(related):
                    self.dropped.append({"model": _label(related), "row": _row(row)})
                    related._base_manager.filter(pk=row.pk).delete()
                else:
                    self.kept.append({**where, "why": "unique"})
                continue
            before = {name: _plain(getattr(row, name)) for name in changes}
            related._base_manager.filter(pk=row.pk).update(**changes)
            self.moved.append({**where, "set": {n: [before[n], _plain(v)] for n, v in changes.items()}})

    def _move_generic(self, record: Record, relation: GenericRelation) -> None:
        related: Any = relation.related_model
        target: Any = next(
            (
                f
                for f in type(self.survivor)._meta.private_fields
                if isinstance(f, GenericRelation) and f.related_model is related
            ),
            None,
        )
        ct_field: Any = related._meta.get_field(relation.content_type_field_name)
        id_field: Any = related._meta.get_field(relation.object_id_field_name)
        old_ct = ContentType.objects.get_for_model(record).pk
        rows = related._base_manager.select_for_update().filter(
            **{ct_field.attname: old_ct, id_field.attname: record.pk}
        )
        for row in rows.order_by("pk"):
            if target is None:
                self.kept.append({"model": _label(related), "pk": _plain(row.pk), "why": "other_type"})
                continue
            changes = {
                ct_field.attname: ContentType.objects.get_for_model(self.survivor).pk,
                id_field.attname: self.survivor.pk,
            }
            sets = _unique_sets(related, ct_field) + _unique_sets(related, id_field)
            if _collides(related, row, sets, changes):
                self.dropped.append({"model": _label(related), "row": _row(row)})
                related._base_manager.filter(pk=row.pk).delete()
                continue
            before = {name: _plain(getattr(row, name)) for name in changes}
            related._base_manager.filter(pk=row.pk).update(**changes)
            self.moved.append(
                {
                    "model": _label(related),
                    "pk": _plain(row.pk),
                    "field": id_field.attname,
                    "set": {n: [before[n], v] for n, v in changes.items()},
                }
            )

    def _unite(self, record: Record, m2m: Any) -> None:
        """Give the survivor every target (tag …) the merged record has under an M2M of the same name."""
        try:
            target: Any = type(self.survivor)._meta.get_field(m2m.name)
        except FieldDoesNotExist:  # the survivor's type has no such field
            target = None
        if not isinstance(target, models.ManyToManyField) or target.related_model is not m2m.related_model:
            return
        through: Any = target.remote_field.through
        if not through._meta.auto_created:
            return
        source_col = target.m2m_column_name()
        target_col = target.m2m_reverse_name()
        wanted = set(getattr(record, m2m.name).values_list("pk", flat=True))
        have = set(getattr(self.survivor, target.name).values_list("pk", flat=True))
        missing = sorted(wanted - have)
        if not missing:
            return
        created = through._base_manager.bulk_create(
            [through(**{source_col: self.survivor.pk, target_col: pk}) for pk in missing]
        )
        ids = sorted(row.pk for row in created if row.pk is not None)
        if len(ids) != len(missing):  # a backend without RETURNING: read the new rows back
            ids = sorted(
                through._base_manager.filter(
                    **{source_col: self.survivor.pk, f"{target_col}__in": missing}
                ).values_list("pk", flat=True)
            )
        self.added.append({"model": _label(through), "pks": ids, "field": m2m.name, "targets": missing})


@transaction.atomic
def records_merge(
    *,
    survivor: Record,
    others: list[Record],
    field_choices: dict[str, str] | None,
    actor: User,
    cluster: DuplicateCluster | None = None,
    cluster_seen_at: dt.datetime | None = None,
    auto: bool = False,
) -> Merge:
    """Fold `others` into `survivor`, all or nothing: chosen field values, every related row, tags, history.

    `field_choices` maps a field (`email`, `owner`, `custom.<key>`) to the record whose value survives
    (`"contact:12"`); fields not named keep the survivor's value, or take the first non-empty one of the
    others when the survivor has none. Refused, with nothing written, when a record was deleted or
    merged meanwhile, when the cluster was merged, dismissed or changed (`cluster_seen_at`: the
    `updated_at` the person saw), or when the actor may not change one of the records.
    """
    survivor_ref = ref_of(survivor)
    other_refs = list(dict.fromkeys(ref_of(o) for o in others if ref_of(o) != survivor_ref))
    if not other_refs:
        raise ValidationError({"others": _("Choose at least one other record to merge into the survivor.")})
    _check_types(survivor_ref, other_refs)
    if cluster is not None:
        locked_cluster = DuplicateCluster.objects.select_for_update().filter(pk=cluster.pk).first()
        if locked_cluster is None:
            raise ValidationError({"cluster": _("This cluster no longer exists.")})
        cluster = locked_cluster
        if cluster.status in (DuplicateCluster.Status.MERGED, DuplicateCluster.Status.AUTO_MERGED):
            done = cluster.merges.filter(undone_at__isnull=True).order_by("-id").first()
            raise ValidationError(
                {
                    "cluster": _("This cluster was already merged by %(user)s.")
                    % {"user": _who(done.by_id) if done else _("someone")}
                }
            )
        if cluster.status != DuplicateCluster.Status.OPEN:
            raise ValidationError({"cluster": _("This cluster was marked “not duplicates”; reopen it first.")})
        if cluster_seen_at is not None and cluster.updated_at != cluster_seen_at:
            raise ValidationError({"cluster": _("This cluster changed since you opened it; look at it again.")})
        members = set(cluster.members.values_list("record_type", "record_id"))
        if not {survivor_ref, *other_refs} <= members:
            raise ValidationError({"others": _("Only records of this cluster can be merged here.")})
    wanted = [survivor_ref, *other_refs]
    records = _lock(wanted)
    for ref in wanted:
        redirect = _already_merged(ref)
        if redirect is not None:
            raise ValidationError(
                {
                    "others": _("%(record)s was already merged by %(user)s.")
                    % {"record": record_key(*ref), "user": _who(redirect.merge.by_id)}
                }
            )
        if ref not in records:
            raise ValidationError(
                {"others": _("%(record)s was deleted meanwhile; nothing was merged.") % {"record": record_key(*ref)}}
            )
    if not auto:
        for ref in wanted:
            model = MODELS[ref[0]]
            if not model.objects.visible_to(actor, "change").filter(pk=ref[1]).exists():
                raise ValidationError(
                    {"others": _("You may not change %(record)s; nothing was merged.") % {"record": record_key(*ref)}}
                )
    survivor = records[survivor_ref]
    before = {record_key(*ref): record_state(records[ref]) for ref in wanted}

    mover = _Mover(survivor)
    for ref in other_refs:
        mover.move(records[ref])
    survivor.refresh_from_db(fields=["completeness"])
    _apply_choices(survivor, records, other_refs, field_choices or {})
    survivor.save()
    now = timezone.now()
    for ref in other_refs:
        record = records[ref]
        update: dict[str, Any] = {"archived_at": record.archived_at or now, "updated_at": now}
        if isinstance(record, Lead):
            update["status"] = Lead.Status.CONVERTED
            update["converted_at"] = record.converted_at or now
        type(record)._base_manager.filter(pk=record.pk).update(**update)
        record.refresh_from_db()
    survivor.refresh_from_db()
    after = {record_key(*ref): record_state(records[ref]) for ref in wanted}
    changed = {
        name: [before[record_key(*survivor_ref)]["fields"].get(name), value]
        for name, value in after[record_key(*survivor_ref)]["fields"].items()
        if name not in VOLATILE and before[record_key(*survivor_ref)]["fields"].get(name) != value
    }
    if before[record_key(*survivor_ref)]["tags"] != after[record_key(*survivor_ref)]["tags"]:
        changed["tags"] = [before[record_key(*survivor_ref)]["tags"], after[record_key(*survivor_ref)]["tags"]]
    # older redirects into a merged record now lead to the survivor
    repointed = []
    for ref in other_refs:
        for old in MergeRedirect.objects.select_for_update().filter(survivor_type=ref[0], survivor_id=ref[1]):
            repointed.append({"pk": old.pk, "survivor_type": old.survivor_type, "survivor_id": old.survivor_id})
            old.survivor_type, old.survivor_id = survivor_ref
            old.save(update_fields=["survivor_type", "survivor_id"])
    cluster_before = cluster.status if cluster is not None else None
    event = record_event(
        obj=survivor,
        action="merged",
        actor=None if auto else actor,
        changes=changed,
        data={
            "survivor": record_key(*survivor_ref),
            "merged": [record_key(*r) for r in other_refs],
            "choices": dict(field_choices or {}),
            "before": before,
            "after": after,
            "moved": mover.moved,
            "dropped": mover.dropped,
            "added": mover.added,
            "kept": mover.kept,
            "repointed": repointed,
            "cluster": cluster.pk if cluster is not None else None,
            "cluster_status": cluster_before,
            "auto": auto,
        },
    )
    merge = Merge.objects.create(
        survivor_type=survivor_ref[0],
        survivor_id=survivor_ref[1],
        merged=[{"type": t, "id": i} for t, i in other_refs],
        cluster=cluster,
        event=event,
        by=None if auto else actor,
    )
    MergeRedirect.objects.bulk_create(
        [
            MergeRedirect(
                record_type=t, old_id=i, survivor_type=survivor_ref[0], survivor_id=survivor_ref[1], merge=merge
            )
            for t, i in other_refs
        ]
    )
    if cluster is not None:
        cluster.status = DuplicateCluster.Status.AUTO_MERGED if auto else DuplicateCluster.Status.MERGED
        cluster.save(update_fields=["status", "updated_at"])
    return merge


# --- undo -------------------------------------------------------------------------------------


def _differences(current: dict[str, Any], expected: dict[str, Any]) -> list[str]:
    return sorted(
        name
        for name, value in expected["fields"].items()
        if name not in VOLATILE and current["fields"].get(name) != value
    ) + (["tags"] if current["tags"] != expected["tags"] else [])


@transaction.atomic
def merge_undo(*, merge: Merge, actor: User) -> Merge:
    """Put back exactly what the merge changed (administrators only): every record's fields, custom values and
    tags, every moved row, every dropped link; the merged records live again, their redirects go, the cluster
    reopens. Refused, naming what, when something the merge touched has changed since in a way that undo
    would overwrite or cannot restore."""
    if not actor.has_perm("dedupe.change_merge"):
        raise ValidationError({"merge": _("Only an administrator can undo a merge.")})
    merge = Merge.objects.select_for_update(of=("self",)).select_related("event").get(pk=merge.pk)
    if merge.undone_at is not None:
        raise ValidationError({"merge": _("This merge was already undone.")})
    if MergeRedirect.objects.filter(
        record_type=merge.survivor_type, old_id=merge.survivor_id, merge__undone_at__isnull=True
    ).exists():
        raise ValidationError(
            {"merge": _("The survivor has since been merged into another record; undo that merge first.")}
        )
    assert merge.event is not None
    data = merge.event.data
    problems: list[str] = []
    refs = [parse_ref(k) for k in data["after"]]
    records = _lock(refs)
    for key, expected in data["after"].items():
        ref = parse_ref(key)
        record = records.get(ref)
        if record is None:
            problems.append(_("%(record)s was deleted since the merge.") % {"record": key})
            continue
        diff = _differences(record_state(record), expected)
        if diff:
            problems.append(
                _("%(record)s was changed since the merge (%(fields)s); undo would overwrite that.")
                % {"record": key, "fields": ", ".join(diff)}
            )
    for move in data["moved"]:
        model = _model(move["model"])
        row = model._base_manager.select_for_update().filter(pk=move["pk"]).first()
        what = f"{model._meta.verbose_name} #{move['pk']}"
        if row is None:
            problems.append(_("%(row)s was deleted since the merge; it cannot be moved back.") % {"row": what})
            continue
        now_values = {n: _plain(getattr(row, n)) for n in move["set"]}
        if any(now_values[n] != after for n, (_before, after) in move["set"].items()):
            problems.append(_("%(row)s was moved to another record since the merge.") % {"row": what})
    for dropped in data["dropped"]:
        model = _model(dropped["model"])
        pk = dropped["row"][model._meta.pk.attname]
        if model._base_manager.filter(pk=pk).exists():
            problems.append(
                _("%(row)s cannot be recreated: its id is taken.") % {"row": f"{model._meta.verbose_name} #{pk}"}
            )
    if problems:
        raise ValidationError({"merge": problems})

    for move in data["moved"]:
        model = _model(move["model"])
        values = _python(model, {n: before for n, (before, _after) in move["set"].items()})
        model._base_manager.filter(pk=move["pk"]).update(**values)
    for dropped in data["dropped"]:
        model = _model(dropped["model"])
        values = _python(model, dropped["row"])
        model._base_manager.bulk_create([model(**values)])
        # auto_now(_add) columns took the current time on insert: put the remembered ones back
        pk_name = model._meta.pk.attname
        model._base_manager.filter(pk=values[pk_name]).update(**{k: v for k, v in values.items() if k != pk_name})
    for added in data["added"]:
        _model(added["model"])._base_manager.filter(pk__in=added["pks"]).delete()
    # a one-to-one the merge passed between records (converted_from) is cleared everywhere first, so putting
    # the values back one record at a time never holds it twice
    for key in data["before"]:
        kind, pk = parse_ref(key)
        model = MODELS[kind]
        unique = {f.attname: None for f in model._meta.concrete_fields if f.unique and f.null and not f.primary_key}
        if unique:
            model._base_manager.filter(pk=pk).update(**unique)
    for key, state in data["before"].items():
        kind, pk = parse_ref(key)
        model = MODELS[kind]
        values = {n: v for n, v in state["fields"].items() if n != "id"}
        model._base_manager.filter(pk=pk).update(**_python(model, values))
        record = model._base_manager.get(pk=pk)
        if _tag_ids(record) != state["tags"]:
            record.tags.set(state["tags"])
    for old in data.get("repointed", []):
        MergeRedirect.objects.filter(pk=old["pk"]).update(
            survivor_type=old["survivor_type"], survivor_id=old["survivor_id"]
        )
    merge.redirects.all().delete()
    merge.undone_at = timezone.now()
    merge.undone_by = actor
    merge.save(update_fields=["undone_at", "undone_by"])
    if merge.cluster_id is not None:
        DuplicateCluster.objects.filter(pk=merge.cluster_id).update(
            status=DuplicateCluster.Status.OPEN, updated_at=timezone.now()
        )
    survivor = MODELS[merge.survivor_type]._base_manager.get(pk=merge.survivor_id)
    record_event(
        obj=survivor,
        action="merge_undone",
        actor=actor,
        changes={
            name: [value, data["before"][record_key(merge.survivor_type, merge.survivor_id)]["fields"].get(name)]
            for name, value in data["after"][record_key(merge.survivor_type, merge.survivor_id)]["fields"].items()
            if name not in VOLATILE
            and value != data["before"][record_key(merge.survivor_type, merge.survivor_id)]["fields"].get(name)
        },
        data={"merge": merge.pk, "restored": data["merged"]},
    )
    return merge


def cluster_auto_merge(*, cluster: DuplicateCluster) -> Merge | None:
    """Merge a cluster without review (the engine calls this above the administrator's threshold; off by default).

    Survivor and values follow `merge_defaults`. Returns None when the threshold is off or not reached, or
    when the cluster mixes types that cannot merge."""
    threshold = DedupeSettings.load().auto_merge_threshold
    if threshold is None or cluster.score < threshold:
        return None
    refs = list(cluster.members.values_list("record_type", "record_id"))
    found = [MODELS[t]._base_manager.filter(pk=i, archived_at__isnull=True).first() for t, i in refs]
    live = [r for r in found if r is not None]
    if len(live) < 2:
        return None
    survivor, choices = merge_defaults(live)
    try:
        return records_merge(
            survivor=survivor,
            others=[r for r in live if r is not survivor],
            field_choices=choices,
            actor=None,  # type: ignore[arg-type]
            cluster=cluster,
            auto=True,
        )
    except ValidationError:
        return None
