"""Demo products and two years of orders for the demo accounts (the deals loader, run first, makes the products).

Orders go through `order_receive` with a demo external ID, so each has its events, the accounts' lifecycle
follows from them, and loading twice adds nothing. Afterwards the churn rule runs once, as beat would.
"""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from guanxi.core.demo import DemoOutput, DemoSizes, demo_loader
from guanxi.customers.models import Account

from . import order_services as services
from .models import Currency, Order, Product

# (SKU, zh-Hans name, English name, unit, price in CNY, VAT rate)
PRODUCTS = [
    ("GX-CRM-STD", "CRM 标准版（年）", "CRM Standard (year)", "年", "12800.00", "6"),
    ("GX-CRM-ENT", "CRM 企业版（年）", "CRM Enterprise (year)", "年", "38800.00", "6"),
    ("GX-SEAT", "增加用户席位", "Extra user seat", "个", "960.00", "6"),
    ("GX-IMPL", "实施服务（人天）", "Implementation (person-day)", "人天", "2400.00", "6"),
    ("GX-TRAIN", "培训课程", "Training course", "场", "6800.00", "6"),
    ("HW-SRV-2U", "2U 机架服务器", "2U rack server", "台", "36500.00", "13"),
    ("HW-SW-48", "48 口交换机", "48-port switch", "台", "8900.00", "13"),
    ("HW-PAD", "门店收银平板", "Store POS tablet", "台", "2999.00", "13"),
    ("PR-LABEL", "热敏标签纸（箱）", "Thermal labels (box)", "箱", "168.00", "13"),
    ("LG-FREIGHT", "物流配送", "Freight", "次", "300.00", "9"),
    ("SVC-SUPPORT", "7×24 支持服务（年）", "24/7 support (year)", "年", "9600.00", "6"),
    ("SM-CONSULT", "小规模咨询服务", "Small consulting job", "次", "1500.00", "3"),
]


def demo_products(english: bool) -> list[Product]:
    cny = Currency.objects.get(code="CNY")
    found = {p.sku: p for p in Product.objects.filter(sku__in=[row[0] for row in PRODUCTS])}
    for sku, zh, en, unit, price, rate in PRODUCTS:
        if sku not in found:
            found[sku] = services.product_create(
                actor=None,
                sku=sku,
                name=en if english else zh,
                unit=unit,
                price=Decimal(price),
                currency=cny,
                tax_rate=Decimal(rate),
            )
    return [found[row[0]] for row in PRODUCTS]


def _status(rng: random.Random, age_days: int) -> str:
    roll = rng.random()
    if roll < 0.05:
        return Order.Status.CANCELLED
    if roll < 0.07:
        return Order.Status.REFUNDED
    if age_days > 30:
        return Order.Status.COMPLETED
    return rng.choice([Order.Status.PENDING, Order.Status.PAID, Order.Status.SHIPPED, Order.Status.COMPLETED])


@demo_loader(order=45)
def orders_demo(*, seed: int, sizes: DemoSizes, stdout: DemoOutput) -> dict[str, int]:
    """About 60 % of the demo accounts buy: 1–8 orders each over the last two years, 1–3 lines an order."""
    if not sizes.customers:
        return {}
    accounts = list(
        Account.objects.filter(archived_at__isnull=True)
        .select_related("owner")
        .prefetch_related("contact_links__contact")[: max(1, sizes.customers // 10)]
    )
    if not accounts:
        return {}
    products = demo_products(english=False)
    cny = Currency.objects.get(code="CNY")
    now = timezone.now()
    created = 0
    loaded = set(Order.objects.filter(external_system="demo-ERP").values_list("external_id", flat=True))
    for account in accounts:
        rng = random.Random(f"{seed}:orders:{account.name}")  # per account: a rerun makes the same choices
        if rng.random() > 0.6:
            continue
        # a few big repeat buyers, many one- or two-time buyers
        count = rng.choice([1, 1, 1, 2, 2, 3, 4, 6, 8])
        links = list(account.contact_links.all())
        ages = sorted((rng.randint(0, 730) for _i in range(count)), reverse=True)
        for number, age in enumerate(ages, start=1):
            lines: list[dict[str, Any]] = []
            for product in rng.sample(products, rng.randint(1, 3)):
                quantity = rng.choice([1, 1, 2, 3, 5, 10]) if product.price < 1000 else rng.choice([1, 1, 2])
                discount = rng.choice(["0", "0", "0", "5", "10"])
                lines.append({"product": product, "quantity": quantity, "discount_percent": discount})
            with_contact = rng.random() < 0.5
            contact = links[0].contact if links and with_contact else None
            if f"DEMO-{account.pk}-{number}" in loaded:  # loaded by an earlier run (its dates were then)
                continue
            _order, is_new = services.order_receive(
                actor=account.owner,
                external_system="demo-ERP",
                external_id=f"DEMO-{account.pk}-{number}",
                account=account,
                contact=contact,
                currency=cny,
                lines=lines,
                status=_status(rng, age),
                ordered_at=now - timedelta(days=age, hours=rng.randint(0, 10)),
                source=Order.Source.IMPORT,
            )
            created += int(is_new)
    churned = services.customers_churn_idle()
    stdout.write(f"orders: {created} created, {churned} customers churned\n")
    return {"orders created": created, "customers churned": churned}
