"""Merging duplicates loses nothing, and undo puts back exactly what was there (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections
from django.utils import translation

from guanxi.core import services as core_services
from guanxi.core.models import Event, Share, Tag
from guanxi.customers import selectors as customer_selectors
from guanxi.customers import services as customer_services
from guanxi.customers.models import Account, Contact, ContactAccount, Interaction, Lead
from guanxi.dedupe import services
from guanxi.dedupe.models import DuplicateCluster, Merge, MergeRedirect

from ..customers import factories as cf
from . import factories

pytestmark = pytest.mark.django_db


def world_state() -> dict[str, Any]:
    """Every row a merge may touch, as plain values: the exact state undo must bring back."""
    tables: dict[str, Any] = {}
    for model in (Contact, Account, Lead, ContactAccount, Interaction, Share, Tag):
        tables[model._meta.label] = sorted(model._base_manager.values(), key=lambda r: r["id"])
    for model in (Contact, Account, Lead):
        through = model.tags.through
        tables[through._meta.label] = sorted(through.objects.values_list(*[f"{model._meta.model_name}_id", "tag_id"]))
    tables["clusters"] = sorted(DuplicateCluster.objects.values_list("id", "status"))
    tables["redirects"] = list(MergeRedirect.objects.values_list("record_type", "old_id"))
    return tables


@pytest.fixture
def admin(make_user: Any) -> Any:
    return make_user("administrator")


@pytest.fixture
def custom_fields() -> None:
    core_services.custom_field_create(actor=None, record_type="contact", key="vip", label="贵宾", kind="text")
    core_services.custom_field_create(actor=None, record_type="contact", key="level", label="等级", kind="text")


def rich_pair(admin: Any, make_user: Any) -> dict[str, Any]:
    """Two contacts that are one person, each with its own interactions, task, links, tags, custom values, shares."""
    x = cf.account(owner=admin, name="华为 Huawei")
    y = cf.account(owner=admin, name="小米 Xiaomi")
    reader, other_reader = make_user("sales"), make_user("sales")
    lead = cf.lead(owner=admin, surname="张", given_name="伟", email="zhang.wei@example.com")
    b_contact, _account = customer_services.lead_convert(lead=lead, actor=admin, account=y)
    customer_services.contact_update(
        contact=b_contact,
        actor=admin,
        accounts=[(x, "采购"), (y, "经理")],
        custom={"level": "gold"},
        tags="北京, VIP",
    )
    a_contact = cf.contact(
        owner=admin,
        surname="张",
        given_name="伟",
        phone="13912345678",
        accounts=[(x, "决策人")],
        custom={"vip": "是"},
        tags="VIP",
    )
    b_calls = [cf.interaction(about=b_contact, actor=admin) for _ in range(2)]
    b_task = cf.task(about=b_contact, actor=admin)
    a_call = cf.interaction(about=a_contact, actor=admin)
    Share.objects.create(record=a_contact, user=reader)
    Share.objects.create(record=b_contact, user=reader, can_change=True)  # collides with a's share
    Share.objects.create(record=b_contact, user=other_reader)
    return {
        "a": a_contact,
        "b": b_contact,
        "lead": lead,
        "x": x,
        "y": y,
        "b_rows": [*b_calls, b_task],
        "a_call": a_call,
        "reader": reader,
        "other_reader": other_reader,
    }


def test_a_merge_moves_every_related_record_and_undo_restores_the_exact_prior_state(admin, make_user, custom_fields):
    """Given two contacts with interactions, a task, account links (one to the same account), tags, custom values,
    shares and a converted lead, merging moves all of it to the survivor and undo restores every row exactly."""
    w = rich_pair(admin, make_user)
    a, b = w["a"], w["b"]
    cluster = factories.cluster(a, b)
    before = world_state()
    b_events = set(Event.objects.for_object(b).values_list("id", flat=True))

    merge = services.records_merge(
        survivor=a,
        others=[b],
        field_choices={"email": f"contact:{b.pk}", "custom.level": f"contact:{b.pk}", "title": f"contact:{a.pk}"},
        actor=admin,
        cluster=cluster,
    )

    a.refresh_from_db()
    b = Contact._base_manager.get(pk=b.pk)
    # every interaction and task of b now belongs to a
    assert set(Interaction.objects.filter(contact=a).values_list("pk", flat=True)) == {
        w["a_call"].pk,
        *(row.pk for row in w["b_rows"]),
    }
    assert not Interaction.objects.filter(contact=b).exists()
    # account links: the one to X kept once (a's role), the one to Y moved
    assert sorted(a.links.values_list("account_id", "role")) == sorted([(w["x"].pk, "决策人"), (w["y"].pk, "经理")])
    assert not ContactAccount.objects.filter(contact=b).exists()
    # tags united, chosen and filled custom values, chosen email
    assert sorted(t.name for t in a.tags.all()) == ["VIP", "北京"]
    assert a.custom == {"vip": "是", "level": "gold"}
    assert a.email == "zhang.wei@example.com"
    assert a.phone == "+8613912345678"
    # shares: the colliding one dropped (the reader already had one), the other moved
    assert set(Share.objects.filter(object_id=a.pk, content_type__model="contact").values_list("user", flat=True)) == {
        w["reader"].pk,
        w["other_reader"].pk,
    }
    # the lead b was converted from now belongs to the survivor, so its history follows
    assert a.converted_from_id == w["lead"].pk
    # b is archived, not deleted, and its id leads to a
    assert b.archived_at is not None
    assert MergeRedirect.objects.get(record_type="contact", old_id=b.pk).survivor_id == a.pk
    cluster.refresh_from_db()
    assert cluster.status == DuplicateCluster.Status.MERGED
    # one merged event on a with the full before-state of both records and what moved
    event = merge.event
    assert event is not None and event.action == "merged" and event.object_id == a.pk
    assert set(event.data["before"]) == {f"contact:{a.pk}", f"contact:{b.pk}"}
    assert event.data["before"][f"contact:{b.pk}"]["fields"]["custom"] == {"level": "gold"}
    assert len(event.data["dropped"]) == 2  # the second link to X and the second share to the reader
    assert {m["model"] for m in event.data["moved"]} >= {
        "customers.interaction",
        "customers.contactaccount",
        "core.share",
    }
    # a's timeline shows b's history too
    timeline_events = {
        item.event.pk for item in customer_selectors.customer_timeline(record=a, user=admin) if item.event
    }
    assert b_events <= timeline_events

    services.merge_undo(merge=merge, actor=admin)

    assert world_state() == before
    merge.refresh_from_db()
    assert merge.undone_at is not None and merge.undone_by == admin
    assert Event.objects.for_object(a).filter(action="merge_undone").count() == 1


def test_a_lead_that_is_already_a_contact_folds_into_the_contact(admin):
    """Given a lead and a contact for the same person, the contact survives, takes the lead's interactions and
    tags, and the lead is marked converted and archived; undo brings the lead back as it was."""
    contact = cf.contact(owner=admin, surname="陈", given_name="静", phone="13811112222")
    lead = cf.lead(owner=admin, surname="陈", given_name="静", email="chen.jing@example.com", tags="展会")
    call = cf.interaction(about=lead, actor=admin)
    cluster = factories.cluster(contact, lead)
    before = world_state()

    merge = services.records_merge(survivor=contact, others=[lead], field_choices={}, actor=admin, cluster=cluster)

    contact.refresh_from_db()
    lead = Lead._base_manager.get(pk=lead.pk)
    call.refresh_from_db()
    assert (call.contact_id, call.lead_id) == (contact.pk, None)
    assert contact.email == "chen.jing@example.com"  # empty on the survivor: filled from the lead
    assert [t.name for t in contact.tags.all()] == ["展会"]
    assert lead.status == Lead.Status.CONVERTED and lead.archived_at is not None
    assert MergeRedirect.objects.get(record_type="lead", old_id=lead.pk).survivor_type == "contact"

    services.merge_undo(merge=merge, actor=admin)
    assert world_state() == before


def test_the_contact_must_survive_a_lead_and_accounts_do_not_merge_with_people(admin):
    """A lead cannot swallow a contact, and an account cannot be merged with a person."""
    contact, lead, account = cf.contact(owner=admin), cf.lead(owner=admin), cf.account(owner=admin)
    with pytest.raises(ValidationError) as lead_first:
        services.records_merge(survivor=lead, others=[contact], field_choices={}, actor=admin)
    assert "survivor" in lead_first.value.message_dict
    with pytest.raises(ValidationError):
        services.records_merge(survivor=account, others=[contact], field_choices={}, actor=admin)


def test_a_record_deleted_meanwhile_refuses_the_merge_and_writes_nothing(admin):
    """Given a cluster whose other record was deleted after the page was opened, the merge is refused naming
    that record and no row changes."""
    a, b = cf.contact(owner=admin), cf.contact(owner=admin)
    cf.interaction(about=a, actor=admin)
    cluster = factories.cluster(a, b)
    Contact.objects.filter(pk=b.pk).delete()
    before = world_state()

    with translation.override("en"), pytest.raises(ValidationError) as refused:
        services.records_merge(survivor=a, others=[b], field_choices={}, actor=admin, cluster=cluster)

    assert f"contact:{b.pk} was deleted meanwhile" in str(refused.value)
    assert world_state() == before
    assert not Merge.objects.exists()


def test_a_second_merge_of_the_same_cluster_is_refused_naming_who_merged_it(admin, make_user):
    """Two people merging one cluster: the second is told it was already merged, and by whom."""
    manager = make_user("manager", full_name="王经理")
    a, b = cf.contact(owner=admin), cf.contact(owner=admin)
    cluster = factories.cluster(a, b)
    services.records_merge(survivor=a, others=[b], field_choices={}, actor=admin, cluster=cluster)
    before = world_state()

    with translation.override("en"), pytest.raises(ValidationError) as refused:
        services.records_merge(survivor=b, others=[a], field_choices={}, actor=manager, cluster=cluster)

    assert f"already merged by {admin}" in str(refused.value)
    assert world_state() == before


@pytest.mark.parametrize(
    ("choices", "field"),
    [
        ({"nonsense": "contact:{b}"}, "field_choices"),
        ({"email": "contact:999999999"}, "email"),
        ({"email": "garbage"}, "email"),
        ({"company_name": "contact:{b}"}, "field_choices"),
        ({"custom.nope": "contact:{b}"}, "field_choices"),
    ],
)
def test_garbage_field_choices_are_refused_naming_the_field(admin, choices, field):
    """Unknown fields, records outside the merge and unreadable record names are refused by field; nothing moves."""
    a, b = cf.contact(owner=admin), cf.contact(owner=admin)
    cf.interaction(about=b, actor=admin)
    before = world_state()
    filled = {k: v.format(b=b.pk) for k, v in choices.items()}

    with pytest.raises(ValidationError) as refused:
        services.records_merge(survivor=a, others=[b], field_choices=filled, actor=admin)

    assert field in refused.value.message_dict
    assert world_state() == before


def test_a_merge_outside_the_actors_scope_is_refused(world):
    """A sales rep cannot merge a colleague's contact from another team into theirs."""
    sales, marketing = world["users"]["sales"], world["users"]["marketing"]
    mine = cf.contact(owner=sales)
    theirs = cf.contact(owner=marketing, team=world["teams"]["marketing"])
    with pytest.raises(ValidationError):
        services.records_merge(survivor=mine, others=[theirs], field_choices={}, actor=sales)
    assert Contact.objects.get(pk=theirs.pk).archived_at is None


