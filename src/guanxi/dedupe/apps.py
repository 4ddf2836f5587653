from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

# reviewing and merging duplicates changes many people's records: administrators and managers only
REVIEWERS = ("manager",)


class DedupeConfig(AppConfig):
    name = "guanxi.dedupe"
    label = "dedupe"
    verbose_name = _("Duplicates")

    def ready(self) -> None:
        from guanxi.core.events import event_action
        from guanxi.core.models import ADMINISTRATOR
        from guanxi.core.navigation import NavItem, nav_item
        from guanxi.core.roles import grant
        from guanxi.customers.duplicates import rescorer

        from . import jobs  # noqa: F401 — registers the dedupe job kind
        from .realtime import model_scores

        rescorer(model_scores)  # the real-time warning scores with the batch engine's weights

        review = (
            "dedupe.view_duplicatecluster",
            "dedupe.change_duplicatecluster",
            "dedupe.merge_records",
            "dedupe.view_merge",
            "dedupe.view_matchrun",
            "dedupe.add_matchrun",
        )
        for role in REVIEWERS:
            grant(role, *review)
        grant(
            ADMINISTRATOR, *review, "dedupe.change_merge", "dedupe.view_dedupesettings", "dedupe.change_dedupesettings"
        )

        event_action("merged", pgettext_lazy("event action", "merged"))
        event_action("merge_undone", pgettext_lazy("event action", "merge undone"))

        nav_item(
            NavItem(
                pgettext_lazy("menu", "Duplicates"),
                "dedupe-queue",
                "dedupe.view_duplicatecluster",
                order=60,
                icon="copy",
                group="customers",
            )
        )
        nav_item(
            NavItem(
                _("Duplicate settings"), "dedupe-settings", "dedupe.change_dedupesettings", section="admin", order=55
            )
        )
