"""Data quality: a completeness score per record from weights, kept fresh by every write, recomputed by a job,
and shown by owner, team and field to managers (their teams) and administrators."""

from __future__ import annotations

import io

import pytest
from celery.schedules import crontab
from django.conf import settings as django_settings
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from guanxi.core.models import Event, Job
from guanxi.customers import quality, selectors, services
from guanxi.customers.models import Account, Contact, Lead, QualityWeights

from ..factories import TeamFactory
from . import factories

pytestmark = pytest.mark.django_db

ENGLISH = {"HTTP_ACCEPT_LANGUAGE": "en"}
CONTACT = quality.DEFAULT_WEIGHTS["contact"]


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def score(values, record_type="contact", weights=None):
    return quality.completeness(values, record_type=record_type, weights=weights or CONTACT)


# --- the pure function ------------------------------------------------------------------------


def test_a_record_with_every_weighted_field_scores_100_and_misses_nothing():
    values = {"phone": "+8613800138000", "email": "a@example.com", "has_accounts": True, "title": "经理"}
    values |= {"province": "浙江", "city": "杭州", "street": "文三路 1 号"}
    result = score(values)
    assert (result.score, result.missing) == (100, ())


def test_an_empty_record_scores_0_and_lists_what_is_missing_heaviest_first():
    result = score({})
    assert result.score == 0
    assert result.missing_keys == ["email", "phone", "accounts", "place", "street", "title"]


def test_the_score_is_the_share_of_the_weight_present():
    """Phone (25) and title (10) of 100: 35."""
    assert score({"phone": "+8613800138000", "title": "经理"}).score == 35


def test_a_field_group_counts_only_when_every_field_is_filled():
    """ "Province and city" is one check: a province alone is not enough."""
    assert "place" in score({"province": "浙江"}).missing_keys
    assert "place" not in score({"province": "浙江", "city": "杭州"}).missing_keys


def test_the_score_rounds_down_so_100_means_nothing_missing():
    weights = {"phone": 1, "email": 1, "title": 1}
    assert score({"phone": "x", "email": "y"}, weights=weights).score == 66


def test_a_weight_of_0_leaves_the_field_out_and_no_weights_at_all_scores_100():
    assert score({"phone": "x"}, weights={"phone": 10, "email": 0}).score == 100
    assert score({}, weights={"phone": 0}).score == 100


def test_the_recompute_scores_exactly_like_the_pure_function():
    """Every combination of present and missing contact checks, under the default and uneven weights."""
    import itertools

    samples = {"phone": "x", "email": "y", "has_accounts": True, "title": "t", "province": "p", "city": "c"}
    samples["street"] = "s"
    keys = list(samples)
    for weights in (CONTACT, {"phone": 7, "email": 3, "accounts": 0, "title": 1, "place": 13, "street": 2}):
        fast = quality.score_function("contact", weights)
        for mask in itertools.product([False, True], repeat=len(keys)):
            values = {k: samples[k] for k, keep in zip(keys, mask, strict=True) if keep}
            assert fast(values) == score(values, weights=weights).score


def test_a_registered_check_can_carry_a_weight_later(monkeypatch):
    """The hook for custom fields: a check registered for a record type counts once it has a weight."""
    monkeypatch.setitem(quality.CHECKS, "lead", dict(quality.CHECKS["lead"]))
    monkeypatch.setitem(quality.DEFAULT_WEIGHTS, "lead", dict(quality.DEFAULT_WEIGHTS["lead"]))
    quality.quality_check("lead", quality.Check("budget", "budget", ("notes",)))
    assert quality.weights_for("lead")["budget"] == 0
    result = quality.completeness({}, record_type="lead", weights={"budget": 5})
    assert result.missing_keys == ["budget"]


# --- the services keep scores fresh -----------------------------------------------------------


