from django.urls import path

from . import views

urlpatterns = [
    path("feedback/", views.feedback_list, name="feedback-list"),
    path("feedback/new/", views.feedback_create, name="feedback-create"),
    path("feedback/<int:pk>/", views.feedback_detail, name="feedback-detail"),
    path("feedback/<int:pk>/<slug:action>/", views.feedback_act, name="feedback-act"),
    path("feedback/issues/", views.issue_list, name="feedback-issue-list"),
    path("feedback/issues/<int:pk>/", views.issue_detail, name="feedback-issue-detail"),
    path("feedback/reports/", views.reports, name="feedback-reports"),
    path("surveys/", views.survey_list, name="survey-list"),
    path("surveys/new/", views.survey_create, name="survey-create"),
    path("surveys/<int:pk>/", views.survey_detail, name="survey-detail"),
    path("surveys/<int:pk>/send/", views.survey_send, name="survey-send"),
    path("settings/feedback/", views.feedback_settings, name="feedback-settings"),
    path("settings/feedback/topics/new/", views.topic_edit, name="feedback-topic-create"),
    path("settings/feedback/topics/<int:pk>/", views.topic_edit, name="feedback-topic-edit"),
    path("settings/feedback/topics/<int:pk>/active/", views.topic_active, name="feedback-topic-active"),
    path("settings/feedback/rules/new/", views.routing_rule_edit, name="feedback-rule-create"),
    path("settings/feedback/rules/<int:pk>/", views.routing_rule_edit, name="feedback-rule-edit"),
    path("surveys/schedules/", views.schedule_list, name="survey-schedule-list"),
    path("surveys/schedules/new/", views.schedule_edit, name="survey-schedule-create"),
    path("surveys/schedules/<int:pk>/", views.schedule_edit, name="survey-schedule-edit"),
    path("contacts/<int:pk>/points/", views.contact_points, name="contact-points"),
    # public: no sign-in
    path("f/feedback/", views.public_form, name="feedback-public"),
    path("f/survey/<str:token>/", views.survey_answer, name="survey-answer"),
    path("f/rate/<str:token>/", views.feedback_rate, name="feedback-rate"),
]
