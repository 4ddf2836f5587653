from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class CoreConfig(AppConfig):
    name = "guanxi.core"
    label = "core"
    verbose_name = _("Core")

    def ready(self) -> None:
        from . import handlers, jobs, listviews, lookups  # noqa: F401  (registers event handlers, job kinds, `__any`)
        from .events import event_action
        from .roles import roles_sync_after_migrate

        event_action("deactivated", pgettext_lazy("event action", "deactivated"))
        post_migrate.connect(roles_sync_after_migrate, dispatch_uid="guanxi.core.roles_sync")
