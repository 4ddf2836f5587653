"""Money arithmetic of quotes and orders: line and document totals, rounded half-up to 0.01.

Each line is rounded on its own (net, then tax on that net), and the document's totals are the sums of
its lines, so the printed lines always add up to the printed totals.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
HUNDRED = Decimal(100)
ZERO = Decimal("0.00")


def money(value: Decimal | int | str) -> Decimal:
    """A decimal amount rounded half-up to the cent (2.345 → 2.35, -2.345 → -2.35)."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class LineTotals:
    net: Decimal
    tax: Decimal

    @property
    def gross(self) -> Decimal:
        return self.net + self.tax


def line_totals(*, quantity: Decimal, unit_price: Decimal, discount_percent: Decimal, tax_rate: Decimal) -> LineTotals:
    """Net = quantity × unit price × (1 − discount %), rounded; tax = net × rate %, rounded."""
    net = money(Decimal(quantity) * Decimal(unit_price) * (HUNDRED - Decimal(discount_percent)) / HUNDRED)
    return LineTotals(net=net, tax=money(net * Decimal(tax_rate) / HUNDRED))


@dataclass(frozen=True)
class DocumentTotals:
    net: Decimal
    tax: Decimal
    gross: Decimal


def document_totals(lines: Iterable[LineTotals]) -> DocumentTotals:
    net = tax = ZERO
    for line in lines:
        net += line.net
        tax += line.tax
    return DocumentTotals(net=net, tax=tax, gross=net + tax)
