"""The generic access walk: every page and API endpoint, as every role, a role-less user and a visitor."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from django.urls import get_resolver, reverse

from guanxi.api.api import api
from guanxi.core.services import token_create

from .access import Case, endpoint_cases, page_cases
from .core.access_cases import UNWALKED
from .factories import PASSWORD

IDENTITIES = ["administrator", "manager", "sales", "service", "marketing", "analyst", "nobody", "anonymous"]


def _api_operations() -> set[str]:
    ops = set()
    for prefix, router in api._routers:
        for path, path_view in router.path_operations.items():
            for operation in path_view.operations:
                for method in operation.methods:
                    ops.add(f"{method} {(prefix.rstrip('/') + path) or '/'}")
    return ops


def _url_names() -> set[str]:
    names = set()
    for pattern in get_resolver().url_patterns:
        if getattr(pattern, "name", None):
            names.add(pattern.name)
        for sub in getattr(pattern, "url_patterns", []):
            if getattr(sub, "name", None) and not getattr(pattern, "namespace", None):
                names.add(sub.name)
    return names


def test_every_page_is_declared_in_the_access_registry() -> None:
    """A new page without an access declaration fails here, so nothing ships unchecked."""
    declared = {case.route for case in page_cases()} | set(UNWALKED)
    assert _url_names() - declared == set()


def test_every_api_operation_is_declared_in_the_access_registry() -> None:
    """A new endpoint without an access declaration fails here."""
    declared = {case.route for case in endpoint_cases()}
    assert _api_operations() - declared == set()


def _client(world: dict[str, Any], identity: str, *, api_call: bool) -> tuple[Client, Any]:
    if identity == "anonymous":
        return Client(), None
    user = world["users"][identity]
    if api_call:
        _token, plaintext = token_create(user=user, name="walker")
        return Client(headers={"Authorization": f"Bearer {plaintext}"}), user
    client = Client()
    assert client.login(username=user.email, password=PASSWORD)
    return client, user


def _expected(case: Case, identity: str, *, api_call: bool) -> int:
    if identity == "anonymous" and not case.public:
        return 401 if api_call else 302
    if identity in case.allowed or (identity == "anonymous" and case.public):
        return case.ok
    return 403


def _call(client: Client, case: Case, world: dict[str, Any], user: Any, *, api_call: bool, args=None) -> Any:
    args = args if args is not None else (case.args(world, user) if case.args else {})
    body = case.body(world, user) if case.body else {}
    if api_call:
        method, path = case.route.split(" ", 1)
        url = "/api/v1" + path.format(**args)
        return client.generic(method, url, json.dumps(body), content_type="application/json")
    url = reverse(case.route, kwargs=args)
    return client.post(url, body) if case.method == "POST" else client.get(url)


def _walk(case: Case, world: dict[str, Any], *, api_call: bool) -> list[str]:
    wrong = []
    for identity in IDENTITIES:
        client, user = _client(world, identity, api_call=api_call)
        response = _call(client, case, world, user or world["users"]["nobody"], api_call=api_call)
        expected = _expected(case, identity, api_call=api_call)
        if response.status_code != expected:
            wrong.append(f"{identity}: got {response.status_code}, expected {expected}")
        if case.in_scope_only and identity in case.allowed:
            args = case.in_scope_only(world, user)
            response = _call(client, case, world, user, api_call=api_call, args=args)
            expected = case.ok if identity == "administrator" else 404
            if response.status_code != expected:
                wrong.append(f"{identity} on a record outside scope: got {response.status_code}, expected {expected}")
    return wrong


@pytest.mark.parametrize("case", page_cases(), ids=lambda c: c.route)
def test_page_access(case: Case, world: dict[str, Any]) -> None:
    """Allowed roles open the page; other users get 403, visitors the sign-in page; out of scope is 404."""
    assert _walk(case, world, api_call=False) == []


@pytest.mark.parametrize("case", endpoint_cases(), ids=lambda c: c.route)
def test_endpoint_access(case: Case, world: dict[str, Any]) -> None:
    """Allowed roles get the success status; others 403, no credentials 401; out of scope is 404."""
    assert _walk(case, world, api_call=True) == []
