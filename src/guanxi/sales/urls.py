from django.urls import path

from . import views

urlpatterns = [
    path("sales/pipelines/", views.pipeline_list, name="pipeline-list"),
]

# --- orders part (S2): products, price lists, tax rates, quotes, orders ---
from .order_urls import urlpatterns as _order_urlpatterns  # noqa: E402

urlpatterns += _order_urlpatterns
