"""Storing the engine's clusters: "not a duplicate" never comes back, open clusters are updated, not doubled."""

from __future__ import annotations

import pytest

from guanxi.dedupe import services
from guanxi.dedupe.models import ClusterMember, DuplicateCluster, MatchRun, NotDuplicate

from ..customers import factories as cf
from .factories import reason

pytestmark = pytest.mark.django_db


def _run() -> MatchRun:
    return MatchRun.objects.create(kind=MatchRun.Kind.FULL)


@pytest.fixture(params=["by id lists", "by one scan"])
def lookup(request, monkeypatch):
    """A large run reads "not a duplicate" pairs and open clusters in one pass over each table instead of by
    lists of ids (`_SCAN_ABOVE` records); both ways must find the same."""
    if request.param == "by one scan":
        monkeypatch.setattr(services, "_SCAN_ABOVE", 0)
    return request.param


def test_clusters_are_stored_with_members_score_and_reasons(make_user):
    """Each cluster the engine hands over becomes an open cluster with its members and reasons."""
    admin = make_user("administrator")
    a, b, lead = cf.contact(owner=admin), cf.contact(owner=admin), cf.lead(owner=admin)
    run = _run()
    count = services.clusters_store(
        run,
        [
            (
                [("contact", a.pk), ("contact", b.pk), ("lead", lead.pk)],
                0.93,
                [reason(f"contact:{a.pk}", f"lead:{lead.pk}"), reason(f"contact:{a.pk}", f"contact:{b.pk}")],
            )
        ],
    )
    assert count == 1
    cluster = DuplicateCluster.objects.get()
    assert cluster.status == DuplicateCluster.Status.OPEN and cluster.score == pytest.approx(0.93)
    assert sorted(cluster.members.values_list("record_type", "record_id")) == sorted(
        [("contact", a.pk), ("contact", b.pk), ("lead", lead.pk)]
    )
    assert len(cluster.reasons) == 2
    run.refresh_from_db()
    assert run.clusters_found == 1


def test_a_pair_marked_not_a_duplicate_is_never_proposed_again(make_user, lookup):
    """After "not a duplicate", the same pair from a later run is skipped, and a bigger cluster is split
    along its remaining reasons."""
    admin = make_user("administrator")
    a, b, c = cf.contact(owner=admin), cf.contact(owner=admin), cf.contact(owner=admin)
    first = DuplicateCluster.objects.create(score=0.9)
    ClusterMember.objects.bulk_create(
        [ClusterMember(cluster=first, record_type="contact", record_id=r.pk) for r in (a, b)]
    )
    services.cluster_dismiss(cluster=first, actor=admin)
    assert NotDuplicate.objects.count() == 1

    services.clusters_store(_run(), [([("contact", b.pk), ("contact", a.pk)], 0.95, [])])
    assert DuplicateCluster.objects.filter(status="open").count() == 0

    ka, kb, kc = f"contact:{a.pk}", f"contact:{b.pk}", f"contact:{c.pk}"
    services.clusters_store(
        _run(), [([("contact", a.pk), ("contact", b.pk), ("contact", c.pk)], 0.9, [reason(ka, kb), reason(kb, kc)])]
    )
    open_cluster = DuplicateCluster.objects.get(status="open")
    assert sorted(open_cluster.members.values_list("record_id", flat=True)) == sorted([b.pk, c.pk])
    assert [(r["a"], r["b"]) for r in open_cluster.reasons] == [(kb, kc)]


def test_a_record_already_in_an_open_cluster_updates_that_cluster(make_user, lookup):
    """A later run finding the same records again updates the open cluster's score instead of adding one."""
    admin = make_user("administrator")
    a, b, c = cf.contact(owner=admin), cf.contact(owner=admin), cf.contact(owner=admin)
    services.clusters_store(_run(), [([("contact", a.pk), ("contact", b.pk)], 0.8, [])])
    services.clusters_store(_run(), [([("contact", b.pk), ("contact", c.pk)], 0.96, [])])
    cluster = DuplicateCluster.objects.get()
    assert cluster.score == pytest.approx(0.96)
    assert sorted(cluster.members.values_list("record_id", flat=True)) == sorted([a.pk, b.pk, c.pk])


def test_garbage_from_the_engine_is_skipped(make_user):
    """Unknown record types, single-member clusters and unreadable reasons store nothing and break nothing."""
    admin = make_user("administrator")
    a = cf.contact(owner=admin)
    count = services.clusters_store(
        _run(),
        [
            ([("planet", 1), ("contact", a.pk)], 0.9, []),
            ([("contact", a.pk)], 0.9, []),
        ],
    )
    assert count == 0 and not DuplicateCluster.objects.exists()


def test_auto_merge_is_off_by_default_and_merges_above_the_threshold(make_user):
    """With no threshold nothing is merged automatically; above the administrator's threshold it is."""
    admin = make_user("administrator")
    a, b = cf.contact(owner=admin), cf.contact(owner=admin, email="b@example.com")
    services.clusters_store(_run(), [([("contact", a.pk), ("contact", b.pk)], 0.995, [])])
    cluster = DuplicateCluster.objects.get()
    assert services.cluster_auto_merge(cluster=cluster) is None
    services.dedupe_settings_set(actor=admin, auto_merge_threshold=0.99, schedule_enabled=True, schedule_hour=2)
    merge = services.cluster_auto_merge(cluster=cluster)
    assert merge is not None and merge.by is None
    cluster.refresh_from_db()
    assert cluster.status == DuplicateCluster.Status.AUTO_MERGED


def test_two_clusters_of_one_batch_sharing_a_record_become_one(make_user):
    """The engine may hand over overlapping groups: they are stored as one cluster, never two open ones."""
    admin = make_user("administrator")
    a, b, c = cf.contact(owner=admin), cf.contact(owner=admin), cf.contact(owner=admin)
    services.clusters_store(
        _run(), [([("contact", a.pk), ("contact", b.pk)], 0.9, []), ([("contact", b.pk), ("contact", c.pk)], 0.95, [])]
    )
    cluster = DuplicateCluster.objects.get()
    assert cluster.score == pytest.approx(0.95)
    assert sorted(cluster.members.values_list("record_id", flat=True)) == sorted([a.pk, b.pk, c.pk])
