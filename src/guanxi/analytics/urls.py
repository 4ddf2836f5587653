from django.urls import path

from . import views

urlpatterns = [
    path("analytics/", views.dashboard, name="analytics-dashboard"),
    path("analytics/kpis/<slug:code>/", views.kpi_drill, name="analytics-drill"),
    path("analytics/kpis/<slug:code>/export/", views.kpi_export, name="analytics-export"),
    path("analytics/widgets/<slug:widget>/export/", views.widget_export, name="analytics-widget-export"),
    path("analytics/dashboard.pdf", views.dashboard_pdf, name="analytics-pdf"),
    path("analytics/subscribe/", views.subscribe, name="analytics-subscribe"),
    path("analytics/refresh/", views.refresh, name="analytics-refresh"),
    path("analytics/customers/", views.customer_lists, name="analytics-customers"),
    path("analytics/customers/<int:pk>/task/", views.followup_task, name="analytics-task"),
    path("analytics/profile/<str:kind>/<int:pk>/", views.profile, name="analytics-profile"),
    path("analytics/journey/", views.journey, name="analytics-journey"),
    path("analytics/spend/", views.spend, name="analytics-spend"),
]
