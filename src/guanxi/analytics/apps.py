from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

# who reads the analytics, who runs the models, who enters acquisition spend
READERS = ("administrator", "manager", "sales", "service", "marketing", "analyst")


class AnalyticsConfig(AppConfig):
    name = "guanxi.analytics"
    label = "analytics"
    verbose_name = _("Analytics")

    def ready(self) -> None:
        from guanxi.core.events import event_action, event_batch_hooks, event_handler
        from guanxi.core.navigation import NavItem, nav_item
        from guanxi.core.roles import grant

        from . import jobs  # noqa: F401  (registers the job kinds)
        from .kpis import kpis_batch_end, kpis_batch_start, kpis_on_event, register_builtin

        for role in READERS:
            grant(role, "analytics.view_customerscore", "analytics.view_kpivalue")
        for role in ("administrator", "manager", "analyst"):
            grant(role, "analytics.view_modelrun", "analytics.add_modelrun")
        for role in ("administrator", "manager", "marketing", "analyst"):
            grant(role, "analytics.view_acquisitionspend")
        for role in ("administrator", "marketing"):
            grant(role, "analytics.add_acquisitionspend", "analytics.change_acquisitionspend")

        register_builtin()
        event_handler(kpis_on_event)
        event_batch_hooks(start=kpis_batch_start, end=kpis_batch_end)
        event_action("scored", pgettext_lazy("event action", "scored"))

        # one main-menu entry (the menu is full): the value lists are a button on the dashboard, and
        # acquisition spend sits with the settings pages
        for label, url_name, permission, order in (
            (_("Dashboard"), "analytics-dashboard", "analytics.view_kpivalue", 3),
            (_("Customer value"), "analytics-customers", "analytics.view_customerscore", 4),
            (_("Customer journey"), "analytics-journey", "analytics.view_customerscore", 5),
        ):
            nav_item(NavItem(label, url_name, permission, order=order, icon="dashboard", group="analytics"))
        nav_item(
            NavItem(
                _("Acquisition spend"), "analytics-spend", "analytics.view_acquisitionspend", section="admin", order=80
            )
        )
