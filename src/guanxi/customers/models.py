"""Accounts (companies), contacts (people), the links between them, and leads."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from guanxi.core.models import OwnedModel, User

from .phones import phone_display


class LifecycleStage(models.TextChoices):
    """Where a customer stands; kept by the services from what happens, never typed by hand."""

    LEAD = "lead", pgettext_lazy("lifecycle stage", "Lead")
    PROSPECT = "prospect", pgettext_lazy("lifecycle stage", "Prospect")
    CUSTOMER = "customer", pgettext_lazy("lifecycle stage", "Customer")
    LOYAL = "loyal", pgettext_lazy("lifecycle stage", "Loyal")
    CHURNED = "churned", pgettext_lazy("lifecycle stage", "Churned")


class CustomerRecord(OwnedModel):
    """What every customer record has besides its owner and team: timestamps, archiving, custom fields, tags."""

    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    archived_at = models.DateTimeField(_("archived"), null=True, blank=True, editable=False)
    import_batch = models.ForeignKey(
        "core.ImportBatch",
        verbose_name=_("imported by"),
        null=True,
        blank=True,
        editable=False,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # kept by the services on every write (quality.record_completeness) and by the nightly recompute
    completeness = models.PositiveSmallIntegerField(_("completeness"), default=0, editable=False, db_index=True)
    # values of the administrator's custom fields, {key: value}, cleaned by core.customfields
    custom = models.JSONField(_("custom fields"), default=dict, blank=True)
    tags = models.ManyToManyField("core.Tag", verbose_name=_("tags"), blank=True, related_name="+")

    class Meta:
        abstract = True


class Account(CustomerRecord):
    """A company the business sells to or serves."""

    class Size(models.TextChoices):
        MICRO = "1-9", _("1–9 employees")
        SMALL = "10-49", _("10–49 employees")
        MEDIUM = "50-249", _("50–249 employees")
        LARGE = "250-999", _("250–999 employees")
        ENTERPRISE = "1000+", _("1,000 or more employees")

    class Tier(models.TextChoices):
        STRATEGIC = "strategic", _("Strategic")
        KEY = "key", pgettext_lazy("account tier", "Key")
        STANDARD = "standard", _("Standard")
        SMALL = "small", _("Small")

    name = models.CharField(_("name"), max_length=200)
    name_pinyin = models.CharField(max_length=200, blank=True, editable=False, db_index=True)
    name_initials = models.CharField(max_length=60, blank=True, editable=False, db_index=True)
    registration_number = models.CharField(
        _("registration number"),
        max_length=40,
        blank=True,
        db_index=True,
        help_text=_("The unified social credit code (统一社会信用代码) or another registration number."),
    )
    industry = models.CharField(_("industry"), max_length=100, blank=True)
    size = models.CharField(_("size"), max_length=10, choices=Size.choices, blank=True)
    province = models.CharField(_("province"), max_length=50, blank=True)
    city = models.CharField(_("city"), max_length=50, blank=True)
    district = models.CharField(_("district"), max_length=50, blank=True)
    website = models.URLField(_("website"), max_length=200, blank=True)
    tier = models.CharField(_("tier"), max_length=12, choices=Tier.choices, blank=True)
    lifecycle_stage = models.CharField(
        _("lifecycle stage"),
        max_length=12,
        choices=LifecycleStage.choices,
        default=LifecycleStage.LEAD,
        editable=False,
    )

    class Meta:
        verbose_name = _("account")
        verbose_name_plural = _("accounts")
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("account-detail", args=[self.pk])


class Lead(CustomerRecord):
    """An unqualified person and/or company, until it is converted into a contact (and an account)."""

    class Source(models.TextChoices):
        WEB = "web", _("Website")
        REFERRAL = "referral", _("Referral")
        EVENT = "event", _("Event or trade show")
        CAMPAIGN = "campaign", _("Campaign")
        PHONE = "phone", _("Inbound call")
        SOCIAL = "social", _("Social media")
        PARTNER = "partner", _("Partner")
        OTHER = "other", _("Other")

    class Status(models.TextChoices):
        NEW = "new", pgettext_lazy("lead status", "New")
        WORKING = "working", pgettext_lazy("lead status", "Working")
        QUALIFIED = "qualified", pgettext_lazy("lead status", "Qualified")
        DISQUALIFIED = "disqualified", pgettext_lazy("lead status", "Disqualified")
        CONVERTED = "converted", pgettext_lazy("lead status", "Converted")

    surname = models.CharField(_("surname"), max_length=60, blank=True)
    given_name = models.CharField(_("given name"), max_length=60, blank=True)
    full_name = models.CharField(_("name"), max_length=130, blank=True, editable=False)
    name_pinyin = models.CharField(max_length=200, blank=True, editable=False, db_index=True)
    name_initials = models.CharField(max_length=60, blank=True, editable=False, db_index=True)
    company_name = models.CharField(_("company"), max_length=200, blank=True)
    company_pinyin = models.CharField(max_length=200, blank=True, editable=False)
    company_initials = models.CharField(max_length=60, blank=True, editable=False)
    phone = models.CharField(_("phone"), max_length=20, blank=True, db_index=True)
    email = models.EmailField(_("email"), max_length=254, blank=True, db_index=True)
    source = models.CharField(_("source"), max_length=12, choices=Source.choices, blank=True)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.NEW)
    notes = models.TextField(_("notes"), blank=True)
    converted_at = models.DateTimeField(_("converted"), null=True, blank=True, editable=False)
    converted_account = models.ForeignKey(
        Account,
        verbose_name=_("converted into account"),
        null=True,
        blank=True,
        editable=False,
        on_delete=models.SET_NULL,
        related_name="converted_leads",
    )

    class Meta:
        verbose_name = _("lead")
        verbose_name_plural = _("leads")
        ordering = ["-id"]

    def __str__(self) -> str:
        if self.full_name and self.company_name:
            return f"{self.full_name} · {self.company_name}"
        return self.full_name or self.company_name

    def get_absolute_url(self) -> str:
        return reverse("lead-detail", args=[self.pk])

    @property
    def phone_display(self) -> str:
        return phone_display(self.phone)


class Contact(CustomerRecord):
    """A person: a customer, or someone at a customer company."""

    surname = models.CharField(_("surname"), max_length=60, blank=True)
    given_name = models.CharField(_("given name"), max_length=60, blank=True)
    full_name = models.CharField(_("name"), max_length=130, editable=False)
    name_pinyin = models.CharField(max_length=200, blank=True, editable=False, db_index=True)
    name_initials = models.CharField(max_length=60, blank=True, editable=False, db_index=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True, db_index=True)
    email = models.EmailField(_("email"), max_length=254, blank=True, db_index=True)
    title = models.CharField(_("job title"), max_length=100, blank=True)
    province = models.CharField(_("province"), max_length=50, blank=True)
    city = models.CharField(_("city"), max_length=50, blank=True)
    district = models.CharField(_("district"), max_length=50, blank=True)
    street = models.CharField(_("street address"), max_length=200, blank=True)
    lifecycle_stage = models.CharField(
        _("lifecycle stage"),
        max_length=12,
        choices=LifecycleStage.choices,
        default=LifecycleStage.LEAD,
        editable=False,
    )
    accounts = models.ManyToManyField(
        Account, verbose_name=_("accounts"), through="ContactAccount", blank=True, related_name="contacts"
    )
    converted_from = models.OneToOneField(
        Lead,
        verbose_name=_("converted from lead"),
        null=True,
        blank=True,
        editable=False,
        on_delete=models.SET_NULL,
        related_name="converted_contact",
    )

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        ordering = ["full_name", "id"]

    def __str__(self) -> str:
        return self.full_name

    def get_absolute_url(self) -> str:
        return reverse("contact-detail", args=[self.pk])

    @property
    def phone_display(self) -> str:
        return phone_display(self.phone)


class ContactAccount(models.Model):
    """A contact's place at an account, with their role there (采购经理, decision maker …)."""

    contact = models.ForeignKey(Contact, verbose_name=_("contact"), on_delete=models.CASCADE, related_name="links")
    account = models.ForeignKey(
        Account, verbose_name=_("account"), on_delete=models.CASCADE, related_name="contact_links"
    )
    role = models.CharField(_("role"), max_length=100, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("contact at account")
        verbose_name_plural = _("contacts at accounts")
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["contact", "account"], name="contact_account_once")]

    def __str__(self) -> str:
        return f"{self.contact_id} @ {self.account_id}"