def test_creating_and_updating_a_contact_stores_its_score(make_user):
    owner = make_user("sales")
    contact = factories.contact(owner=owner, surname="张", given_name="伟", phone="13800138000")
    assert contact.completeness == 25
    assert Contact.objects.get(pk=contact.pk).completeness == 25
    services.contact_update(contact=contact, actor=owner, email="wei@example.com", title="经理")
    assert Contact.objects.get(pk=contact.pk).completeness == 60


def test_linking_a_contact_to_an_account_raises_both_scores_and_unlinking_lowers_them(make_user):
    owner = make_user("sales")
    account = factories.account(owner=owner, name="阿里巴巴")
    assert account.completeness == 0
    contact = factories.contact(owner=owner, phone="13800138000", accounts=[(account, "采购经理")])
    assert Contact.objects.get(pk=contact.pk).completeness == 40  # phone 25 + accounts 15
    assert Account.objects.get(pk=account.pk).completeness == 20  # contacts 20
    services.contact_update(contact=contact, actor=owner, accounts=[])
    assert Contact.objects.get(pk=contact.pk).completeness == 25
    assert Account.objects.get(pk=account.pk).completeness == 0


def test_converting_a_lead_scores_the_new_contact_and_account(make_user):
    owner = make_user("sales")
    lead = factories.lead(owner=owner, phone="13800138000", company_name="小米科技")
    contact, account = services.lead_convert(lead=lead, actor=owner)
    assert (contact.completeness, account.completeness) == (40, 20), "the returned records show their scores"
    assert Contact.objects.get(pk=contact.pk).completeness == 40
    assert Account.objects.get(pk=account.pk).completeness == 20


def test_a_lead_is_scored_on_create_and_update(make_user):
    owner = make_user("sales")
    lead = services.lead_create(actor=owner, company_name="字节跳动")
    assert lead.completeness == 15
    services.lead_update(lead=lead, actor=owner, source="web", notes="展会认识")
    assert Lead.objects.get(pk=lead.pk).completeness == 35


def test_a_refused_write_leaves_the_stored_score_alone(make_user):
    owner = make_user("sales")
    contact = factories.contact(owner=owner, phone="13800138000")
    with pytest.raises(ValidationError):
        services.contact_update(contact=contact, actor=owner, email="not an email", title="经理")
    assert Contact.objects.get(pk=contact.pk).completeness == 25


# --- weights ----------------------------------------------------------------------------------


def test_changing_weights_records_it_and_recomputes_that_record_type(make_user, django_capture_on_commit_callbacks):
    admin = make_user("administrator")
    contact = factories.contact(owner=admin, phone="13800138000")
    assert contact.completeness == 25
    with django_capture_on_commit_callbacks(execute=True):
        weights, job = services.quality_weights_set(
            record_type="contact",
            weights={"phone": 50, "email": 50, "accounts": 0, "title": 0, "place": 0, "street": 0},
            actor=admin,
        )
    assert weights == {"phone": 50, "email": 50, "accounts": 0, "title": 0, "place": 0, "street": 0}
    job.refresh_from_db()
    assert job.state == Job.State.SUCCEEDED and job.params == {"record_types": ["contact"]}
    assert Contact.objects.get(pk=contact.pk).completeness == 50
    event = Event.objects.filter(action="updated", object_repr="Contacts").get()
    assert event.changes["phone"] == [25, 50] and event.actor == admin


def test_weights_left_out_keep_their_value_and_no_change_starts_no_job(make_user):
    admin = make_user("administrator")
    weights, _job = services.quality_weights_set(record_type="lead", weights={"notes": 30}, actor=admin)
    assert weights == {**quality.DEFAULT_WEIGHTS["lead"], "notes": 30}
    assert quality.weights_for("lead")["notes"] == 30
    assert services.quality_weights_set(record_type="lead", weights={"notes": 30}, actor=admin)[1] is None


