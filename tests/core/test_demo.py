"""Demo data: deterministic bilingual generators, the loader registry and the idempotent `demo` command."""

from __future__ import annotations

import re
from io import StringIO
from typing import Any

import phonenumbers
import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.utils.module_loading import autodiscover_modules

from guanxi.core import demo
from guanxi.core.models import ADMINISTRATOR, Event, Team, User
from guanxi.core.roles import ROLES

HAN = re.compile(r"^[\u4e00-\u9fff]+$")
E164 = re.compile(r"^\+[1-9]\d{9,14}$")


def run_demo(**options: Any) -> str:
    out = StringIO()
    call_command("demo", stdout=out, **options)
    return out.getvalue()


def counts() -> dict[str, int]:
    return {
        "users": User.objects.count(),
        "teams": Team.objects.count(),
        "roles": User.groups.through.objects.count(),
        "memberships": Team.members.through.objects.count(),
        "events": Event.objects.count(),
    }


def test_people_are_the_same_for_the_same_seed_and_differ_for_another():
    """Given a seed, when people are generated twice, then they are identical; another seed gives others."""
    first = list(demo.demo_people(seed=7, count=300))
    again = list(demo.demo_people(seed=7, count=300))
    other = list(demo.demo_people(seed=8, count=300))

    assert first == again
    assert [p.full_name for p in first] != [p.full_name for p in other]


def test_people_are_mostly_chinese_with_english_ones_and_well_formed():
    """About 70% of people are Chinese with Han names and +86/+886 phones; the rest English with +1/+44.

    Phones must be valid numbers, not just E.164-shaped: the customer services refuse invalid ones.
    """
    people = list(demo.demo_people(seed=1, count=2000))
    chinese = [p for p in people if p.script == "zh"]
    english = [p for p in people if p.script == "en"]

    assert 0.65 < len(chinese) / len(people) < 0.75
    assert english
    assert all(HAN.match(p.full_name) and p.full_name == p.surname + p.given_name for p in chinese)
    assert all(p.phone.startswith(("+861", "+8869")) for p in chinese)
    assert all(p.full_name == f"{p.given_name} {p.surname}" for p in english)
    assert all(p.phone.startswith(("+1", "+447")) for p in english)
    assert all(E164.match(p.phone) for p in people)
    assert all(phonenumbers.is_valid_number(phonenumbers.parse(p.phone)) for p in people)
    assert all(p.email.isascii() and "@" in p.email for p in people)
    assert len({p.email for p in people}) == len({p.phone for p in people}) == len(people)


def test_companies_are_deterministic_and_named_in_both_languages():
    """Companies repeat per seed; Chinese ones end in a legal form like 有限公司, English ones are in ASCII."""
    companies = list(demo.demo_companies(seed=3, count=500))

    assert companies == list(demo.demo_companies(seed=3, count=500))
    chinese = [c for c in companies if c.script == "zh"]
    english = [c for c in companies if c.script == "en"]
    assert chinese and english
    assert all(c.name.endswith("公司") for c in chinese)
    assert all(c.name.isascii() for c in english)
    assert {c.industry for c in companies} <= {code for code, *_words in demo.INDUSTRIES}
    assert all(c.region and c.province and c.city for c in companies)


def test_team_tree_is_bilingual_and_parents_come_first():
    """The plan starts with the head office; every other team hangs below an earlier one; names are unique."""
    teams = demo.demo_teams(count=60)

    assert teams[0].name == "总部 Head office" and teams[0].parent is None
    assert all(t.parent is not None and t.parent < t.index for t in teams[1:])
    assert len({t.name for t in teams}) == 60
    assert all(HAN.match(t.name.split(" ", 1)[0].rstrip("0123456789组") or "") for t in teams)


@pytest.mark.django_db
def test_demo_command_twice_with_the_same_seed_adds_nothing():
    """Given a demo load, when the command runs again with the same seed and sizes, then no row is added."""
    run_demo(users=60, customers=10, seed=5)
    before = counts()

    output = run_demo(users=60, customers=10, seed=5)

    assert counts() == before
    assert before["users"] == 60 and before["teams"] == 20
    assert "users created 0" in output


@pytest.mark.django_db
def test_demo_users_get_roles_teams_and_managers():
    """Every demo user has a role and a team; every team has a manager who holds the manager role."""
    output = run_demo(users=120, teams=25, customers=0, seed=2, password="demo-pass-123")

    users = User.objects.prefetch_related("groups", "teams")
    assert all(u.groups.exists() and u.teams.exists() for u in users)
    assert {g.name for g in Group.objects.filter(user__isnull=False)} == set(ROLES)
    assert User.objects.filter(groups__name=ADMINISTRATOR).exists()
    teams = Team.objects.select_related("manager")
    assert teams.count() == 25
    assert all(t.manager is not None and t.manager.groups.filter(name="manager").exists() for t in teams)
    assert all(t.manager in t.members.all() for t in teams)
    assert User.objects.order_by("id").first().check_password("demo-pass-123")
    assert "demo-pass-123" in output
    assert "guanxi.core.demo.staff_and_teams" in output


@pytest.mark.django_db
def test_teams_are_written_through_services_and_the_bulk_part_is_summarised():
    """Each team created has its `created` event; the bulk users leave one summary event on the head office."""
    run_demo(users=30, customers=0, seed=9)

    assert Event.objects.filter(action="created", content_type__model="team").count() == Team.objects.count()
    summary = Event.objects.get(action="demo_staff_added")
    assert summary.object_repr == "总部 Head office"
    assert summary.data["users"] == 30


@pytest.mark.django_db
def test_registered_loaders_run_in_order_with_the_sizes(monkeypatch: pytest.MonkeyPatch):
    """A loader another app registers runs after core's, and receives the customer base size."""
    seen: dict[str, Any] = {}
    autodiscover_modules("demo")  # register every app's loaders now, then keep only core's for this test
    core_only = {name: loader for name, loader in demo._loaders.items() if name.startswith("guanxi.core.")}
    monkeypatch.setattr(demo, "_loaders", core_only)

    @demo.demo_loader(order=50)
    def contacts_demo(*, seed: int, sizes: demo.DemoSizes, stdout: demo.DemoOutput) -> dict[str, int]:
        seen.update(seed=seed, customers=sizes.customers, users=User.objects.count())
        return {"contacts created": sizes.customers}

    output = run_demo(users=10, customers=1234, seed=4)

    assert seen == {"seed": 4, "customers": 1234, "users": 10}
    assert output.index("staff_and_teams") < output.index("contacts_demo")
    assert "contacts created 1234" in output