class Interaction(OwnedModel):
    """One touch with a customer (a call, an email, a visit …) or a follow-up task, about exactly one record."""

    class Kind(models.TextChoices):
        CALL = "call", pgettext_lazy("interaction kind", "Call")
        EMAIL = "email", pgettext_lazy("interaction kind", "Email")
        MEETING = "meeting", pgettext_lazy("interaction kind", "Meeting")
        VISIT = "visit", pgettext_lazy("interaction kind", "Visit")
        CHAT = "chat", pgettext_lazy("interaction kind", "Chat")
        SOCIAL = "social", pgettext_lazy("interaction kind", "Social message")
        NOTE = "note", pgettext_lazy("interaction kind", "Note")
        TASK = "task", pgettext_lazy("interaction kind", "Task")

    class Channel(models.TextChoices):
        PHONE = "phone", pgettext_lazy("interaction channel", "Phone")
        EMAIL = "email", pgettext_lazy("interaction channel", "Email")
        WECHAT = "wechat", pgettext_lazy("interaction channel", "WeChat")
        WEB = "web", pgettext_lazy("interaction channel", "Web")
        IN_PERSON = "in_person", pgettext_lazy("interaction channel", "In person")
        SOCIAL = "social", pgettext_lazy("interaction channel", "Social media")
        OTHER = "other", pgettext_lazy("interaction channel", "Other")

    class Direction(models.TextChoices):
        INBOUND = "inbound", pgettext_lazy("interaction direction", "Inbound")
        OUTBOUND = "outbound", pgettext_lazy("interaction direction", "Outbound")
        INTERNAL = "internal", pgettext_lazy("interaction direction", "Internal")

    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices, blank=True)
    direction = models.CharField(_("direction"), max_length=10, choices=Direction.choices, default=Direction.OUTBOUND)
    occurred_at = models.DateTimeField(_("when"), default=timezone.now)
    duration = models.PositiveIntegerField(_("duration (minutes)"), null=True, blank=True)
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    body = models.TextField(_("details"), blank=True)
    outcome = models.CharField(_("outcome"), max_length=255, blank=True)
    done_by = models.ForeignKey(
        User, verbose_name=_("done by"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    contact = models.ForeignKey(
        Contact, verbose_name=_("contact"), null=True, blank=True, on_delete=models.CASCADE, related_name="interactions"
    )
    account = models.ForeignKey(
        Account, verbose_name=_("account"), null=True, blank=True, on_delete=models.CASCADE, related_name="interactions"
    )
    lead = models.ForeignKey(
        Lead, verbose_name=_("lead"), null=True, blank=True, on_delete=models.CASCADE, related_name="interactions"
    )
    due_at = models.DateTimeField(_("due"), null=True, blank=True)
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True)
    assignee = models.ForeignKey(
        User, verbose_name=_("assignee"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reminded_at = models.DateTimeField(_("reminded"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("interaction")
        verbose_name_plural = _("interactions")
        ordering = ["-occurred_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(contact__isnull=False, account__isnull=True, lead__isnull=True)
                    | Q(contact__isnull=True, account__isnull=False, lead__isnull=True)
                    | Q(contact__isnull=True, account__isnull=True, lead__isnull=False)
                ),
                name="interaction_about_exactly_one",
            ),
        ]
        indexes = [
            # the reminder sweep looks only at open, unreminded tasks
            models.Index(
                fields=["due_at"],
                condition=Q(kind="task", completed_at__isnull=True, reminded_at__isnull=True),
                name="interaction_task_due",
            ),
            models.Index(fields=["assignee", "completed_at"], name="interaction_assignee_open"),
        ]

    def __str__(self) -> str:
        return self.subject or self.body[:60] or self.get_kind_display()

    def get_absolute_url(self) -> str:
        return self.about.get_absolute_url()

    @property
    def about(self) -> Account | Contact | Lead:
        """The one record this interaction is about."""
        record = self.contact or self.account or self.lead
        assert record is not None  # the check constraint guarantees one
        return record

    @property
    def is_task(self) -> bool:
        return self.kind == self.Kind.TASK

    @property
    def is_open_task(self) -> bool:
        return self.is_task and self.completed_at is None


class RecordType(models.TextChoices):
    """The customer records that carry a completeness score."""

    ACCOUNT = "account", _("Accounts")
    CONTACT = "contact", _("Contacts")
    LEAD = "lead", _("Leads")


class QualityWeights(models.Model):
    """How much each field counts towards a record type's completeness score, as an administrator set it.

    Without a row the defaults in `quality.DEFAULT_WEIGHTS` apply.
    """

    record_type = models.CharField(_("record type"), max_length=12, choices=RecordType.choices, unique=True)
    weights = models.JSONField(_("weights"), default=dict)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    updated_by = models.ForeignKey(
        User, verbose_name=_("updated by"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("data-quality weights")
        verbose_name_plural = _("data-quality weights")
        ordering = ["record_type"]
        permissions = [("view_data_quality", _("Can view the data-quality page"))]

    def __str__(self) -> str:
        return self.get_record_type_display()