@pytest.mark.parametrize(
    ("weights", "field"),
    [
        ({"fax": 10}, "fax"),
        ({"phone": -1}, "phone"),
        ({"phone": 101}, "phone"),
        ({"phone": "lots"}, "phone"),
        ({"phone": 2.5}, "phone"),
        ({"phone": True}, "phone"),
    ],
)
def test_a_bad_weight_is_refused_naming_the_field_and_nothing_is_saved(make_user, weights, field):
    with pytest.raises(ValidationError) as exc:
        services.quality_weights_set(record_type="contact", weights=weights, actor=make_user("administrator"))
    assert list(exc.value.message_dict) == [field]
    assert not QualityWeights.objects.exists() and not Job.objects.exists()


def test_weights_that_count_nothing_are_refused(make_user):
    zero = dict.fromkeys(quality.DEFAULT_WEIGHTS["lead"], 0)
    with pytest.raises(ValidationError) as exc:
        services.quality_weights_set(record_type="lead", weights=zero, actor=make_user("administrator"))
    assert "at least one field" in str(exc.value)


# --- the recompute job ------------------------------------------------------------------------


def test_the_recompute_walks_every_record_in_chunks_and_fixes_stale_scores(make_user):
    owner = make_user("sales")
    contacts = [factories.contact(owner=owner, phone=f"1380013800{i}", title="经理" if i % 2 else "") for i in range(5)]
    Contact.objects.update(completeness=0)
    seen: list[int] = []
    result = quality.scores_recompute("contact", chunk=2, on_chunk=seen.append)
    assert result == {"records": 5, "changed": 5}
    assert seen == [2, 4, 5]
    stored = dict(Contact.objects.values_list("pk", "completeness"))
    assert stored == {c.pk: quality.record_completeness(c).score for c in contacts}
    assert quality.scores_recompute("contact", chunk=2, on_chunk=seen.append)["changed"] == 0


def test_the_recompute_job_reports_progress_and_its_result(make_user, django_capture_on_commit_callbacks):
    admin = make_user("administrator")
    factories.contact(owner=admin)
    factories.account(owner=admin)
    factories.lead(owner=admin)
    Contact.objects.update(completeness=99)
    with django_capture_on_commit_callbacks(execute=True):
        job = services.quality_recompute_start(actor=admin)
    job.refresh_from_db()
    assert job.state == Job.State.SUCCEEDED
    assert (job.done, job.total, job.percent) == (3, 3, 100)
    assert job.result["contact"] == {"records": 1, "changed": 1}
    assert set(job.result) == {"account", "contact", "lead"}


def test_the_nightly_recompute_is_a_system_job_seen_by_administrators(world, django_capture_on_commit_callbacks):
    from guanxi.customers.tasks import quality_recompute_nightly

    with django_capture_on_commit_callbacks(execute=True):
        job_id = quality_recompute_nightly()
    job = Job.objects.get(pk=job_id)
    assert job.owner is None and job.state == Job.State.SUCCEEDED
    assert selectors_jobs(world["users"]["administrator"]).filter(pk=job_id).exists()
    assert not selectors_jobs(world["users"]["manager"]).filter(pk=job_id).exists()


def selectors_jobs(user):
    from guanxi.core.selectors import jobs_visible_to

    return jobs_visible_to(user)


def test_beat_runs_the_recompute_nightly_at_half_past_two_local_time():
    entry = django_settings.CELERY_BEAT_SCHEDULE["quality-recompute-nightly"]
    assert entry["task"] == "guanxi.customers.tasks.quality_recompute_nightly"
    assert entry["schedule"] == crontab(hour=2, minute=30)
    assert django_settings.CELERY_TIMEZONE == django_settings.TIME_ZONE


def test_only_an_administrator_may_start_a_recompute(make_user):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        services.quality_recompute_start(actor=make_user("manager"))


# --- the report -------------------------------------------------------------------------------


