from django.urls import path

from . import views

urlpatterns = [
    path("support/", views.web_request, name="service-web-request"),
    path("tickets/", views.ticket_queue, name="ticket-queue"),
    path("tickets/new/", views.ticket_create, name="ticket-create"),
    path("tickets/measures/", views.service_measures, name="service-measures"),
    path("tickets/<int:pk>/", views.ticket_detail, name="ticket-detail"),
    path("tickets/<int:pk>/reply/", views.ticket_reply, name="ticket-reply"),
    path("tickets/<int:pk>/status/", views.ticket_status, name="ticket-status"),
    path("tickets/<int:pk>/assign/", views.ticket_assign, name="ticket-assign"),
    path("tickets/attachments/<int:pk>/", views.ticket_attachment, name="ticket-attachment"),
    path("settings/service/", views.service_settings, name="service-settings"),
    path("settings/service/calendars/new/", views.calendar_edit, name="calendar-create"),
    path("settings/service/calendars/<int:pk>/", views.calendar_detail, name="calendar-detail"),
    path("settings/service/calendars/<int:pk>/edit/", views.calendar_edit, name="calendar-edit"),
    path("settings/service/calendars/<int:pk>/load-china/", views.calendar_load_china, name="calendar-load-china"),
    path("settings/service/<str:kind>/new/", views.service_setting_edit, name="service-setting-create"),
    path("settings/service/<str:kind>/<int:pk>/", views.service_setting_edit, name="service-setting-edit"),
]
