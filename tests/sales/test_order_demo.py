"""Demo orders: two years of purchases for the demo accounts, with lifecycle stages that follow, loaded once."""

import pytest
from django.core.management import call_command
from django.utils import timezone

from guanxi.customers.models import Account, LifecycleStage
from guanxi.sales.models import Order, OrderLine

from . import order_factories

pytestmark = pytest.mark.django_db


def test_the_demo_loads_two_years_of_orders_once():
    """Orders span about two years, have lines, make buyers customers or loyal, and a second load adds none."""
    order_factories.defaults()
    call_command("demo", customers=150, seed=5, users=12)
    orders = Order.objects.count()
    assert orders > 10 and OrderLine.objects.count() >= orders
    oldest = Order.objects.order_by("ordered_at").first()
    assert (timezone.now() - oldest.ordered_at).days > 365
    buyers = Account.objects.filter(orders__isnull=False).distinct()
    stages = set(buyers.values_list("lifecycle_stage", flat=True))
    assert stages & {LifecycleStage.CUSTOMER, LifecycleStage.LOYAL}
    call_command("demo", customers=150, seed=5, users=12)
    assert Order.objects.count() == orders
