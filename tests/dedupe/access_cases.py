"""Who may open the duplicate pages and API endpoints (walked by tests/test_access.py)."""

from __future__ import annotations

from ..access import Case

# reviewing and merging duplicates: administrators and managers
REVIEWERS = frozenset(["administrator", "manager"])

PAGES = [
    Case("dedupe-queue", REVIEWERS),
]

ENDPOINTS: list[Case] = []

# the engine's part: "Run now" and the runs API (kept apart from the review pages' cases)
PAGES += [
    Case("dedupe-run", REVIEWERS, ok=302, method="POST"),
]
ENDPOINTS += [
    Case("POST /dedupe/runs", REVIEWERS, ok=202, body=lambda w, u: {"kind": "auto"}),
    Case("GET /dedupe/runs", REVIEWERS),
]
