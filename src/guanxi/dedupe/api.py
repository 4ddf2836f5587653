"""Dedupe API: candidate clusters, merge, dismiss, merges and undo."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["dedupe"])
