"""The one NinjaAPI: each app's `api.py` router mounted under /api/v1."""

from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.openapi.views import openapi_view

from guanxi.analytics.api import router as analytics_router
from guanxi.automation.api import router as automation_router
from guanxi.core.api import router as core_router
from guanxi.customers.api import router as customers_router
from guanxi.dedupe.api import router as dedupe_router
from guanxi.dedupe.runs_api import router as dedupe_runs_router
from guanxi.feedback.api import router as feedback_router
from guanxi.sales.api import router as sales_router
from guanxi.service.api import router as service_router

from .errors import install_error_handlers
from .security import ActiveSessionAuth, BearerTokenAuth, PerTokenThrottle

api = NinjaAPI(
    title="Guanxi API",
    version="1",
    description="Guanxi CRM REST API. Authenticate with the browser session or `Authorization: Bearer <token>`.",
    urls_namespace="api-v1",
    auth=[BearerTokenAuth(), ActiveSessionAuth()],
    throttle=[PerTokenThrottle()],
)
install_error_handlers(api)
api.add_router("/", core_router)
api.add_router("/", customers_router)
api.add_router("/", dedupe_router)
api.add_router("/", sales_router)
api.add_router("/", dedupe_runs_router)
api.add_router("/", feedback_router)
api.add_router("/", service_router)
api.add_router("/", analytics_router)
api.add_router("/", automation_router)


def docs(request: HttpRequest) -> HttpResponse:
    """Swagger UI for the API, served from the package (no CDN)."""
    return openapi_view(request, api)


# the orders part of sales (products, price lists, quotes, orders) has its own router
from guanxi.sales.order_api import router as sales_orders_router  # noqa: E402

api.add_router("/", sales_orders_router)
