from django.urls import path

from . import run_views, views

urlpatterns = [
    path("dedupe/", views.queue, name="dedupe-queue"),
    path("dedupe/runs/", run_views.run_now, name="dedupe-run"),
]
