from django.urls import path

from . import run_views, views

urlpatterns = [
    path("dedupe/", views.queue, name="dedupe-queue"),
    path("dedupe/runs/", run_views.run_now, name="dedupe-run"),
    path("dedupe/clusters/<int:pk>/", views.cluster_detail, name="dedupe-cluster"),
    path("dedupe/clusters/<int:pk>/merge/", views.cluster_merge, name="dedupe-cluster-merge"),
    path("dedupe/clusters/<int:pk>/dismiss/", views.cluster_dismiss, name="dedupe-cluster-dismiss"),
    path("dedupe/merges/", views.merge_list, name="dedupe-merges"),
    path("dedupe/merges/<int:pk>/undo/", views.merge_undo, name="dedupe-merge-undo"),
    path("settings/dedupe/", views.dedupe_settings, name="dedupe-settings"),
]
