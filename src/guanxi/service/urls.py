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

# knowledge base (staff pages, the public help centre, suggestions while typing)
from . import kb_views  # noqa: E402

urlpatterns += [
    path("kb/", kb_views.kb_list, name="kb-list"),
    path("kb/new/", kb_views.kb_create, name="kb-create"),
    path("kb/categories/", kb_views.kb_categories, name="kb-categories"),
    path("kb/<int:pk>/", kb_views.kb_detail, name="kb-detail"),
    path("kb/<int:pk>/edit/", kb_views.kb_edit, name="kb-edit"),
    path("help/", kb_views.help_home, name="help-home"),
    path("help/suggest/", kb_views.kb_suggest, name="kb-suggest"),
    path("help/<int:pk>/", kb_views.help_article, name="help-article"),
    path("help/<int:pk>/vote/", kb_views.help_vote, name="help-vote"),
]

from . import portal_views  # noqa: E402  the customer portal (its own session) and the staff invite buttons

urlpatterns += [
    path("portal/", portal_views.portal_home, name="portal-home"),
    path("portal/sign-in/", portal_views.portal_sign_in, name="portal-sign-in"),
    path("portal/sign-in/<str:token>/", portal_views.portal_link, name="portal-link"),
    path("portal/sign-out/", portal_views.portal_sign_out, name="portal-sign-out"),
    path("portal/language/", portal_views.portal_language, name="portal-language"),
    path("portal/tickets/", portal_views.portal_tickets, name="portal-tickets"),
    path("portal/tickets/new/", portal_views.portal_ticket_new, name="portal-ticket-new"),
    path("portal/tickets/<int:pk>/", portal_views.portal_ticket, name="portal-ticket"),
    path("portal/attachments/<int:pk>/", portal_views.portal_attachment, name="portal-attachment"),
    path("portal/feedback/", portal_views.portal_feedback, name="portal-feedback"),
    path("portal/feedback/new/", portal_views.portal_feedback_new, name="portal-feedback-new"),
    path("portal/points/", portal_views.portal_points, name="portal-points"),
    path("portal/account/", portal_views.portal_account, name="portal-account"),
    path("portal-access/invite/<int:contact_pk>/", portal_views.portal_invite, name="portal-invite"),
    path("portal-access/<int:pk>/deactivate/", portal_views.portal_deactivate, name="portal-deactivate"),
]
