"""The service desk: queues, business calendars, SLA policies, tickets and their conversation, canned replies."""

from __future__ import annotations

from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from guanxi.core.models import OwnedModel, Team, User


def default_hours() -> dict[str, list[list[str]]]:
    """Monday to Friday 09:00–12:00 and 13:00–18:00, the usual Chinese office day."""
    day = [["09:00", "12:00"], ["13:00", "18:00"]]
    return {str(weekday): day for weekday in range(5)}


class BusinessCalendar(models.Model):
    """When the service desk works: weekly hours in a time zone, holidays and adjusted workdays."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    time_zone = models.CharField(_("time zone"), max_length=60, default="Asia/Shanghai")
    # {"0": [["09:00", "12:00"], ["13:00", "18:00"]], …}: weekday (0 = Monday) → working intervals
    hours = models.JSONField(_("working hours"), default=default_hours)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("business calendar")
        verbose_name_plural = _("business calendars")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class CalendarDay(models.Model):
    """A date that breaks the weekly pattern: a public holiday, or a weekend day that is worked (调休)."""

    class Kind(models.TextChoices):
        HOLIDAY = "holiday", _("Holiday")
        WORKDAY = "workday", _("Adjusted workday")

    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.CASCADE, related_name="days")
    date = models.DateField(_("date"))
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    name = models.CharField(_("name"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("calendar day")
        verbose_name_plural = _("calendar days")
        ordering = ["date"]
        constraints = [models.UniqueConstraint(fields=["calendar", "date"], name="calendar_day_once")]

    def __str__(self) -> str:
        return f"{self.date} {self.get_kind_display()}"


class Priority(models.TextChoices):
    LOW = "low", pgettext_lazy("priority", "Low")
    NORMAL = "normal", pgettext_lazy("priority", "Normal")
    HIGH = "high", pgettext_lazy("priority", "High")
    URGENT = "urgent", pgettext_lazy("priority", "Urgent")


PRIORITY_ORDER = [Priority.LOW, Priority.NORMAL, Priority.HIGH, Priority.URGENT]


class Queue(models.Model):
    """Where tickets wait for an agent: one team's or one skill's, with how new tickets are handed out."""

    class Assignment(models.TextChoices):
        ROUND_ROBIN = "round_robin", _("Round robin")
        LEAST_LOADED = "least_loaded", _("Least loaded")
        MANUAL = "manual", _("Manual (nobody until picked)")

    name = models.CharField(_("name"), max_length=100, unique=True)
    team = models.ForeignKey(Team, verbose_name=_("team"), null=True, blank=True, on_delete=models.PROTECT)
    categories = models.JSONField(_("categories / skills"), default=list, blank=True)
    agents = models.ManyToManyField(User, verbose_name=_("agents"), blank=True, related_name="service_queues")
    assignment = models.CharField(
        _("assignment"), max_length=14, choices=Assignment.choices, default=Assignment.ROUND_ROBIN
    )
    last_assigned = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    is_default = models.BooleanField(_("default queue"), default=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("queue")
        verbose_name_plural = _("queues")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class AssignmentRule(models.Model):
    """Routes a new ticket to a queue by its category and/or the customer's tier; the first match wins."""

    order = models.PositiveSmallIntegerField(_("order"), default=100)
    category = models.CharField(_("category"), max_length=60, blank=True)
    tier = models.CharField(_("customer tier"), max_length=12, blank=True)
    queue = models.ForeignKey(Queue, verbose_name=_("queue"), on_delete=models.CASCADE, related_name="rules")

    class Meta:
        verbose_name = _("assignment rule")
        verbose_name_plural = _("assignment rules")
        ordering = ["order", "id"]

    def __str__(self) -> str:
        return f"{self.category or '*'} / {self.tier or '*'} → {self.queue}"


