"""The dedupe API: candidates with reasons, merge with field choices, dismiss, merges, undo; errors in the one shape."""

from __future__ import annotations

import json

import pytest

from guanxi.customers.models import Contact
from guanxi.dedupe.models import DuplicateCluster, Merge

from ..customers import factories as cf
from . import factories

pytestmark = pytest.mark.django_db


def _post(client, url, body=None):
    return client.post(url, json.dumps(body or {}), content_type="application/json")


def test_clusters_are_listed_best_first_with_reasons_and_paged(make_user, bearer):
    """GET /dedupe/clusters pages candidates by score, each with its members and why they match."""
    admin = make_user("administrator")
    low = factories.cluster(cf.contact(owner=admin), cf.contact(owner=admin), score=0.82)
    high = factories.cluster(cf.contact(owner=admin), cf.lead(owner=admin), score=0.97)
    body = bearer(admin).get("/api/v1/dedupe/clusters", {"page_size": 1}).json()
    assert body["count"] == 2 and body["pages"] == 2
    first = body["items"][0]
    assert first["id"] == high.pk
    assert {m["record_type"] for m in first["members"]} == {"contact", "lead"}
    assert first["reasons"][0]["fields"][0] == {
        "name": "phone",
        "level": "exact",
        "weight": 7.5,
        "label": "phone exact",
    }
    leads_only = bearer(admin).get("/api/v1/dedupe/clusters", {"record_type": "lead"}).json()
    assert [c["id"] for c in leads_only["items"]] == [high.pk]
    assert low.pk in [c["id"] for c in bearer(admin).get("/api/v1/dedupe/clusters").json()["items"]]


def test_a_cluster_shows_side_by_side_values_and_default_choices(make_user, bearer):
    """GET /dedupe/clusters/{id} gives each field's values per member, whether they differ and the default."""
    admin = make_user("administrator")
    a = cf.contact(owner=admin, surname="刘", given_name="洋", phone="13600001111")
    b = cf.contact(owner=admin, surname="刘", given_name="洋", email="liu@example.com", phone="13600002222")
    cluster = factories.cluster(a, b)
    body = bearer(admin).get(f"/api/v1/dedupe/clusters/{cluster.pk}").json()
    fields = {f["name"]: f for f in body["fields"]}
    assert fields["phone"]["differs"] is True
    assert fields["email"]["default"] == f"contact:{b.pk}"
    assert body["survivor"] in (f"contact:{a.pk}", f"contact:{b.pk}")


def test_merge_with_field_choices_then_undo(make_user, bearer):
    """POST merge keeps the chosen values and returns the merge; POST undo puts everything back."""
    admin = make_user("administrator")
    a = cf.contact(owner=admin, phone="13500001111")
    b = cf.contact(owner=admin, phone="13500002222", title="工程师")
    cluster = factories.cluster(a, b)
    client = bearer(admin)
    response = _post(
        client,
        f"/api/v1/dedupe/clusters/{cluster.pk}/merge",
        {"survivor": f"contact:{a.pk}", "field_choices": {"phone": f"contact:{b.pk}"}},
    )
    assert response.status_code == 201, response.content
    merge = response.json()
    assert merge["survivor"] == f"contact:{a.pk}" and merge["merged"] == [f"contact:{b.pk}"]
    a.refresh_from_db()
    assert a.phone == "+8613500002222" and a.title == "工程师"
    assert client.get("/api/v1/dedupe/merges").json()["items"][0]["id"] == merge["id"]

    again = _post(client, f"/api/v1/dedupe/clusters/{cluster.pk}/merge", {"survivor": f"contact:{a.pk}"})
    assert again.status_code == 422  # the cluster is no longer open: its records are merged

    undone = _post(client, f"/api/v1/dedupe/merges/{merge['id']}/undo")
    assert undone.status_code == 200 and undone.json()["undone_at"]
    a.refresh_from_db()
    assert a.phone == "+8613500001111" and a.title == ""
    assert Contact.objects.filter(pk=b.pk).exists()


def test_bad_merge_bodies_get_field_errors_and_change_nothing(make_user, bearer):
    """A survivor outside the cluster, garbage choices or unknown body fields: 4xx naming the field."""
    admin = make_user("administrator")
    a, b = cf.contact(owner=admin), cf.contact(owner=admin)
    cluster = factories.cluster(a, b)
    client = bearer(admin)
    url = f"/api/v1/dedupe/clusters/{cluster.pk}/merge"
    outside = _post(client, url, {"survivor": "contact:999999"})
    assert outside.status_code == 422 and "survivor" in outside.json()["error"]["fields"]
    garbage = _post(client, url, {"survivor": f"contact:{a.pk}", "field_choices": {"email": "DROP TABLE"}})
    assert garbage.status_code == 422 and "email" in garbage.json()["error"]["fields"]
    unknown = _post(client, url, {"survivor": f"contact:{a.pk}", "surprise": 1})
    assert unknown.status_code == 422
    assert not Merge.objects.exists()
    assert Contact.objects.filter(pk__in=[a.pk, b.pk]).count() == 2


def test_dismiss_over_the_api(make_user, bearer):
    """POST dismiss closes the cluster as "not duplicates"."""
    admin = make_user("administrator")
    cluster = factories.cluster(cf.contact(owner=admin), cf.contact(owner=admin))
    response = _post(bearer(admin), f"/api/v1/dedupe/clusters/{cluster.pk}/dismiss")
    assert response.status_code == 200 and response.json()["status"] == DuplicateCluster.Status.DISMISSED


def test_a_manager_cannot_undo(make_user, bearer):
    """Undo is for administrators: a manager gets 403."""
    manager = make_user("manager")
    a, b = cf.contact(owner=manager), cf.contact(owner=manager)
    cluster = factories.cluster(a, b)
    client = bearer(manager)
    merge = _post(client, f"/api/v1/dedupe/clusters/{cluster.pk}/merge", {"survivor": f"contact:{a.pk}"}).json()
    assert _post(client, f"/api/v1/dedupe/merges/{merge['id']}/undo").status_code == 403
