"""Purchase history at scale: repurchase rate and average order value over millions of order lines."""

from __future__ import annotations

import json
import random
import time
from datetime import timedelta
from decimal import Decimal
from typing import Any

from benchmarks.harness import Bench, gunicorn_config, percentile
from benchmarks.scenarios import scenario

LINES_PER_ORDER = 4  # on average (1–7)
ORDERS_PER_CUSTOMER = 10  # on average: enough repeat buyers for a realistic repurchase rate
TIMED_RUNS = 10  # each figure takes seconds at full size: ten timed runs after two warm-ups
STATUSES = ["completed"] * 16 + ["paid", "shipped", "pending", "cancelled", "refunded"]


def _defaults(model: Any, now: Any) -> tuple[list[str], dict[str, Any]]:
    """Every concrete column of a model but the id, with the value an empty record would have."""
    from django.db import models

    columns, values = [], {}
    for field in model._meta.concrete_fields:
        if field.primary_key:
            continue
        columns.append(field.column)
        if isinstance(field, models.DateTimeField):
            value: Any = now
        elif isinstance(field, models.JSONField):
            value = json.dumps(field.get_default())
        else:
            value = field.get_default()
        values[field.column] = value
    return columns, values


def _copy(model: Any, rows: Any, now: Any, **fixed: Any) -> int:
    """COPY rows (dicts of the columns that vary) into a model's table, the rest at their defaults."""
    from django.db import connection

    columns, defaults = _defaults(model, now)
    defaults.update(fixed)
    count = 0
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY {model._meta.db_table} ({', '.join(columns)}) FROM STDIN") as copy,
    ):
        for row in rows:
            merged = {**defaults, **row}
            copy.write_row([merged[c] for c in columns])
            count += 1
    return count


