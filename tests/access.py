"""The access registry the generic access test walks.

Every page (URL name) and every API operation ("METHOD /path") must be declared here by the app
that adds it, in `tests/<app>/access_cases.py` as `PAGES` and `ENDPOINTS` lists. The walker then
asks each one as every role, as a user with no role and as an anonymous visitor, and checks the
status: allowed roles get `ok`, other signed-in users 403, anonymous visitors the sign-in page (pages)
or 401 (API). A declared `scoped` case also checks that a record outside the user's scope is "not found".
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from guanxi.core.roles import ROLES

STAFF = frozenset(ROLES)
SIGNED_IN = frozenset([*ROLES, "nobody"])
ADMIN_ONLY = frozenset(["administrator"])

World = dict[str, Any]
Args = Callable[[World, Any], dict[str, Any]]


@dataclass(frozen=True)
class Case:
    """One page or endpoint: who may use it, and how to call it."""

    route: str  # a URL name for pages; "METHOD /path/{param}" (relative to /api/v1) for the API
    allowed: frozenset[str]
    ok: int = 200
    method: str = "GET"
    args: Args | None = None  # path parameters, from the world and the acting user
    body: Args | None = None  # request body (JSON for the API, form data for pages)
    public: bool = False  # open to anonymous visitors too
    in_scope_only: Args | None = field(default=None)  # path params of a record the user may NOT see


def _modules() -> list[Any]:
    here = Path(__file__).parent
    names = sorted(p.parent.name for p in here.glob("*/access_cases.py"))
    return [importlib.import_module(f"tests.{name}.access_cases") for name in names]


def page_cases() -> list[Case]:
    return [case for module in _modules() for case in getattr(module, "PAGES", [])]


def endpoint_cases() -> list[Case]:
    return [case for module in _modules() for case in getattr(module, "ENDPOINTS", [])]
