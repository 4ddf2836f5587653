"""The review queue, the comparison, merging from the page, undo, settings, and old ids that keep resolving."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from guanxi.customers.models import Contact
from guanxi.dedupe.models import DedupeSettings, DuplicateCluster, Merge

from ..customers import factories as cf
from . import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(make_user):
    return make_user("administrator", language="en")


def test_the_queue_ranks_clusters_by_score_and_shows_why(admin, login):
    """Clusters appear best first, with the fields that agreed and how strongly."""
    low = factories.cluster(cf.contact(owner=admin), cf.contact(owner=admin), score=0.81)
    high = factories.cluster(cf.contact(owner=admin), cf.contact(owner=admin), score=0.99)
    response = login(admin).get(reverse("dedupe-queue"))
    html = response.content.decode()
    assert response.status_code == 200
    assert html.index(f'data-cluster="{high.pk}"') < html.index(f'data-cluster="{low.pk}"')
    assert "phone exact" in html and "name similar" in html


def test_the_queue_filters_by_status_and_record_type(admin, login):
    """Status tabs and the record-type filter narrow the queue; an empty filter says what to do next."""
    contacts = factories.cluster(cf.contact(owner=admin), cf.contact(owner=admin))
    leads = factories.cluster(cf.lead(owner=admin), cf.lead(owner=admin))
    client = login(admin)
    html = client.get(reverse("dedupe-queue"), {"type": "lead"}).content.decode()
    assert f'data-cluster="{leads.pk}"' in html and f'data-cluster="{contacts.pk}"' not in html
    html = client.get(reverse("dedupe-queue"), {"status": "merged"}).content.decode()
    assert "No clusters match these filters." in html


def test_the_queue_costs_the_same_queries_for_three_or_twelve_clusters(admin, login):
    """No N+1: members and their records load in a fixed number of queries."""
    client = login(admin)
    for _ in range(3):
        factories.cluster(cf.contact(owner=admin), cf.lead(owner=admin), cf.account(owner=admin))
    client.get(reverse("dedupe-queue"))
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("dedupe-queue"))
    for _ in range(9):
        factories.cluster(cf.contact(owner=admin), cf.account(owner=admin), cf.contact(owner=admin))
    with CaptureQueriesContext(connection) as many:
        client.get(reverse("dedupe-queue"))
    assert len(many) == len(few)


def test_a_manager_sees_only_clusters_whose_records_they_see(world, login):
    """A cluster with a record outside the manager's teams is not in their queue, and its page is not found."""
    manager, marketing = world["users"]["manager"], world["users"]["marketing"]
    mine = factories.cluster(cf.contact(owner=manager), cf.contact(owner=manager))
    theirs = factories.cluster(cf.contact(owner=manager), cf.contact(owner=marketing, team=world["teams"]["marketing"]))
    client = login(manager)
    html = client.get(reverse("dedupe-queue")).content.decode()
    assert f'data-cluster="{mine.pk}"' in html and f'data-cluster="{theirs.pk}"' not in html
    assert client.get(reverse("dedupe-cluster", args=[theirs.pk])).status_code == 404


def test_the_comparison_highlights_differences_and_preselects_the_fuller_record(admin, login):
    """Fields in rows, members in columns; differing rows are highlighted; the default survivor is the more
    complete record and an empty value defaults to the record that has one."""
    sparse = cf.contact(owner=admin, surname="王", given_name="芳", phone="13900001111")
    full = cf.contact(
        owner=admin, surname="王", given_name="芳", phone="13900002222", email="wang@example.com", title="经理"
    )
    cluster = factories.cluster(sparse, full)
    html = login(admin).get(reverse("dedupe-cluster", args=[cluster.pk])).content.decode()
    assert f'name="survivor" value="contact:{full.pk}" checked' in html
    assert 'data-field="phone"' in html
    phone_row = html[html.index('data-field="phone"') - 40 : html.index('data-field="phone"')]
    assert "gx-differs" in phone_row
    assert f'name="choice_email" value="contact:{full.pk}" data-for="contact:{full.pk}" checked' in html
    assert "Why these look like one customer" in html


