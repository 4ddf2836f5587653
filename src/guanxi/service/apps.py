from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

TICKET_MODELS = ("ticket", "ticketmessage", "ticketattachment")
SETUP_MODELS = ("queue", "slapolicy", "businesscalendar", "calendarday", "cannedresponse", "assignmentrule")
AGENTS = ("manager", "service")
KB_MODELS = ("kbarticle", "kbcategory")


def _perms(models: tuple[str, ...], actions: tuple[str, ...]) -> list[str]:
    return [f"service.{action}_{model}" for model in models for action in actions]


class ServiceConfig(AppConfig):
    name = "guanxi.service"
    label = "service"
    verbose_name = _("Service desk")

    def ready(self) -> None:
        from guanxi.core.events import event_action
        from guanxi.core.models import ADMINISTRATOR
        from guanxi.core.navigation import NavItem, nav_item
        from guanxi.core.roles import grant

        from . import kpis, tasks  # noqa: F401  registers the SLA sweep job kind and the service KPIs

        for role in AGENTS:
            grant(role, *_perms(TICKET_MODELS, ("view", "add", "change")))
            grant(role, *_perms(SETUP_MODELS, ("view",)))
        grant("manager", *_perms(("cannedresponse",), ("add", "change")))
        grant("analyst", *_perms(("ticket", "ticketmessage", "queue", "slapolicy"), ("view",)))
        grant(ADMINISTRATOR, *_perms(TICKET_MODELS + SETUP_MODELS, ("view", "add", "change", "delete")))

        event_action("assigned", pgettext_lazy("event action", "assigned"))
        event_action("replied", pgettext_lazy("event action", "replied"))
        event_action("noted", pgettext_lazy("event action", "internal note added"))
        event_action("customer_replied", pgettext_lazy("event action", "customer replied"))
        event_action("priority_changed", pgettext_lazy("event action", "priority changed"))
        event_action("sla_warned", pgettext_lazy("event action", "SLA warning"))
        event_action("sla_breached", pgettext_lazy("event action", "SLA breached"))
        event_action("calendar_loaded", pgettext_lazy("event action", "official calendar loaded"))

        nav_item(
            NavItem(_("Tickets"), "ticket-queue", "service.view_ticket", order=60, icon="lifebuoy", group="service")
        )
        nav_item(NavItem(_("Service desk"), "service-settings", "service.change_queue", section="admin", order=70))

        # knowledge base: every role reads it; the service role and administrators write it
        from guanxi.core.roles import ROLES

        for role in ROLES:
            grant(role, *_perms(KB_MODELS, ("view",)))
        for role in ("service", ADMINISTRATOR):
            grant(role, *_perms(KB_MODELS, ("add", "change")))
        event_action("published", pgettext_lazy("event action", "published"))
        event_action("voted", pgettext_lazy("event action", "rated helpful or not"))
        nav_item(
            NavItem(_("Knowledge base"), "kb-list", "service.view_kbarticle", order=62, icon="book", group="service")
        )
        from . import portal

        portal.ready()  # the customer portal: staff permissions and event names
