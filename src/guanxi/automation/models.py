"""Automation rules (trigger → conditions → actions), their versions and runs, and webhooks out and in."""

from __future__ import annotations

from typing import Any, Self

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from guanxi.core.models import perm_name


class SettingsQuerySet(models.QuerySet):
    """Automation is company-wide configuration: the model permission decides, there is no record scope."""

    def visible_to(self, user: Any, action: str = "view") -> Self:
        if not user.is_authenticated or not user.is_active or not user.has_perm(perm_name(self.model, action)):
            return self.none()
        return self


class Rule(models.Model):
    """An administrator's rule: when the trigger fires and the conditions hold, the actions run."""

    name = models.CharField(_("name"), max_length=150, unique=True)
    description = models.TextField(_("description"), blank=True)
    active = models.BooleanField(_("active"), default=False)
    trigger = models.CharField(_("trigger"), max_length=60)
    trigger_config = models.JSONField(_("trigger settings"), default=dict, blank=True)
    conditions = models.JSONField(_("conditions"), default=dict, blank=True)
    actions = models.JSONField(_("actions"), default=list, blank=True)
    state = models.JSONField(default=dict, blank=True, editable=False)  # round-robin pointers and the like
    version = models.PositiveIntegerField(_("version"), default=1)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = SettingsQuerySet.as_manager()

    class Meta:
        verbose_name = _("automation rule")
        verbose_name_plural = _("automation rules")
        ordering = ["name", "id"]
        indexes = [models.Index(fields=["active", "trigger"], name="rule_active_trigger")]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("automation-rule-detail", args=[self.pk])

    def definition(self) -> dict:
        """What a version keeps and an export carries."""
        return {
            "name": self.name,
            "description": self.description,
            "trigger": self.trigger,
            "trigger_config": self.trigger_config,
            "conditions": self.conditions,
            "actions": self.actions,
        }


class RuleVersion(models.Model):
    """A rule's definition as it was before a save: who saved, when, and what it was."""

    rule = models.ForeignKey(Rule, on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField(_("version"))
    definition = models.JSONField(_("definition"), encoder=DjangoJSONEncoder)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    changed_at = models.DateTimeField(_("changed"), auto_now_add=True)
    summary = models.CharField(_("what changed"), max_length=300, blank=True)

    objects = SettingsQuerySet.as_manager()

    class Meta:
        verbose_name = _("rule version")
        verbose_name_plural = _("rule versions")
        ordering = ["-version"]
        constraints = [models.UniqueConstraint(fields=["rule", "version"], name="rule_version_once")]

    def __str__(self) -> str:
        return f"{self.rule_id} v{self.version}"


class RuleRun(models.Model):
    """One run of one rule: for an event (once per event), a time trigger key, or a dry run."""

    class Outcome(models.TextChoices):
        OK = "ok", pgettext_lazy("run outcome", "Done")
        SKIPPED = "skipped", pgettext_lazy("run outcome", "Skipped")
        FAILED = "failed", pgettext_lazy("run outcome", "Failed")

    rule = models.ForeignKey(Rule, on_delete=models.CASCADE, related_name="runs")
    event = models.ForeignKey("core.Event", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    key = models.CharField(max_length=120)  # "event:<id>", "<trigger>:<record>:<date>", "dry:<uuid>"
    record_type = models.CharField(_("record type"), max_length=60, blank=True)
    record_id = models.PositiveBigIntegerField(_("record id"), null=True, blank=True)
    record_repr = models.CharField(_("record"), max_length=200, blank=True)
    dry_run = models.BooleanField(_("dry run"), default=False)
    outcome = models.CharField(_("outcome"), max_length=10, choices=Outcome.choices)
    inputs = models.JSONField(_("inputs"), default=dict, blank=True, encoder=DjangoJSONEncoder)
    actions_done = models.JSONField(_("actions"), default=list, blank=True, encoder=DjangoJSONEncoder)
    error = models.TextField(_("error"), blank=True)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), default=0)
    created_at = models.DateTimeField(_("when"), auto_now_add=True, db_index=True)

    objects = SettingsQuerySet.as_manager()

    class Meta:
        verbose_name = _("rule run")
        verbose_name_plural = _("rule runs")
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["rule", "key"], name="rule_run_once"),
            models.UniqueConstraint(
                fields=["rule", "event"],
                condition=Q(event__isnull=False, dry_run=False),
                name="rule_run_once_per_event",
            ),
        ]
        indexes = [models.Index(fields=["rule", "-id"], name="rule_run_recent")]

    def __str__(self) -> str:
        return f"{self.rule_id}:{self.key}"


