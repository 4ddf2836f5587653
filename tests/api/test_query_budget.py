"""List endpoints and pages cost a fixed number of queries, however many rows they show (no N+1)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from guanxi.core.models import Job

from ..factories import TeamFactory

pytestmark = pytest.mark.django_db


def queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, response.content[:300]
    return len(ctx.captured_queries)


@pytest.fixture
def crowd(make_user):
    admin = make_user("administrator")
    teams = [TeamFactory() for _ in range(4)]
    return admin, teams


@pytest.mark.parametrize("url", ["/api/v1/users", "/api/v1/teams", "/api/v1/jobs", "/api/v1/events"])
def test_api_lists_do_not_grow_queries_with_rows(crowd, make_user, bearer, url):
    admin, teams = crowd
    client = bearer(admin)
    make_user("sales", teams=[teams[0]])
    Job.objects.create(kind="core.audit_export", owner=admin)
    queries(client, url)  # first use of a token or session writes its last-used time once
    few = queries(client, url)
    for i in range(20):
        make_user("sales", teams=[teams[i % 4]])
        Job.objects.create(kind="core.audit_export", owner=admin)
    assert queries(client, url) == few


@pytest.mark.parametrize("url", ["/settings/users/", "/settings/teams/", "/jobs/", "/settings/audit/"])
def test_pages_do_not_grow_queries_with_rows(crowd, make_user, login, url):
    admin, teams = crowd
    client = login(admin)
    make_user("sales", teams=[teams[0]])
    Job.objects.create(kind="core.audit_export", owner=admin)
    queries(client, url)  # first use of a token or session writes its last-used time once
    few = queries(client, url)
    for i in range(20):
        make_user("sales", teams=[teams[i % 4]])
        Job.objects.create(kind="core.audit_export", owner=admin)
    assert queries(client, url) == few
