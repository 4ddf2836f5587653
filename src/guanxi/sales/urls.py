from django.urls import path

from . import views

urlpatterns = [
    path("sales/pipelines/", views.pipeline_list, name="pipeline-list"),
    path("sales/pipelines/<int:pk>/board/", views.pipeline_board, name="pipeline-board"),
    path("sales/pipelines/<int:pk>/board/<int:stage_id>/", views.board_column, name="board-column"),
    path("sales/deals/", views.deal_list, name="deal-list"),
    path("sales/deals/new/", views.deal_create, name="deal-create"),
    path("sales/deals/<int:pk>/", views.deal_detail, name="deal-detail"),
    path("sales/deals/<int:pk>/edit/", views.deal_edit, name="deal-edit"),
    path("sales/deals/<int:pk>/move/", views.deal_move, name="deal-move"),
    path("sales/deals/<int:pk>/tasks/", views.deal_task_add, name="deal-task-add"),
    path("sales/deals/<int:pk>/lines/", views.deal_line_add, name="deal-line-add"),
    path("sales/deals/<int:pk>/lines/<int:line_id>/", views.deal_line_update, name="deal-line-update"),
    path("sales/deals/<int:pk>/lines/<int:line_id>/remove/", views.deal_line_remove, name="deal-line-remove"),
    path("sales/leads/<int:pk>/assign/", views.lead_assign, name="lead-assign"),
    path("sales/reports/", views.sales_reports, name="sales-reports"),
    path("settings/pipelines/", views.sales_settings, name="sales-settings"),
    path("settings/pipelines/new/", views.pipeline_save, name="pipeline-create"),
    path("settings/pipelines/<int:pk>/", views.pipeline_stages, name="pipeline-stages"),
    path("settings/pipelines/<int:pk>/save/", views.pipeline_save, name="pipeline-update"),
    path("settings/pipelines/<int:pk>/stages/new/", views.stage_save, name="stage-create"),
    path("settings/pipelines/<int:pk>/stages/<int:stage_id>/", views.stage_save, name="stage-update"),
    path("settings/pipelines/<int:pk>/stages/<int:stage_id>/shift/", views.stage_shift, name="stage-shift"),
    path("settings/pipelines/<int:pk>/stages/<int:stage_id>/delete/", views.stage_delete, name="stage-delete"),
    path("settings/lost-reasons/new/", views.lost_reason_save, name="lost-reason-create"),
    path("settings/lost-reasons/<int:pk>/", views.lost_reason_save, name="lost-reason-update"),
    path("settings/currencies/new/", views.currency_save, name="currency-create"),
    path("settings/currencies/<int:pk>/", views.currency_save, name="currency-update"),
    path("settings/sales/stale/", views.stale_days_save, name="sales-stale-save"),
    path("settings/assignment-rules/new/", views.assignment_rule_save, name="assignment-rule-create"),
    path("settings/assignment-rules/<int:pk>/delete/", views.assignment_rule_delete, name="assignment-rule-delete"),
]

# --- orders part (S2): products, price lists, tax rates, quotes, orders ---
from .order_urls import urlpatterns as _order_urlpatterns  # noqa: E402

urlpatterns += _order_urlpatterns
