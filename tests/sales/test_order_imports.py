"""Orders from an ERP/shop file: lines grouped per order, a dry run naming row and field, idempotent by external ID."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import translation

from guanxi.core.models import ImportBatch
from guanxi.sales.models import Order

from ..customers import factories as customers
from ..customers.test_imports import checked, csv_bytes, run
from . import order_factories as f

pytestmark = pytest.mark.django_db
HEADER = ["订单号", "下单时间", "订单状态", "币种", "客户", "SKU", "数量", "单价"]
MAPPING = {
    "订单号": "external_id",
    "下单时间": "ordered_at",
    "订单状态": "status",
    "币种": "currency",
    "客户": "account",
    "SKU": "sku",
    "数量": "quantity",
    "单价": "unit_price",
}


@pytest.fixture
def rep(world: dict[str, Any]) -> Any:
    return world["users"]["sales"]


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def _file(account: str, rows: list[list[str]]) -> bytes:
    return csv_bytes([HEADER, *[[r[0], r[1], r[2], "CNY", account, *r[3:]] for r in rows]])


def test_rows_of_one_order_become_one_order_and_a_second_import_adds_nothing(rep):
    """Two lines of ERP-1 (not adjacent) and one of ERP-2 → two orders; the same file again creates none."""
    account = customers.account(owner=rep, name="杭州西湖贸易有限公司")
    _a, _b = f.product(sku="A-1"), f.product(sku="B-2")
    content = _file(
        account.name,
        [
            ["ERP-1", "2026-03-01 10:00", "已付款", "A-1", "2", "100"],
            ["ERP-2", "2026-03-02", "待付款", "B-2", "1", "50"],
            ["ERP-1", "2026-03-01 10:00", "已付款", "B-2", "3", "50"],
        ],
    )
    batch = checked(rep, "orders.csv", content, "sales.order", mapping=MAPPING)
    assert batch.bad_rows == 0, batch.problems
    batch = run(batch, rep)
    assert batch.state == ImportBatch.State.DONE, batch.error
    first = Order.objects.get(external_id="ERP-1")
    assert first.lines.count() == 2 and first.status == "paid" and first.paid_at is not None
    assert first.source == Order.Source.IMPORT and first.net_total == 350
    again = run(checked(rep, "orders.csv", content, "sales.order", mapping=MAPPING), rep)
    assert again.result["created"] == 0 and again.result["unchanged"] == 2
    assert Order.objects.count() == 2


def test_the_dry_run_names_row_and_field_and_writes_nothing(rep):
    """A negative quantity (row 3), an unknown SKU (row 2) and an unknown account are each reported."""
    account = customers.account(owner=rep, name="深圳南山科技有限公司")
    f.product(sku="OK-1")
    content = csv_bytes(
        [
            HEADER,
            ["S-1", "2026-03-01", "paid", "CNY", account.name, "NOPE", "1", "10"],
            ["S-1", "2026-03-01", "paid", "CNY", account.name, "OK-1", "-4", "10"],
            ["S-2", "2026-03-01", "paid", "CNY", "不存在的公司", "OK-1", "1", "10"],
        ]
    )
    batch = checked(rep, "orders.csv", content, "sales.order", mapping=MAPPING)
    problems = {(row, field) for row, field, _message in batch.problems}
    assert (2, "sku") in problems and (3, "quantity") in problems and (4, "account") in problems
    assert batch.bad_rows == 3
    assert not Order.objects.exists()


def test_a_file_conflicting_with_a_stored_order_is_refused(rep):
    """An external ID already stored with other lines is a problem of that row, not a second order."""
    account = customers.account(owner=rep, name="北京朝阳传媒有限公司")
    f.product(sku="C-1")
    good = _file(account.name, [["E-9", "2026-03-01", "paid", "C-1", "1", "10"]])
    run(checked(rep, "orders.csv", good, "sales.order", mapping=MAPPING), rep)
    changed = _file(account.name, [["E-9", "2026-03-01", "paid", "C-1", "7", "10"]])
    batch = checked(rep, "orders.csv", changed, "sales.order", mapping=MAPPING)
    assert batch.bad_rows == 1 and batch.problems[0][1] == "external_id"
    assert Order.objects.get().lines.get().quantity == 1