def test_merge_from_the_page_with_a_field_choice_then_undo(admin, login):
    """A reviewer merges keeping the other record's phone, lands on the history, and an administrator undoes it."""
    a = cf.contact(owner=admin, surname="赵", given_name="磊", phone="13700001111", title="总监")
    b = cf.contact(owner=admin, surname="赵", given_name="磊", phone="13700002222")
    cluster = factories.cluster(a, b)
    client = login(admin)
    form = {
        "survivor": f"contact:{a.pk}",
        "choice_phone": f"contact:{b.pk}",
        "choice_title": f"contact:{a.pk}",
        "seen": cluster.updated_at.isoformat(),
    }
    response = client.post(reverse("dedupe-cluster-merge", args=[cluster.pk]), form, follow=True)
    assert response.redirect_chain[-1][0] == reverse("dedupe-merges")
    a.refresh_from_db()
    assert a.phone == "+8613700002222" and a.title == "总监"
    assert Contact._base_manager.get(pk=b.pk).archived_at is not None

    merge = Merge.objects.get()
    response = client.post(reverse("dedupe-merge-undo", args=[merge.pk]), follow=True)
    assert "Merge undone" in response.content.decode()
    a.refresh_from_db()
    assert a.phone == "+8613700001111"
    assert Contact.objects.get(pk=b.pk).archived_at is None
    cluster.refresh_from_db()
    assert cluster.status == DuplicateCluster.Status.OPEN


def test_a_merge_of_a_cluster_that_changed_since_it_was_opened_is_refused(admin, login):
    """The page carries the cluster's version; if the cluster changed meanwhile, the merge is refused."""
    a, b = cf.contact(owner=admin), cf.contact(owner=admin)
    cluster = factories.cluster(a, b)
    seen = cluster.updated_at.isoformat()
    DuplicateCluster.objects.filter(pk=cluster.pk).update(score=0.5)
    cluster.save(update_fields=["updated_at"])
    response = login(admin).post(
        reverse("dedupe-cluster-merge", args=[cluster.pk]),
        {"survivor": f"contact:{a.pk}", "seen": seen},
        follow=True,
    )
    assert "changed since you opened it" in response.content.decode()
    assert not Merge.objects.exists()


def test_not_a_duplicate_dismisses_the_cluster(admin, login):
    """ "Not a duplicate" closes the cluster and says the pair will not come back."""
    cluster = factories.cluster(cf.contact(owner=admin), cf.contact(owner=admin))
    response = login(admin).post(reverse("dedupe-cluster-dismiss", args=[cluster.pk]), follow=True)
    assert "will not be proposed together again" in response.content.decode()
    cluster.refresh_from_db()
    assert cluster.status == DuplicateCluster.Status.DISMISSED


def test_a_merged_records_old_page_and_api_path_redirect_to_the_survivor(admin, login, bearer):
    """Opening a merged contact's URL or API path leads permanently to the survivor."""
    a, b = cf.contact(owner=admin), cf.contact(owner=admin)
    lead = cf.lead(owner=admin)
    from guanxi.dedupe.services import records_merge

    records_merge(survivor=a, others=[b, lead], field_choices={}, actor=admin)
    client = login(admin)
    page = client.get(reverse("contact-detail", args=[b.pk]))
    assert page.status_code == 301 and page["Location"] == reverse("contact-detail", args=[a.pk])
    page = client.get(reverse("lead-detail", args=[lead.pk]))
    assert page.status_code == 301 and page["Location"] == reverse("contact-detail", args=[a.pk])
    api = bearer(admin).get(f"/api/v1/contacts/{b.pk}")
    assert api.status_code == 301 and api["Location"] == f"/api/v1/contacts/{a.pk}"
    assert bearer(admin).get(f"/api/v1/contacts/{a.pk}").status_code == 200


def test_a_merged_id_outside_the_users_scope_is_still_not_found(world, login):
    """The redirect does not reveal records the user could not see."""
    admin, sales = world["users"]["administrator"], world["users"]["sales"]
    a, b = cf.contact(owner=admin), cf.contact(owner=admin)
    from guanxi.dedupe.services import records_merge

    records_merge(survivor=a, others=[b], field_choices={}, actor=admin)
    assert login(sales).get(reverse("contact-detail", args=[b.pk])).status_code == 404


def test_the_settings_page_sets_the_threshold_and_keeps_auto_merge_off_by_default(admin, login):
    """Auto-merge starts off; the administrator sets a threshold; a nonsense threshold is refused by field."""
    assert DedupeSettings.load().auto_merge_threshold is None
    client = login(admin)
    form = {"auto_merge_threshold": "0.99", "review_threshold": "0.8", "schedule_enabled": "on", "schedule_hour": "3"}
    assert client.post(reverse("dedupe-settings"), form).status_code == 302
    assert DedupeSettings.load().auto_merge_threshold == pytest.approx(0.99)
    response = client.post(reverse("dedupe-settings"), {**form, "auto_merge_threshold": "7"})
    assert response.status_code == 200 and "auto_merge_threshold" in response.content.decode()
    assert DedupeSettings.load().auto_merge_threshold == pytest.approx(0.99)
