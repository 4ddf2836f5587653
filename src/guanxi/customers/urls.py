from django.urls import path

from . import views

urlpatterns = [
    path("customers/search/", views.customer_search, name="customer-search"),
    path("contacts/", views.contact_list, name="contact-list"),
    path("contacts/new/", views.contact_create, name="contact-create"),
    path("contacts/new/duplicates/", views.contact_duplicates, name="contact-duplicates"),
    path("contacts/<int:pk>/", views.contact_detail, name="contact-detail"),
    path("contacts/<int:pk>/edit/", views.contact_edit, name="contact-edit"),
    path("contacts/<int:pk>/archive/", views.contact_archive, name="contact-archive"),
    path("accounts/", views.account_list, name="account-list"),
    path("accounts/new/", views.account_create, name="account-create"),
    path("accounts/new/duplicates/", views.account_duplicates, name="account-duplicates"),
    path("accounts/<int:pk>/", views.account_detail, name="account-detail"),
    path("accounts/<int:pk>/edit/", views.account_edit, name="account-edit"),
    path("accounts/<int:pk>/archive/", views.account_archive, name="account-archive"),
    path("leads/", views.lead_list, name="lead-list"),
    path("leads/new/", views.lead_create, name="lead-create"),
    path("leads/new/duplicates/", views.lead_duplicates, name="lead-duplicates"),
    path("leads/<int:pk>/", views.lead_detail, name="lead-detail"),
    path("leads/<int:pk>/edit/", views.lead_edit, name="lead-edit"),
    path("leads/<int:pk>/archive/", views.lead_archive, name="lead-archive"),
    path("leads/<int:pk>/convert/", views.lead_convert, name="lead-convert"),
    path("contacts/<int:pk>/interactions/new/", views.contact_interaction_log, name="contact-interaction-log"),
    path("accounts/<int:pk>/interactions/new/", views.account_interaction_log, name="account-interaction-log"),
    path("leads/<int:pk>/interactions/new/", views.lead_interaction_log, name="lead-interaction-log"),
    path("tasks/", views.task_list, name="task-list"),
    path("tasks/<int:pk>/complete/", views.task_complete, name="task-complete"),
    path("data-quality/", views.data_quality, name="data-quality"),
    path("data-quality/recompute/", views.quality_recompute, name="quality-recompute"),
    path("settings/data-quality/", views.quality_weights, name="quality-weights"),
]