class WebhookSubscription(models.Model):
    """An outside URL that receives signed JSON for the event types it subscribes to."""

    name = models.CharField(_("name"), max_length=150)
    url = models.URLField(_("URL"), max_length=500)
    secret = models.CharField(_("secret"), max_length=128)
    event_types = models.JSONField(_("event types"), default=list)  # ["customers.lead.created", "customers.lead.*"]
    conditions = models.JSONField(_("filter conditions"), default=dict, blank=True)
    active = models.BooleanField(_("active"), default=True)
    failure_count = models.PositiveIntegerField(_("consecutive failures"), default=0)
    disabled_at = models.DateTimeField(_("disabled"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    objects = SettingsQuerySet.as_manager()

    class Meta:
        verbose_name = _("webhook subscription")
        verbose_name_plural = _("webhook subscriptions")
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class WebhookDelivery(models.Model):
    """One attempt to deliver one event (or a rule's call) to one URL, with what came back."""

    class State(models.TextChoices):
        PENDING = "pending", pgettext_lazy("delivery state", "Pending")
        OK = "ok", pgettext_lazy("delivery state", "Delivered")
        FAILED = "failed", pgettext_lazy("delivery state", "Failed, will retry")
        RETRIED = "retried", pgettext_lazy("delivery state", "Failed, retried")
        GAVE_UP = "gave_up", pgettext_lazy("delivery state", "Failed, gave up")

    subscription = models.ForeignKey(
        WebhookSubscription, null=True, blank=True, on_delete=models.CASCADE, related_name="deliveries"
    )
    run = models.ForeignKey(RuleRun, null=True, blank=True, on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey("core.Event", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    url = models.URLField(_("URL"), max_length=500)
    payload = models.JSONField(default=dict, encoder=DjangoJSONEncoder)
    attempt = models.PositiveSmallIntegerField(_("attempt"), default=1)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.PENDING)
    status_code = models.PositiveSmallIntegerField(_("status code"), null=True, blank=True)
    response_excerpt = models.CharField(_("response"), max_length=500, blank=True)
    error = models.CharField(_("error"), max_length=500, blank=True)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), default=0)
    next_retry_at = models.DateTimeField(_("next retry"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)

    objects = SettingsQuerySet.as_manager()

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "event", "attempt"],
                condition=Q(subscription__isnull=False),
                name="delivery_attempt_once",
            ),
            models.UniqueConstraint(
                fields=["run", "url", "attempt"], condition=Q(run__isnull=False), name="rule_call_attempt_once"
            ),
        ]
        indexes = [
            models.Index(fields=["next_retry_at"], condition=Q(state="failed"), name="delivery_retry_due"),
        ]

    def __str__(self) -> str:
        return f"{self.url} #{self.attempt}"


class InboundWebhook(models.Model):
    """An endpoint outside systems post to; a valid signed payload creates or updates a record."""

    class Target(models.TextChoices):
        LEAD_CREATE = "lead.create", _("Create a lead")
        CONTACT_CREATE = "contact.create", _("Create a contact")
        CONTACT_UPDATE = "contact.update", _("Update a contact (found by email or phone)")
        LEAD_UPDATE = "lead.update", _("Update a lead (found by email or phone)")
        NONE = "none", _("Only trigger rules")

    name = models.CharField(_("name"), max_length=150)
    slug = models.SlugField(_("slug"), max_length=60, unique=True)
    secret = models.CharField(_("secret"), max_length=128)
    target = models.CharField(_("target action"), max_length=20, choices=Target.choices, default=Target.LEAD_CREATE)
    field_mapping = models.JSONField(_("field mapping"), default=dict, blank=True)  # {"payload key": "field"}
    active = models.BooleanField(_("active"), default=True)
    run_as = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("acts as"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    received_count = models.PositiveIntegerField(_("received"), default=0)
    last_error = models.CharField(_("last error"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    objects = SettingsQuerySet.as_manager()

    class Meta:
        verbose_name = _("inbound webhook")
        verbose_name_plural = _("inbound webhooks")
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name
