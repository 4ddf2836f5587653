"""Which product a survey answer is about: the product or order a trigger's record (or a feedback item) names.

The sales app owns products and orders; feedback only reads them, by id, so the reports can say "by product".
"""

from __future__ import annotations

from typing import Any


def product_of_order(order_id: int | None) -> int:
    """The order's first line's product (an order of one product is the usual case), or 0."""
    if not order_id:
        return 0
    from guanxi.sales.models import OrderLine

    product = OrderLine.objects.filter(order_id=order_id).order_by("id").values_list("product_id", flat=True).first()
    return int(product or 0)


def product_of(obj: Any) -> int:
    """The product a record is about: a sales order's product, a feedback item's related product or order, or a
    record's own `product_id`; 0 when none."""
    from .models import FeedbackItem

    if obj is None:
        return 0
    if isinstance(obj, FeedbackItem):
        if obj.related_kind == "product":
            return int(obj.related_id or 0)
        if obj.related_kind == "order":
            return product_of_order(obj.related_id)
        return 0
    if obj._meta.label_lower == "sales.order":
        return product_of_order(obj.pk)
    return int(getattr(obj, "product_id", 0) or 0)


def product_names(ids: list[int]) -> dict[int, str]:
    from guanxi.sales.models import Product

    return {p.pk: str(p) for p in Product.objects.filter(pk__in=[i for i in ids if i])}


def demo_product_ids(limit: int = 12) -> list[int]:
    """Some active products for demo answers (empty when there are none)."""
    from guanxi.sales.models import Product

    return list(Product.objects.filter(active=True).order_by("id").values_list("id", flat=True)[:limit])


def register_related_kinds() -> None:
    """Feedback can point at a sales order or product (checked to exist when the item is created)."""
    from django.utils.translation import gettext_lazy as _

    from guanxi.sales.models import Order, Product

    from .related import related_kind_register

    related_kind_register("order", _("Order"), lambda pk: Order.objects.filter(pk=pk).first())
    related_kind_register("product", _("Product"), lambda pk: Product.objects.filter(pk=pk).first())
