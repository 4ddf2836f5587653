"""The one record scope, `visible_to`, on an owned model (jobs)."""

import pytest
from django.contrib.contenttypes.models import ContentType

from guanxi.core.models import Job, Share

from ..factories import TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


def job_of(user, team=None):
    return Job.objects.create(kind="core.audit_export", owner=user, team=team)


def visible(user, action="view"):
    return set(Job.objects.visible_to(user, action).values_list("pk", flat=True))


def test_a_user_sees_own_records_and_their_teams_but_not_other_teams(world):
    users, teams = world["users"], world["teams"]
    mine = job_of(users["sales"])
    teammates = job_of(users["service"], teams["east"])
    other_team = job_of(users["marketing"], teams["marketing"])
    assert visible(users["sales"]) == {mine.pk, teammates.pk}
    assert other_team.pk not in visible(users["sales"])


def test_a_manager_sees_every_team_below_the_one_they_manage(world):
    users, teams = world["users"], world["teams"]
    deep = TeamFactory(parent=teams["east"])
    below = job_of(users["sales"], deep)
    east = job_of(users["sales"], teams["east"])
    outside = job_of(users["marketing"], teams["marketing"])
    seen = visible(users["manager"])
    assert {below.pk, east.pk} <= seen
    assert outside.pk not in seen


def test_administrators_see_everything(world):
    users, teams = world["users"], world["teams"]
    jobs = {job_of(users["sales"], teams["east"]).pk, job_of(users["marketing"], teams["marketing"]).pk}
    assert jobs <= visible(users["administrator"])


def test_an_explicit_share_opens_one_record_and_change_needs_a_changing_share(world):
    users = world["users"]
    outsider = UserFactory(roles=["sales"], teams=[TeamFactory()])
    job = job_of(outsider, outsider.teams.first())
    ct = ContentType.objects.get_for_model(Job)
    assert job.pk not in visible(users["sales"])
    Share.objects.create(content_type=ct, object_id=job.pk, user=users["sales"])
    assert job.pk in visible(users["sales"])
    users["sales"].user_permissions.add(*_perm("change_job"))
    fresh = type(users["sales"]).objects.get(pk=users["sales"].pk)
    assert job.pk not in visible(fresh, "change")
    Share.objects.filter(object_id=job.pk).update(can_change=True)
    assert job.pk in visible(fresh, "change")


def test_without_the_model_permission_nothing_is_visible(world):
    nobody = world["users"]["nobody"]
    job_of(nobody)
    assert visible(nobody) == set()


def test_an_inactive_user_sees_nothing(world):
    sales = world["users"]["sales"]
    job_of(sales)
    sales.is_active = False
    sales.save()
    assert visible(sales) == set()


def _perm(codename):
    from django.contrib.auth.models import Permission

    return Permission.objects.filter(codename=codename)
