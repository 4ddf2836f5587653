from django.urls import path

from . import order_views as views

urlpatterns = [
    path("sales/products/", views.product_list, name="product-list"),
    path("sales/products/new/", views.product_create, name="product-create"),
    path("sales/products/<int:pk>/", views.product_edit, name="product-edit"),
    path("sales/products/<int:pk>/active/", views.product_active, name="product-active"),
    path("sales/price-lists/", views.price_list_list, name="price-list-list"),
    path("sales/price-lists/new/", views.price_list_create, name="price-list-create"),
    path("sales/price-lists/<int:pk>/", views.price_list_detail, name="price-list-detail"),
    path("settings/tax-rates/", views.tax_rate_list, name="tax-rate-list"),
    path("settings/order-lifecycle/", views.order_settings, name="order-settings"),
    path("sales/quotes/", views.quote_list, name="quote-list"),
    path("sales/quotes/new/", views.quote_create, name="quote-create"),
    path("sales/quotes/<int:pk>/", views.quote_detail, name="quote-detail"),
    path("sales/quotes/<int:pk>/edit/", views.quote_edit, name="quote-edit"),
    path("sales/quotes/<int:pk>/print/", views.quote_print, name="quote-print"),
    path("sales/quotes/<int:pk>/pdf/", views.quote_pdf_download, name="quote-pdf"),
    path("sales/quotes/<int:pk>/status/", views.quote_status, name="quote-status"),
    path("sales/quotes/<int:pk>/accept/", views.quote_accept, name="quote-accept"),
    path("sales/orders/", views.order_list, name="order-list"),
    path("sales/orders/new/", views.order_create, name="order-create"),
    path("sales/orders/<int:pk>/", views.order_detail, name="order-detail"),
    path("sales/orders/<int:pk>/status/", views.order_status, name="order-status"),
]