def test_undo_is_refused_when_the_survivor_was_edited_since(admin):
    """Undo would overwrite a later edit of the survivor: it is refused, saying which fields changed."""
    a, b = cf.contact(owner=admin), cf.contact(owner=admin, email="b@example.com")
    merge = services.records_merge(survivor=a, others=[b], field_choices={}, actor=admin)
    a.refresh_from_db()
    customer_services.contact_update(contact=a, actor=admin, title="销售总监")

    with translation.override("en"), pytest.raises(ValidationError) as refused:
        services.merge_undo(merge=merge, actor=admin)

    assert "title" in str(refused.value) and f"contact:{a.pk}" in str(refused.value)
    merge.refresh_from_db()
    assert merge.undone_at is None
    assert MergeRedirect.objects.filter(merge=merge).exists()


def test_undo_is_refused_when_a_moved_interaction_was_deleted_since(admin):
    """A moved row that no longer exists cannot be moved back: undo says which one and changes nothing."""
    a, b = cf.contact(owner=admin), cf.contact(owner=admin)
    call = cf.interaction(about=b, actor=admin)
    merge = services.records_merge(survivor=a, others=[b], field_choices={}, actor=admin)
    Interaction.objects.filter(pk=call.pk).delete()

    with pytest.raises(ValidationError) as refused:
        services.merge_undo(merge=merge, actor=admin)

    assert f"#{call.pk}" in str(refused.value)
    assert Contact._base_manager.get(pk=b.pk).archived_at is not None