def _load(bench: Bench, lines_wanted: int) -> dict[str, int]:
    from django.db import connection
    from django.utils import timezone

    from guanxi.customers.models import Account
    from guanxi.sales.models import Currency, Order, OrderLine, Product

    rng = random.Random(1)
    now = timezone.now()
    cny = Currency.objects.get(code="CNY")
    products = [
        Product.objects.create(
            sku=f"B-{i:04d}",
            name=f"商品 {i}",
            price=Decimal(rng.choice([9, 99, 499, 2999])),
            currency=cny,
            tax_rate=Decimal(rng.choice([13, 9, 6])),
        )
        for i in range(200)
    ]
    orders_wanted = max(1, lines_wanted // LINES_PER_ORDER)
    customers = max(1, orders_wanted // ORDERS_PER_CUSTOMER)
    _copy(
        Account,
        ({"name": f"客户 {i:07d}", "lifecycle_stage": "customer"} for i in range(customers)),
        now,
    )
    first_account = Account.objects.order_by("id").values_list("id", flat=True).first()
    bench.say(f"{customers:,} accounts copied; copying {orders_wanted:,} orders")

    def orders() -> Any:
        for i in range(orders_wanted):
            # a skewed customer choice: some buy often, many once or twice
            customer = int(customers * (rng.random() ** 1.6))
            gross = Decimal(rng.randint(100, 500_000)) / 100
            yield {
                "number": f"B{i:09d}",
                "source": "import",
                "account_id": first_account + customer,
                "currency_id": cny.pk,
                "rate_to_cny": Decimal(1),
                "status": rng.choice(STATUSES),
                "ordered_at": now - timedelta(minutes=rng.randint(0, 3 * 365 * 24 * 60)),
                "net_total": (gross / Decimal("1.13")).quantize(Decimal("0.01")),
                "tax_total": gross - (gross / Decimal("1.13")).quantize(Decimal("0.01")),
                "gross_total": gross,
                "external_id": None,
            }

    _copy(Order, orders(), now)
    first_order = Order.objects.order_by("id").values_list("id", flat=True).first()
    bench.say(f"orders copied; copying about {lines_wanted:,} order lines")

    def lines() -> Any:
        written = 0
        order = 0
        while written < lines_wanted and order < orders_wanted:
            for _n in range(min(rng.randint(1, 2 * LINES_PER_ORDER - 1), lines_wanted - written)):
                product = products[rng.randrange(len(products))]
                quantity = rng.randint(1, 5)
                net = product.price * quantity
                tax = (net * product.tax_rate / 100).quantize(Decimal("0.01"))
                written += 1
                yield {
                    "order_id": first_order + order,
                    "product_id": product.pk,
                    "quantity": quantity,
                    "unit_price": product.price,
                    "tax_rate": product.tax_rate,
                    "net_amount": net,
                    "tax_amount": tax,
                    "gross_amount": net + tax,
                }
            order += 1

    line_count = _copy(OrderLine, lines(), now)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE sales_order") if connection.vendor == "postgresql" else None
    bench.analyze()
    return {"accounts": customers, "orders": orders_wanted, "order lines": line_count}


@scenario(
    name="sales_orders",
    title="Purchase history: repurchase rate and average order value",
    default_size=10_000_000,
    order=60,
)
def sales_orders(bench: Bench) -> dict[str, Any]:
    """Repurchase rate (复购率: customers with two or more purchases over customers with one or more) and average
    order value (客单价: revenue in CNY over purchases), cancelled and refunded orders left out, over `size` order
    lines (about four per order, about ten orders per account), generated with COPY on PostgreSQL. Timed in the
    process (`order_selectors.purchase_figures` as the administrator, who sees every order) and over the API
    (`GET /api/v1/purchase-figures` on a real `guanxi web`): two untimed warm-ups, then ten timed runs each."""
    from django.contrib.auth.models import Group
    from django.core.management import call_command
    from django.db import connection

    from guanxi.core.models import ADMINISTRATOR, User
    from guanxi.core.services import token_create
    from guanxi.sales.order_selectors import purchase_figures

    if connection.vendor != "postgresql":
        raise RuntimeError("sales_orders generates its data with COPY: run it with --db postgresql")
    started = time.perf_counter()
    call_command("migrate", interactive=False, verbosity=0)
    admin = User.objects.create_superuser("bench-admin@example.com", "x", full_name="Bench")
    admin.groups.add(Group.objects.get(name=ADMINISTRATOR))
    migrated = time.perf_counter()
    sizes = _load(bench, bench.size)
    loaded = time.perf_counter()
    bench.say(f"loaded in {loaded - migrated:.0f} s: {sizes}")

    timings = []
    figures = None
    for run in range(2 + TIMED_RUNS):
        admin = User.objects.get(pk=admin.pk)
        began = time.perf_counter()
        figures = purchase_figures(user=admin)
        if run >= 2:
            timings.append((time.perf_counter() - began) * 1000)
    timings.sort()
    assert figures is not None
    rows = [
        {
            "label": "repurchase rate + average order value, in process",
            "path": "order_selectors.purchase_figures",
            "requests": len(timings),
            "p50_ms": round(percentile(timings, 0.5), 1),
            "p95_ms": round(percentile(timings, 0.95), 1),
            "max_ms": round(timings[-1], 1),
            "mean_ms": round(sum(timings) / len(timings), 1),
            "matching_rows": figures.orders,
        }
    ]
    bench.say(f"in process: p50 {rows[0]['p50_ms']} ms, p95 {rows[0]['p95_ms']} ms; {figures}")
    _token, plaintext = token_create(user=admin, name="bench")
    bench.requests = TIMED_RUNS
    with bench.serve(ready_path="/api/v1/tax-rates", token=plaintext) as server:
        row = bench.measure(
            server, label="GET /api/v1/purchase-figures", path="/api/v1/purchase-figures", token=plaintext, warmup=2
        )
        row["matching_rows"] = figures.orders
        rows.append(row)
    return {
        "sizes": sizes,
        "setup": {"migrate_s": round(migrated - started, 1), "load_s": round(loaded - migrated, 1)},
        "server": gunicorn_config(),
        "rows": rows,
        "figures": {
            "repurchase_rate": round(figures.repurchase_rate, 4),
            "average_order_value_cny": str(figures.average_order_value_cny),
            "customers": figures.customers,
        },
    }
