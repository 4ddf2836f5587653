from typing import Any

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

MODELS = ("rule", "ruleversion", "rulerun", "webhooksubscription", "webhookdelivery", "inboundwebhook")


def _customers_updaters() -> None:
    """Rules change customer records only through the customers services."""
    from guanxi.customers import services

    from .engine import record_updater_register
    from .triggers import automation_model

    def lead(*, record: Any, actor: Any, **changes: Any) -> Any:
        return services.lead_update(lead=record, actor=actor, **changes)

    def contact(*, record: Any, actor: Any, **changes: Any) -> Any:
        return services.contact_update(contact=record, actor=actor, **changes)

    def account(*, record: Any, actor: Any, **changes: Any) -> Any:
        return services.account_update(account=record, actor=actor, **changes)

    record_updater_register("customers.lead", lead)
    record_updater_register("customers.contact", contact)
    record_updater_register("customers.account", account)
    automation_model("customers.lead", _("Lead"))
    automation_model("customers.contact", _("Contact"))
    automation_model("customers.account", _("Account"))
    automation_model("customers.interaction", _("Interaction or task"))


def _other_apps() -> None:
    """Records of the apps that are installed: rules can watch tickets, feedback and orders (changes to them
    go through those apps' own actions, so no updater is registered here)."""
    from django.apps import apps

    from .triggers import automation_model, deadline_event

    if apps.is_installed("guanxi.service"):
        automation_model("service.ticket", _("Ticket"))
        deadline_event("service.ticket", "sla_breached", pgettext_lazy("event action", "SLA breached"))
        deadline_event("service.ticket", "sla_warned", pgettext_lazy("event action", "SLA warning"))
    if apps.is_installed("guanxi.sales"):
        automation_model("sales.order", _("Order"))
        automation_model("sales.deal", _("Deal"))
    if apps.is_installed("guanxi.feedback"):
        automation_model("feedback.feedbackitem", _("Feedback"))
        deadline_event("feedback.feedbackitem", "escalated", _("Response deadline passed"))


class AutomationConfig(AppConfig):
    name = "guanxi.automation"
    label = "automation"
    verbose_name = _("Automation")

    def ready(self) -> None:
        from guanxi.core.events import event_action
        from guanxi.core.models import ADMINISTRATOR
        from guanxi.core.navigation import NavItem, nav_item
        from guanxi.core.roles import grant

        from . import actions, engine, triggers, webhooks  # noqa: F401  (engine and webhooks register handlers)

        grant(ADMINISTRATOR, *(f"automation.{a}_{m}" for m in MODELS for a in ("view", "add", "change", "delete")))
        grant("manager", "automation.view_rule", "automation.view_rulerun", "automation.view_ruleversion")
        triggers.register()
        actions.register()
        _customers_updaters()
        _other_apps()
        event_action("received", pgettext_lazy("event action", "received"))
        nav_item(NavItem(_("Automation rules"), "automation-rule-list", "automation.change_rule", "admin", 70))
        nav_item(NavItem(_("Rule runs"), "automation-run-list", "automation.view_rulerun", "admin", 71))
        nav_item(
            NavItem(_("Webhooks"), "automation-webhook-list", "automation.change_webhooksubscription", "admin", 72)
        )
        nav_item(
            NavItem(_("Inbound webhooks"), "automation-inbound-list", "automation.change_inboundwebhook", "admin", 73)
        )
