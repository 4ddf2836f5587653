from django.contrib.auth import views as auth_views
from django.urls import path

from . import views

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("account/password/", views.password_change, name="password-change"),
    path("account/tokens/", views.token_list, name="token-list"),
    path("account/tokens/<int:pk>/revoke/", views.token_revoke, name="token-revoke"),
    path("notifications/", views.notification_list, name="notification-list"),
    path("notifications/read/", views.notifications_read, name="notifications-read"),
    path("jobs/", views.job_list, name="job-list"),
    path("jobs/<int:pk>/", views.job_detail, name="job-detail"),
    path("jobs/<int:pk>/download/", views.job_download, name="job-download"),
    path("settings/users/", views.user_list, name="user-list"),
    path("settings/users/new/", views.user_create, name="user-create"),
    path("settings/users/<int:pk>/", views.user_detail, name="user-detail"),
    path("settings/users/<int:pk>/edit/", views.user_edit, name="user-edit"),
    path("settings/users/<int:pk>/unlock/", views.user_unlock, name="user-unlock"),
    path("settings/teams/", views.team_list, name="team-list"),
    path("settings/teams/new/", views.team_create, name="team-create"),
    path("settings/teams/<int:pk>/", views.team_detail, name="team-detail"),
    path("settings/teams/<int:pk>/edit/", views.team_edit, name="team-edit"),
    path("settings/roles/", views.role_list, name="role-list"),
    path("settings/roles/<str:name>/", views.role_edit, name="role-edit"),
    path("settings/audit/", views.audit_log, name="audit-log"),
    path("settings/fields/", views.custom_field_list, name="custom-field-list"),
    path("settings/fields/new/", views.custom_field_create, name="custom-field-create"),
    path("settings/fields/<int:pk>/edit/", views.custom_field_edit, name="custom-field-edit"),
    path("settings/fields/<int:pk>/deactivate/", views.custom_field_deactivate, name="custom-field-deactivate"),
    path("settings/fields/required/<str:record_type>/", views.field_rules_edit, name="field-rules-edit"),
    path("settings/tags/", views.tag_list, name="tag-list"),
    path("settings/tags/<int:pk>/edit/", views.tag_edit, name="tag-edit"),
    path("settings/tags/<int:pk>/delete/", views.tag_delete, name="tag-delete"),
]
