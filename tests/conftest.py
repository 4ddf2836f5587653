"""Shared fixtures: users in each role, API clients, and the machine parts some tests need."""

from __future__ import annotations

import os
import shutil
import socket
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from guanxi.core.roles import ROLES
from guanxi.core.services import token_create

from .factories import PASSWORD, TeamFactory, UserFactory

ON_CI = bool(os.environ.get("CI"))
# Each test pass (SQLite, PostgreSQL) gets its own Redis databases so that the two passes can run side by side.
REDIS_DB = int(os.environ.get("GUANXI_TEST_REDIS_DB", "13"))
CHROMIUM = "/usr/bin/chromium"


def need(part: str, available: bool, how: str) -> None:
    """Skip when a machine part is missing on a developer's machine; fail loudly on CI."""
    if available:
        return
    message = f"{part} is not available here: {how}"
    if ON_CI:
        pytest.fail(f"CI needs it. {message}")
    pytest.skip(message)


def port_open(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=1).close()
    except OSError:
        return False
    return True


@pytest.fixture
def redis_url() -> str:
    need("Redis at 127.0.0.1:6379", port_open("127.0.0.1", 6379), "start redis-server to run the real-broker tests")
    return f"redis://127.0.0.1:6379/{REDIS_DB}"


@pytest.fixture
def chromium() -> str:
    need("Debian's Chromium", shutil.which(CHROMIUM) is not None, "apt-get install chromium fonts-wqy-microhei")
    return CHROMIUM


@pytest.fixture
def make_user(db: Any) -> Callable[..., Any]:
    """A user with the given roles (names from core.roles) and teams."""

    def make(*roles: str, teams: list[Any] | None = None, **fields: Any) -> Any:
        return UserFactory(roles=list(roles), teams=teams or [], **fields)

    return make


@pytest.fixture
def login() -> Callable[[Any], Client]:
    """A browser-like client signed in as the user."""

    def signed_in(user: Any) -> Client:
        client = Client()
        assert client.login(username=user.email, password=PASSWORD)
        return client

    return signed_in


@pytest.fixture
def bearer() -> Callable[[Any], Client]:
    """An API client carrying a fresh token of the user (asking for English unless the user chose a language)."""

    def client_for(user: Any) -> Client:
        _token, plaintext = token_create(user=user, name="test")
        return Client(headers={"Authorization": f"Bearer {plaintext}", "Accept-Language": "en"})

    return client_for


@pytest.fixture
def world(db: Any) -> dict[str, Any]:
    """One user per role in a small team tree, plus a user without any role.

    Head office (managed by the manager) → East sales (sales, service) ; Marketing (marketing, analyst).
    """
    head = TeamFactory(name="总部 Head office")
    east = TeamFactory(name="华东 East", parent=head)
    marketing = TeamFactory(name="市场 Marketing")
    users = {role: UserFactory(roles=[role]) for role in ROLES}
    head.manager = users["manager"]
    head.save()
    users["manager"].teams.set([head])
    users["sales"].teams.set([east])
    users["service"].teams.set([east])
    users["marketing"].teams.set([marketing])
    users["analyst"].teams.set([marketing])
    users["nobody"] = UserFactory()
    return {"users": users, "teams": {"head": head, "east": east, "marketing": marketing}}


@pytest.fixture(autouse=True)
def _fast_and_eager(settings: Any) -> None:
    """Tests hash passwords cheaply and run queued tasks in-process unless a test starts a real worker."""
    from guanxi.celery import app

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    app.conf.task_always_eager = True
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(scope="session", autouse=True)
def _current_catalogues() -> None:
    """Compile the .po catalogues so tests see the translations as they are in the tree."""
    from django.core.management import call_command

    call_command("compilecatalogs", verbosity=0)
    from django.utils.translation import trans_real

    trans_real._translations = {}  # drop catalogues loaded before the compile
