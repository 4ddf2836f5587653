"""Jobs: a kind's permission guards starting it and opening its result; results belong to their owner."""

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from guanxi.core.jobs import job_execute, job_start
from guanxi.core.models import Job

pytestmark = pytest.mark.django_db


def test_a_job_kind_with_a_permission_cannot_be_started_without_it(make_user):
    with pytest.raises(PermissionDenied):
        job_start(kind="core.audit_export", actor=make_user("sales"))


def test_only_the_owner_opens_an_export_even_when_a_teammate_sees_the_job(
    world, login, django_capture_on_commit_callbacks
):
    users, east = world["users"], world["teams"]["east"]
    owner = users["manager"]
    owner.teams.set([east])
    users["analyst"].teams.set([east])  # an auditor in the same team: sees the job, not the result
    with django_capture_on_commit_callbacks(execute=True):
        job = job_start(kind="core.audit_export", actor=owner)
    job.refresh_from_db()
    assert job.state == Job.State.SUCCEEDED
    url = reverse("job-download", args=[job.pk])
    assert login(owner).get(url).status_code == 200
    teammate = login(users["analyst"])
    assert teammate.get(reverse("job-detail", args=[job.pk])).status_code == 200
    assert teammate.get(url).status_code == 403
    assert login(users["administrator"]).get(url).status_code == 200


def test_a_failing_job_ends_failed_with_its_error(make_user):
    from guanxi.core import jobs

    owner = make_user("administrator")
    job = Job.objects.create(kind="core.audit_export", owner=owner, params={"date_from": "not-a-date"})
    job_execute(job.pk)
    job.refresh_from_db()
    assert job.state == Job.State.FAILED and "date" in job.error.lower()
    assert jobs.job_execute(job.pk).state == Job.State.FAILED, "running a finished job again changes nothing"
