"""The one Celery app. Broker from BROKER_URL; embedded SQLite broker by default."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "guanxi.settings")

app = Celery("guanxi")
app.set_default()  # `shared_task`s resolve to this app in every thread, not only the one that imported it
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