@pytest.fixture
def teams(world):
    """East sales (in the manager's tree) with two scored contacts; an outside team with one."""
    users = world["users"]
    outsider_team = TeamFactory(name="华南 South")
    factories.contact(owner=users["sales"], phone="13800138001")  # 25
    factories.contact(
        owner=users["sales"], phone="13800138002", email="b@example.com", title="经理", province="浙江", city="杭州"
    )  # 75
    factories.contact(owner=None, actor=users["administrator"], team=outsider_team, phone="13800138003")
    return world


def test_the_sql_counts_per_field_agree_with_the_python_checks(teams):
    admin = teams["users"]["administrator"]
    report = selectors.quality_report(user=admin, record_type="contact")
    contacts = list(quality.with_checks(Contact.objects.all(), "contact"))
    for field in report.fields:
        check = quality.CHECKS["contact"][field.key]
        values = [{**c.__dict__} for c in contacts]
        assert field.filled == sum(check.present(v) for v in values), field.key


def test_a_manager_sees_the_figures_of_their_teams_only(teams):
    report = selectors.quality_report(user=teams["users"]["manager"], record_type="contact")
    assert (report.count, report.average) == (2, 50.0)
    assert [(b[0], b[2]) for b in report.distribution if b[2]] == [(20, 1), (70, 1)]
    assert [g.name for g in report.by_team] == ["华东 East"]
    email = next(f for f in report.fields if f.key == "email")
    assert (email.filled, email.rate) == (1, 50.0)
    admin = selectors.quality_report(user=teams["users"]["administrator"], record_type="contact")
    assert admin.count == 3


def test_owners_and_teams_sort_by_name_count_or_average(teams):
    users = teams["users"]
    factories.contact(owner=users["manager"], email="m@example.com", phone="13800138009")  # 50, head office
    report = selectors.quality_report(user=users["administrator"], record_type="contact", sort="-average")
    averages = [g.average for g in report.by_team]
    assert averages == sorted(averages, reverse=True)
    by_name = selectors.quality_report(user=users["administrator"], record_type="contact", sort="name").by_team
    assert [g.name for g in by_name] == sorted((g.name for g in by_name), key=str.casefold)


def test_the_page_shows_the_worst_records_first_with_what_to_fix(teams, login):
    manager = teams["users"]["manager"]
    manager.language = "en"  # the reader's own language wins over the browser's
    manager.save(update_fields=["language"])
    page = login(manager).get(reverse("data-quality"), ENGLISH).content.decode()
    assert "Completion by field" in page and "Scores by owner" in page and "Scores by team" in page
    worst, better = Contact.objects.filter(team=teams["teams"]["east"]).order_by("completeness")
    assert page.index(f'data-record="{worst.pk}"') < page.index(f'data-record="{better.pk}"')
    assert reverse("contact-edit", args=[worst.pk]) in page
    outsider = Contact.objects.exclude(team=teams["teams"]["east"]).get()
    assert f'data-record="{outsider.pk}"' not in page
    assert "Recompute now" not in page, "only administrators recompute"


def test_the_page_filters_by_owner_team_and_record_type(teams, login):
    users = teams["users"]
    client = login(users["administrator"])
    page = client.get(reverse("data-quality"), {"owner": users["sales"].pk}, **ENGLISH).content.decode()
    assert page.count('data-record="') == 2
    page = client.get(reverse("data-quality"), {"type": "lead"}, **ENGLISH).content.decode()
    assert "No records to score here." in page


def test_the_page_costs_the_same_queries_for_more_records(teams, login):
    client = login(teams["users"]["manager"])
    client.get(reverse("data-quality"))
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("data-quality"))
    for i in range(5):
        factories.contact(owner=teams["users"]["sales"], phone=f"1390013900{i}")
    with CaptureQueriesContext(connection) as more:
        client.get(reverse("data-quality"))
    assert len(more) == len(few)


