from django.urls import path

from . import views

urlpatterns = [
    path("settings/automation/", views.rule_list, name="automation-rule-list"),
    path("settings/automation/rules/new/", views.rule_create, name="automation-rule-create"),
    path("settings/automation/rules/export/", views.rule_export, name="automation-rule-export"),
    path("settings/automation/rules/import/", views.rule_import, name="automation-rule-import"),
    path("settings/automation/rules/<int:pk>/", views.rule_detail, name="automation-rule-detail"),
    path("settings/automation/rules/<int:pk>/edit/", views.rule_edit, name="automation-rule-edit"),
    path("settings/automation/rules/<int:pk>/toggle/", views.rule_toggle, name="automation-rule-toggle"),
    path("settings/automation/rules/<int:pk>/dry-run/", views.rule_dry_run, name="automation-rule-dry-run"),
    path("settings/automation/rules/<int:pk>/versions/", views.rule_versions, name="automation-rule-versions"),
    path("settings/automation/runs/", views.run_list, name="automation-run-list"),
    path("settings/automation/webhooks/", views.webhook_list, name="automation-webhook-list"),
    path("settings/automation/webhooks/<int:pk>/", views.webhook_detail, name="automation-webhook-detail"),
    path("settings/automation/webhooks/<int:pk>/toggle/", views.webhook_toggle, name="automation-webhook-toggle"),
    path("settings/automation/inbound/", views.inbound_list, name="automation-inbound-list"),
]
