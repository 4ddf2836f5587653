"""The one NinjaAPI: each app's `api.py` router mounted under /api/v1."""

from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.openapi.views import openapi_view

from guanxi.automation.api import router as automation_router
from guanxi.core.api import router as core_router
from guanxi.customers.api import router as customers_router

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
api.add_router("/", automation_router)


def docs(request: HttpRequest) -> HttpResponse:
    """Swagger UI for the API, served from the package (no CDN)."""
    return openapi_view(request, api)
