"""Celery tasks of the orders part of sales: thin, they call the services."""

from celery import shared_task

from . import order_services


@shared_task(name="guanxi.sales.order_tasks.customers_churn_idle")
def customers_churn_idle() -> int:
    """Nightly: customers with no purchase for the configured number of days become churned."""
    return order_services.customers_churn_idle()


@shared_task(name="guanxi.sales.order_tasks.quotes_expire_due")
def quotes_expire_due() -> int:
    """Nightly: sent quotes past their validity become expired."""
    return order_services.quotes_expire_due()
