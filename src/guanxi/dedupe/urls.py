from django.urls import path

from . import views

urlpatterns = [
    path("dedupe/", views.queue, name="dedupe-queue"),
]
