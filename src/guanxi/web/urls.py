from django.urls import path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("i18n/language", views.set_language, name="set-language"),
]
