from django.urls import include, path

from guanxi.api.api import api, docs
from guanxi.web.views import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("api/docs", docs, name="api-docs"),
    path("api/v1/", api.urls),
    path("", include("guanxi.core.urls")),
    path("", include("guanxi.customers.urls")),
    path("", include("guanxi.dedupe.urls")),
    path("", include("guanxi.sales.urls")),
    path("", include("guanxi.feedback.urls")),
    path("", include("guanxi.service.urls")),
    path("", include("guanxi.analytics.urls")),
    path("", include("guanxi.automation.urls")),
    path("", include("guanxi.web.urls")),
]
