from django.urls import path

from . import views

urlpatterns = [
    path("sales/pipelines/", views.pipeline_list, name="pipeline-list"),
]