def test_only_administrators_undo(admin, make_user):
    """A manager may merge but not undo."""
    manager = make_user("manager")
    a, b = cf.contact(owner=manager), cf.contact(owner=manager)
    merge = services.records_merge(survivor=a, others=[b], field_choices={}, actor=manager)
    with pytest.raises(ValidationError):
        services.merge_undo(merge=merge, actor=manager)
    services.merge_undo(merge=merge, actor=admin)


def test_merging_into_a_survivor_that_later_merges_again_keeps_old_ids_resolving(admin):
    """A merged into B, then B into C: A's old id leads to C; undoing the second merge leads it back to B."""
    a, b, c = cf.contact(owner=admin), cf.contact(owner=admin), cf.contact(owner=admin)
    services.records_merge(survivor=b, others=[a], field_choices={}, actor=admin)
    second = services.records_merge(survivor=c, others=[b], field_choices={}, actor=admin)
    assert MergeRedirect.objects.get(record_type="contact", old_id=a.pk).survivor_id == c.pk
    services.merge_undo(merge=second, actor=admin)
    assert MergeRedirect.objects.get(record_type="contact", old_id=a.pk).survivor_id == b.pk


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="two connections at once: PostgreSQL row locks")
def test_two_people_merging_one_cluster_at_once_one_wins_the_other_is_refused(make_user):
    """Two threads merge the same cluster at the same moment: exactly one merge happens, the other is refused
    with "already merged", and no record is half-merged."""
    first, second = make_user("administrator"), make_user("manager")
    a, b = cf.contact(owner=first), cf.contact(owner=first)
    cf.interaction(about=b, actor=first)
    cluster = factories.cluster(a, b)
    second.sees_everything  # noqa: B018  warm the cached scope outside the race
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def merge(actor: Any, survivor: Contact, other: Contact) -> None:
        try:
            barrier.wait()
            services.records_merge(survivor=survivor, others=[other], field_choices={}, actor=actor, cluster=cluster)
            outcomes.append("merged")
        except ValidationError as exc:
            outcomes.append(" ".join(exc.messages))
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=merge, args=(first, a, b)),
        threading.Thread(target=merge, args=(make_user("administrator"), b, a)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert outcomes.count("merged") == 1
    assert Merge.objects.count() == 1
    assert MergeRedirect.objects.count() == 1
    merged = Merge.objects.get()
    survivor_id = merged.survivor_id
    assert Interaction.objects.filter(contact_id=survivor_id).count() == 1
    assert Contact.objects.filter(archived_at__isnull=True).count() == 1


def test_merging_accounts_moves_people_links_converted_leads_and_interactions(admin):
    """Two accounts for one company: contacts' links (one person linked to both kept once), the leads converted
    into the merged account and its interactions all move to the survivor; undo restores every row."""
    kept, gone = cf.account(owner=admin, name="上海云帆科技有限公司"), cf.account(owner=admin, name="云帆科技 Yunfan")
    both = cf.contact(owner=admin, accounts=[(kept, "采购"), (gone, "经理")])
    only_gone = cf.contact(owner=admin, accounts=[(gone, "")])
    lead = cf.lead(owner=admin, company_name="云帆")
    converted, _account = customer_services.lead_convert(lead=lead, actor=admin, account=gone)
    visit = cf.interaction(about=gone, actor=admin, kind=Interaction.Kind.VISIT)
    before = world_state()

    merge = services.records_merge(
        survivor=kept, others=[gone], field_choices={"name": f"account:{kept.pk}"}, actor=admin
    )

    assert set(kept.contact_links.values_list("contact_id", flat=True)) == {both.pk, only_gone.pk, converted.pk}
    assert ContactAccount.objects.filter(contact=both).count() == 1
    assert Lead.objects.get(pk=lead.pk).converted_account_id == kept.pk
    visit.refresh_from_db()
    assert visit.account_id == kept.pk

    services.merge_undo(merge=merge, actor=admin)
    assert world_state() == before