class SlaPolicy(models.Model):
    """Response and resolution targets in business minutes for the tickets it matches, and what a breach does."""

    name = models.CharField(_("name"), max_length=100)
    order = models.PositiveSmallIntegerField(_("order"), default=100)
    priority = models.CharField(_("priority"), max_length=8, choices=Priority.choices, blank=True)
    tier = models.CharField(_("customer tier"), max_length=12, blank=True)
    category = models.CharField(_("category"), max_length=60, blank=True)
    calendar = models.ForeignKey(BusinessCalendar, verbose_name=_("calendar"), on_delete=models.PROTECT)
    first_response_minutes = models.PositiveIntegerField(_("first response within (business minutes)"))
    resolution_minutes = models.PositiveIntegerField(_("resolution within (business minutes)"))
    warn_before_minutes = models.PositiveIntegerField(_("warn before breach (business minutes)"), default=30)
    notify = models.BooleanField(_("on breach: notify"), default=True)
    escalate_queue = models.ForeignKey(
        Queue,
        verbose_name=_("on breach: move to queue"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    escalate_user = models.ForeignKey(
        User, verbose_name=_("on breach: assign to"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    raise_priority = models.BooleanField(_("on breach: raise priority"), default=False)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("SLA policy")
        verbose_name_plural = _("SLA policies")
        ordering = ["order", "id"]

    def __str__(self) -> str:
        return self.name


class Channel(models.TextChoices):
    PHONE = "phone", _("Phone")
    VISIT = "visit", _("Visit")
    EMAIL = "email", _("Email")
    PORTAL = "portal", _("Portal")
    WEB_FORM = "web_form", _("Web form")
    API = "api", _("API")
    CHAT = "chat", _("Chat")
    SOCIAL = "social", _("Social media")


class Status(models.TextChoices):
    NEW = "new", pgettext_lazy("ticket status", "New")
    OPEN = "open", pgettext_lazy("ticket status", "Open")
    WAITING = "waiting", pgettext_lazy("ticket status", "Waiting on customer")
    RESOLVED = "resolved", pgettext_lazy("ticket status", "Resolved")
    CLOSED = "closed", pgettext_lazy("ticket status", "Closed")
    REOPENED = "reopened", pgettext_lazy("ticket status", "Reopened")


OPEN_STATUSES = [Status.NEW, Status.OPEN, Status.WAITING, Status.REOPENED]


class Ticket(OwnedModel):
    """A customer's request. `owner` is the assignee; `team` follows the queue, so the queue's team sees it."""

    subject = models.CharField(_("subject"), max_length=250)
    contact = models.ForeignKey(
        "customers.Contact", verbose_name=_("contact"), null=True, blank=True, on_delete=models.SET_NULL
    )
    account = models.ForeignKey(
        "customers.Account", verbose_name=_("account"), null=True, blank=True, on_delete=models.SET_NULL
    )
    lead = models.ForeignKey("customers.Lead", verbose_name=_("lead"), null=True, blank=True, on_delete=models.SET_NULL)
    requester_email = models.EmailField(_("requester email"), blank=True)
    requester_name = models.CharField(_("requester name"), max_length=130, blank=True)
    language = models.CharField(_("language"), max_length=10, blank=True)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    category = models.CharField(_("category"), max_length=60, blank=True)
    priority = models.CharField(_("priority"), max_length=8, choices=Priority.choices, default=Priority.NORMAL)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.NEW)
    queue = models.ForeignKey(Queue, verbose_name=_("queue"), null=True, blank=True, on_delete=models.PROTECT)
    sla_policy = models.ForeignKey(
        SlaPolicy, verbose_name=_("SLA policy"), null=True, blank=True, on_delete=models.SET_NULL
    )
    opened_at = models.DateTimeField(_("opened"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    first_response_due = models.DateTimeField(_("first response due"), null=True, blank=True)
    first_response_at = models.DateTimeField(_("first response"), null=True, blank=True)
    resolution_due = models.DateTimeField(_("resolution due"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    # the SLA clock stops while the ticket waits on the customer; paused business minutes push the due time
    paused_at = models.DateTimeField(_("paused since"), null=True, blank=True)
    paused_minutes = models.PositiveIntegerField(_("paused business minutes"), default=0)
    # measures for analytics, kept by the services
    first_response_minutes = models.PositiveIntegerField(_("first response (minutes)"), null=True, blank=True)
    first_response_business_minutes = models.PositiveIntegerField(
        _("first response (business minutes)"), null=True, blank=True
    )
    resolution_minutes = models.PositiveIntegerField(_("resolution (minutes)"), null=True, blank=True)
    resolution_business_minutes = models.PositiveIntegerField(_("resolution (business minutes)"), null=True, blank=True)
    reopen_count = models.PositiveSmallIntegerField(_("reopened"), default=0)
    handoff_count = models.PositiveSmallIntegerField(_("hand-offs"), default=0)
    agent_reply_count = models.PositiveSmallIntegerField(_("agent replies"), default=0)
    first_contact_resolution = models.BooleanField(_("resolved at first contact"), null=True, blank=True)
    handle_seconds = models.PositiveIntegerField(_("agent handle time (seconds)"), default=0)
    # the deadline that counts now (first response until answered, then resolution) and when to warn before it;
    # kept by the services so the queue sorts and the sweep finds due tickets through an index
    sla_due = models.DateTimeField(_("SLA due"), null=True, blank=True)
    sla_warn_at = models.DateTimeField(null=True, blank=True, editable=False)
    warned_at = models.DateTimeField(_("breach warning sent"), null=True, blank=True)
    breached_at = models.DateTimeField(_("SLA breached"), null=True, blank=True, db_index=True)
    escalated_at = models.DateTimeField(_("escalated"), null=True, blank=True)
    message_id = models.CharField(_("email message id"), max_length=250, blank=True, db_index=True)

    class Meta:
        verbose_name = _("ticket")
        verbose_name_plural = _("tickets")
        ordering = ["-opened_at", "-id"]
        indexes = [
            models.Index(fields=["status", "sla_due"], name="ticket_open_due"),
            models.Index(fields=["status", "sla_warn_at"], name="ticket_open_warn"),
            models.Index(fields=["owner", "status", "sla_due"], name="ticket_owner_due"),
            models.Index(fields=["queue", "status", "sla_due"], name="ticket_queue_due"),
            models.Index(fields=["team", "status", "sla_due"], name="ticket_team_due"),
            # the open tickets in queue order, with the columns of the scope and "my queues" filters: the first
            # page walks it and stops after 50 rows; the (capped) count reads it without the table on PostgreSQL
            models.Index(
                fields=["sla_due", "id"],
                include=["queue", "owner", "team"],
                condition=models.Q(status__in=OPEN_STATUSES),
                name="ticket_open_sla",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.subject}"

    def get_absolute_url(self) -> str:
        return reverse("ticket-detail", args=[self.pk])

    @property
    def number(self) -> str:
        return f"T-{self.pk}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def is_paused(self) -> bool:
        return self.paused_at is not None


class TicketMessage(models.Model):
    """One entry of a ticket's conversation: a public reply (sent to the customer) or an internal note."""

    class Kind(models.TextChoices):
        REPLY = "reply", _("Public reply")
        NOTE = "note", _("Internal note")

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="messages")
    kind = models.CharField(_("kind"), max_length=6, choices=Kind.choices, default=Kind.REPLY)
    author = models.ForeignKey(User, verbose_name=_("author"), null=True, blank=True, on_delete=models.SET_NULL)
    from_customer = models.BooleanField(_("from the customer"), default=False)
    from_email = models.EmailField(_("from"), blank=True)
    body = models.TextField(_("message"))
    created_at = models.DateTimeField(_("sent"), default=timezone.now, db_index=True)
    message_id = models.CharField(max_length=250, blank=True, db_index=True)
    emailed_at = models.DateTimeField(_("emailed"), null=True, blank=True)
    time_spent_seconds = models.PositiveIntegerField(_("time spent (seconds)"), default=0)

    class Meta:
        verbose_name = _("ticket message")
        verbose_name_plural = _("ticket messages")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.ticket_id}: {self.body[:40]}"


class TicketAttachment(models.Model):
    """A file sent with a message, stored under GUANXI_VAR_DIR/media/service/."""

    message = models.ForeignKey(TicketMessage, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(_("file"), upload_to="service/attachments/%Y/%m/")
    filename = models.CharField(_("file name"), max_length=255)
    content_type = models.CharField(_("type"), max_length=120, blank=True)
    size = models.PositiveIntegerField(_("size"), default=0)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")

    def __str__(self) -> str:
        return self.filename


class CannedResponse(models.Model):
    """A reusable reply; {customer_name}, {ticket_number}, {agent_name} and {subject} are filled in."""

    title = models.CharField(_("title"), max_length=120)
    body = models.TextField(_("text"))
    language = models.CharField(_("language"), max_length=10, blank=True)
    category = models.CharField(_("category"), max_length=60, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("canned response")
        verbose_name_plural = _("canned responses")
        ordering = ["title", "id"]

    def __str__(self) -> str:
        return self.title


# --- knowledge base ------------------------------------------------------------------------------

KB_TITLE_MAX = 200
KB_BODY_MAX = 20000  # characters per language version: a long how-to fits, a pasted log dump does not


class KbCategory(models.Model):
    """A shelf of the knowledge base, named in Chinese and English."""

    name_zh = models.CharField(_("name (Chinese)"), max_length=100, blank=True)
    name_en = models.CharField(_("name (English)"), max_length=100, blank=True)
    order = models.PositiveSmallIntegerField(_("order"), default=100)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("knowledge base category")
        verbose_name_plural = _("knowledge base categories")
        ordering = ["order", "id"]

    def __str__(self) -> str:
        return self.name_for()

    def name_for(self, language: str | None = None) -> str:
        """The name in the reader's language, else the other one."""
        zh_first = kb_language(language) == "zh"
        names = (self.name_zh, self.name_en) if zh_first else (self.name_en, self.name_zh)
        return names[0] or names[1]


def kb_language(language: str | None = None) -> str:
    """ "zh" for any Chinese reader, else "en": which version of an article to show first."""
    from django.utils import translation

    return "zh" if (language or translation.get_language() or "").lower().startswith("zh") else "en"


class KbArticle(models.Model):
    """A help article with a Chinese and/or English version; `audience` says who may read it once published."""

    class Status(models.TextChoices):
        DRAFT = "draft", pgettext_lazy("article status", "Draft")
        PUBLISHED = "published", pgettext_lazy("article status", "Published")

    class Audience(models.TextChoices):
        INTERNAL = "internal", _("Internal (staff only)")
        PUBLIC = "public", _("Public (customers and visitors)")

    category = models.ForeignKey(
        KbCategory,
        verbose_name=_("category"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="articles",
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    audience = models.CharField(_("audience"), max_length=10, choices=Audience.choices, default=Audience.INTERNAL)
    title_zh = models.CharField(_("title (Chinese)"), max_length=KB_TITLE_MAX, blank=True)
    body_zh = models.TextField(_("text (Chinese)"), blank=True)
    title_en = models.CharField(_("title (English)"), max_length=KB_TITLE_MAX, blank=True)
    body_en = models.TextField(_("text (English)"), blank=True)
    helpful_count = models.PositiveIntegerField(_("helpful"), default=0)
    not_helpful_count = models.PositiveIntegerField(_("not helpful"), default=0)
    author = models.ForeignKey(
        User, verbose_name=_("author"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    published_at = models.DateTimeField(_("published"), null=True, blank=True)

    class Meta:
        verbose_name = _("knowledge base article")
        verbose_name_plural = _("knowledge base articles")
        ordering = ["-published_at", "-id"]
        indexes = [models.Index(fields=["status", "audience"], name="kb_article_reach")]

    def __str__(self) -> str:
        return self.title_for()

    def get_absolute_url(self) -> str:
        return reverse("kb-detail", args=[self.pk])

    def version(self, language: str | None = None) -> tuple[str, str, str]:
        """(title, body, "zh" or "en") in the reader's language, falling back to the other version."""
        first = kb_language(language)
        order = ("zh", "en") if first == "zh" else ("en", "zh")
        for code in order:
            title, body = getattr(self, f"title_{code}"), getattr(self, f"body_{code}")
            if title:
                return title, body, code
        return "", "", first

    def title_for(self, language: str | None = None) -> str:
        return self.version(language)[0]

    @property
    def title(self) -> str:
        return self.title_for()

    @property
    def body(self) -> str:
        return self.version()[1]

    @property
    def is_public(self) -> bool:
        return self.status == self.Status.PUBLISHED and self.audience == self.Audience.PUBLIC


class KbTerm(models.Model):
    """The search index of an article: one row per distinct term (Chinese character bigram or English word)
    of its titles, and one per term of its bodies; kept by the KB services."""

    article = models.ForeignKey(KbArticle, on_delete=models.CASCADE, related_name="terms")
    term = models.CharField(max_length=32)
    in_title = models.BooleanField(default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["article", "in_title", "term"], name="kb_term_once")]
        indexes = [models.Index(fields=["term", "article"], name="kb_term_lookup")]

    def __str__(self) -> str:
        return self.term


class KbVote(models.Model):
    """One reader's "did this help?" answer: a visitor session (or an API caller) counts once per article."""

    article = models.ForeignKey(KbArticle, on_delete=models.CASCADE, related_name="votes")
    voter = models.CharField(max_length=80)
    helpful = models.BooleanField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["article", "voter"], name="kb_vote_once")]

    def __str__(self) -> str:
        return f"{self.article_id}: {'+' if self.helpful else '-'}"


# --- the customer portal ----------------------------------------------------------------------


class PortalAccount(models.Model):
    """A customer's sign-in to the portal, one per contact. Not a staff `User`: its session is separate."""

    contact = models.OneToOneField(
        "customers.Contact", verbose_name=_("contact"), on_delete=models.CASCADE, related_name="portal_account"
    )
    email = models.EmailField(_("email"), max_length=254, unique=True)  # stored lower-case
    password = models.CharField(_("password"), max_length=128, blank=True)  # a Django hash; blank: links only
    language = models.CharField(_("language"), max_length=10, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    invited_at = models.DateTimeField(_("invited"), null=True, blank=True)
    invited_by = models.ForeignKey(
        User, verbose_name=_("invited by"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_login_at = models.DateTimeField(_("last sign-in"), null=True, blank=True)
    deactivated_at = models.DateTimeField(_("deactivated"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("portal account")
        verbose_name_plural = _("portal accounts")
        ordering = ["email"]

    def __str__(self) -> str:
        return f"portal:{self.email}"

    @property
    def has_password(self) -> bool:
        return bool(self.password)
