"""The scenario registry: every module in this package registers its scenarios with `@scenario`.

A scenario runs inside a child process whose Django settings already point at a fresh benchmark
database (SQLite or PostgreSQL) and its own GUANXI_VAR_DIR. It loads what it needs, measures, and
returns its figures; the harness adds the date, machine and database and writes the result file.

    @scenario(name="contacts_search", title="Contact search latency", default_size=1_000_000, order=30)
    def contacts_search(bench: Bench) -> dict[str, Any]:
        '''What it measures, in one paragraph: this text heads the scenario's section in docs/benchmarks.md.'''
        ...
        return {"sizes": {"contacts": bench.size}, "rows": [bench.measure(...)], "notes": [...]}
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from benchmarks.harness import Bench

ScenarioFn = Callable[["Bench"], dict[str, Any]]


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    default_size: int
    order: int
    fn: ScenarioFn

    @property
    def description(self) -> str:
        return " ".join((self.fn.__doc__ or "").split())


_scenarios: dict[str, Scenario] = {}


def scenario(*, name: str, title: str, default_size: int, order: int = 100) -> Callable[[ScenarioFn], ScenarioFn]:
    """Register a benchmark scenario; `default_size` is what `make bench` runs it at."""

    def register(fn: ScenarioFn) -> ScenarioFn:
        _scenarios[name] = Scenario(name=name, title=title, default_size=default_size, order=order, fn=fn)
        return fn

    return register


def scenarios() -> list[Scenario]:
    """Every scenario in this package, in report order."""
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")
    return sorted(_scenarios.values(), key=lambda s: (s.order, s.name))
