"""Records of other apps a feedback item can point at (ticket, order, product …).

The feedback app keeps a kind and an id; an app that owns such records registers the kind here from its
`ready()`: `related_kind_register("ticket", _("Ticket"), lambda pk: Ticket.objects.filter(pk=pk).first())`.
Until then an unknown kind is refused and the id is shown as a plain number.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class RelatedKind:
    key: str
    label: Any
    resolve: Callable[[int], Any] | None = None


_kinds: dict[str, RelatedKind] = {}


def related_kind_register(key: str, label: Any, resolve: Callable[[int], Any] | None = None) -> None:
    _kinds[key] = RelatedKind(key, label, resolve)


def related_kinds() -> dict[str, RelatedKind]:
    return dict(_kinds)
