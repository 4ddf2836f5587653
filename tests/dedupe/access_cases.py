"""Who may open the duplicate pages and API endpoints (walked by tests/test_access.py)."""

from __future__ import annotations

from ..access import Case

# reviewing and merging duplicates: administrators and managers
REVIEWERS = frozenset(["administrator", "manager"])

PAGES = [
    Case("dedupe-queue", REVIEWERS),
]

ENDPOINTS: list[Case] = []
