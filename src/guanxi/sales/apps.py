from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

VIEW_ADD_CHANGE = ("view", "add", "change")
ALL = (*VIEW_ADD_CHANGE, "delete")
# records reps work on every day
WORK_MODELS = ("deal", "dealproduct", "quote", "quoteline", "order", "orderline")
# configuration: everyone reads it, administrators change it
CONFIG_MODELS = ("pipeline", "stage", "lostreason", "currency", "product", "pricelist", "pricelistitem")
ADMIN_MODELS = ("salessettings", "assignmentrule")


def _perms(models: tuple[str, ...], actions: tuple[str, ...]) -> list[str]:
    return [f"sales.{action}_{model}" for model in models for action in actions]


class SalesConfig(AppConfig):
    name = "guanxi.sales"
    label = "sales"
    verbose_name = _("Sales")

    def ready(self) -> None:
        from guanxi.core.models import ADMINISTRATOR
        from guanxi.core.navigation import NavItem, nav_item
        from guanxi.core.roles import everyone, grant

        for role in ("manager", "sales"):
            grant(role, *_perms(WORK_MODELS, VIEW_ADD_CHANGE))
        for role in ("service", "marketing", "analyst"):
            grant(role, *_perms(WORK_MODELS, ("view",)))
        for role in everyone:
            grant(role, *_perms(CONFIG_MODELS, ("view",)))
        grant(ADMINISTRATOR, *_perms(WORK_MODELS, ALL), *_perms(CONFIG_MODELS, ALL), *_perms(ADMIN_MODELS, ALL))
        grant("manager", *_perms(ADMIN_MODELS, ("view",)))

        from guanxi.core.events import event_action

        event_action("reordered", pgettext_lazy("event action", "reordered"))
        event_action("task_added", pgettext_lazy("event action", "task added"))

        from guanxi.core.customfields import RecordType, record_type_register

        from . import lists  # noqa: F401  (registers the deal list view)

        # deals carry custom fields and tags like customers; administrators define them under Custom fields
        record_type_register(
            RecordType(
                "deal",
                "sales.deal",
                _("Deal"),
                {
                    "amount": _("Amount"),
                    "expected_close": _("Expected close"),
                    "account": _("Account"),
                    "source": _("Source"),
                },
            )
        )

        # one entry for the boards (the deal list is a button there), one for the reports
        nav_item(NavItem(_("Deals"), "pipeline-list", "sales.view_deal", order=60, icon="layout-kanban", group="sales"))
        nav_item(
            NavItem(
                _("Sales reports"), "sales-reports", "sales.view_deal", order=62, icon="chart-funnel", group="sales"
            )
        )
        nav_item(
            NavItem(_("Pipelines and sales"), "sales-settings", "sales.change_pipeline", section="admin", order=70)
        )

        # the orders part (S2): products, price lists, tax rates, quotes, orders
        from . import order_setup

        order_setup.ready()
