from django.apps import AppConfig, apps
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

ITEM = [f"feedback.{a}_feedbackitem" for a in ("view", "add", "change")]
SURVEY = [f"feedback.{a}_survey" for a in ("view", "add", "change")]


class FeedbackConfig(AppConfig):
    name = "guanxi.feedback"
    label = "feedback"
    verbose_name = _("Feedback")

    def ready(self) -> None:
        from guanxi.core.events import event_action, event_handler
        from guanxi.core.models import ADMINISTRATOR
        from guanxi.core.navigation import NavItem, nav_item
        from guanxi.core.roles import grant

        from . import jobs  # noqa: F401  registers the retrain job kind
        from .measures import register_kpis
        from .products import register_related_kinds
        from .triggers import survey_triggers

        for role in ("manager", "sales", "service"):
            grant(role, *ITEM, "feedback.view_feedbackissue", "feedback.view_pointsentry", "feedback.add_pointsentry")
        grant("marketing", "feedback.view_feedbackitem", "feedback.view_pointsentry", *SURVEY)
        grant("analyst", "feedback.view_feedbackitem", "feedback.view_feedbackissue", "feedback.view_survey")
        for role in ("manager", "marketing", "analyst"):
            grant(role, "feedback.view_surveyanswer")
        grant("manager", *SURVEY, "feedback.change_feedbackissue", "feedback.change_feedbacksettings")
        grant(
            ADMINISTRATOR,
            *ITEM,
            *SURVEY,
            "feedback.view_feedbackissue",
            "feedback.change_feedbackissue",
            "feedback.view_pointsentry",
            "feedback.add_pointsentry",
            "feedback.view_surveyanswer",
            "feedback.change_feedbacksettings",
        )

        event_action("classified", pgettext_lazy("event action", "classification corrected"))
        event_action("escalated", pgettext_lazy("event action", "escalated"))
        event_action("customer_notified", pgettext_lazy("event action", "customer notified"))
        event_action("not_notified", pgettext_lazy("event action", "customer not notified (reason recorded)"))
        event_action("rated", pgettext_lazy("event action", "rated by the customer"))
        event_action("adopted", pgettext_lazy("event action", "suggestion adopted"))
        event_action("sent", pgettext_lazy("event action", "sent"))
        event_action("answered", pgettext_lazy("event action", "answered"))
        event_action("points_awarded", pgettext_lazy("event action", "points awarded"))
        event_action("points_redeemed", pgettext_lazy("event action", "points redeemed"))
        event_action("run", pgettext_lazy("event action", "run"))
        event_handler(survey_triggers)
        register_related_kinds()
        register_kpis()
        if apps.is_installed("guanxi.automation"):
            from . import automation

            automation.register()

        nav_item(
            NavItem(
                _("Feedback"), "feedback-list", "feedback.view_feedbackitem", order=60, icon="message", group="service"
            )
        )
        nav_item(
            NavItem(_("Surveys"), "survey-list", "feedback.view_survey", order=62, icon="clipboard", group="service")
        )
        nav_item(
            NavItem(
                _("Feedback settings"),
                "feedback-settings",
                "feedback.change_feedbacksettings",
                section="admin",
                order=75,
            )
        )
        nav_item(
            NavItem(
                _("Survey schedules"),
                "survey-schedule-list",
                "feedback.view_survey",
                order=63,
                icon="calendar",
                group="service",
            )
        )
        nav_item(
            NavItem(
                _("Feedback reports"),
                "feedback-reports",
                "feedback.view_surveyanswer",
                order=64,
                icon="chart-line",
                group="analytics",
            )
        )