@pytest.mark.parametrize("language", ["zh-hans", "zh-hant", "en"])
def test_the_page_renders_in_every_language(teams, login, language):
    response = login(teams["users"]["administrator"]).get(reverse("data-quality"), HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200 and 'data-average="' in response.content.decode()


def test_a_detail_page_shows_the_score_and_what_is_missing(make_user, login):
    sales = make_user("sales", language="en")
    contact = factories.contact(owner=sales, phone="13800138000")
    page = login(sales).get(reverse("contact-detail", args=[contact.pk])).content.decode()
    assert 'data-completeness="25"' in page and "Completeness 25%" in page and "Missing:" in page


def test_the_weights_page_saves_and_starts_a_recompute(make_user, login, django_capture_on_commit_callbacks):
    admin = make_user("administrator", language="en")
    client = login(admin)
    form = {**quality.weights_for("account"), "website": 40}
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"{reverse('quality-weights')}?type=account", form)
    job = Job.objects.get(kind="customers.quality_recompute")
    assert response.status_code == 302 and response.url == job.get_absolute_url()
    assert quality.weights_for("account")["website"] == 40
    bad = client.post(f"{reverse('quality-weights')}?type=account", {**form, "tier": -3}).content.decode()
    assert "greater than or equal to 0" in bad


# --- the API ----------------------------------------------------------------------------------


def test_the_api_gives_the_page_figures_in_scope(teams, bearer):
    body = bearer(teams["users"]["manager"]).get("/api/v1/data-quality").json()
    assert (body["count"], body["average"]) == (2, 50.0)
    assert [r["score"] for r in body["worst"]] == [25, 75]
    assert body["worst"][0]["missing_keys"] == ["email", "accounts", "place", "street", "title"]
    assert len(body["distribution"]) == 10 and body["distribution"][-1]["score_to"] == 100


def test_the_api_refuses_an_unknown_record_type_naming_the_field(teams, bearer):
    response = bearer(teams["users"]["administrator"]).get("/api/v1/data-quality", {"type": "deal"})
    assert response.status_code == 422
    assert list(response.json()["error"]["fields"]) == ["type"]


def test_the_api_reads_and_changes_weights(make_user, bearer, django_capture_on_commit_callbacks):
    client = bearer(make_user("administrator"))
    weights = {w["record_type"]: w for w in client.get("/api/v1/data-quality/weights").json()}
    assert weights["contact"]["weights"] == quality.DEFAULT_WEIGHTS["contact"]
    assert weights["contact"]["labels"]["place"] == "province and city"
    with django_capture_on_commit_callbacks(execute=True):
        saved = client.put(
            "/api/v1/data-quality/weights/lead", {"weights": {"source": 0}}, content_type="application/json"
        )
    assert saved.status_code == 200 and saved.json()["weights"]["source"] == 0 and saved.json()["job_id"]
    bad = client.put("/api/v1/data-quality/weights/lead", {"weights": {"phone": 500}}, content_type="application/json")
    assert bad.status_code == 422 and list(bad.json()["error"]["fields"]) == ["phone"]


def test_the_api_queues_a_recompute(make_user, bearer):
    response = bearer(make_user("administrator")).post(
        "/api/v1/data-quality/recompute", {"record_types": ["account"]}, content_type="application/json"
    )
    assert response.status_code == 202 and response.json()["kind"] == "customers.quality_recompute"
    assert Job.objects.get(pk=response.json()["id"]).params == {"record_types": ["account"]}


# --- demo data --------------------------------------------------------------------------------


def test_demo_customers_come_with_scores():
    call_command("demo", customers=30, seed=5, users=8, stdout=io.StringIO())
    assert not Contact.objects.filter(completeness=0).exists(), "demo contacts have phones and emails"
    for contact in Contact.objects.all()[:10]:
        assert contact.completeness == quality.record_completeness(contact).score
    assert Account.objects.filter(completeness__gt=0).exists()


def test_the_record_endpoints_carry_the_score(make_user, bearer):
    sales = make_user("sales")
    contact = factories.contact(owner=sales, phone="13800138000")
    assert bearer(sales).get(f"/api/v1/contacts/{contact.pk}").json()["completeness"] == 25
