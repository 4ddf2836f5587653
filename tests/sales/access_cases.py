"""Who may open the sales pages and API endpoints (walked by tests/test_access.py)."""

from __future__ import annotations

from ..access import Case

# deals are read by every staff role; reps and managers work on them
VIEWERS = frozenset(["administrator", "manager", "sales", "service", "marketing", "analyst"])
EDITORS = frozenset(["administrator", "manager", "sales"])

PAGES = [
    Case("pipeline-list", VIEWERS),
]

ENDPOINTS: list[Case] = []

# --- orders part (S2): products, price lists, tax rates, quotes, orders ---
from .order_access_cases import ENDPOINTS as _ORDER_ENDPOINTS  # noqa: E402
from .order_access_cases import PAGES as _ORDER_PAGES  # noqa: E402

PAGES += _ORDER_PAGES
ENDPOINTS += _ORDER_ENDPOINTS
