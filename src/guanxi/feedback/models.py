"""Customer feedback: items from every channel, their classification and routing, recurring-topic issues,
surveys with signed single-use invitations, and the append-only reward-points ledger."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from guanxi.core.models import OwnedModel
from guanxi.customers.models import Account, LifecycleStage


class Kind(models.TextChoices):
    COMPLAINT = "complaint", pgettext_lazy("feedback kind", "Complaint")
    SUGGESTION = "suggestion", pgettext_lazy("feedback kind", "Suggestion")
    PRAISE = "praise", pgettext_lazy("feedback kind", "Praise")
    QUESTION = "question", pgettext_lazy("feedback kind", "Question")


class Channel(models.TextChoices):
    PORTAL = "portal", pgettext_lazy("feedback channel", "Portal")
    WEB_FORM = "web_form", pgettext_lazy("feedback channel", "Web form")
    EMAIL = "email", pgettext_lazy("feedback channel", "Email")
    PHONE = "phone", pgettext_lazy("feedback channel", "Phone")
    VISIT = "visit", pgettext_lazy("feedback channel", "Visit")
    SURVEY = "survey", pgettext_lazy("feedback channel", "Survey")
    API = "api", pgettext_lazy("feedback channel", "API")


class Sentiment(models.TextChoices):
    NEGATIVE = "negative", pgettext_lazy("sentiment", "Negative")
    NEUTRAL = "neutral", pgettext_lazy("sentiment", "Neutral")
    POSITIVE = "positive", pgettext_lazy("sentiment", "Positive")


class Severity(models.TextChoices):
    LOW = "low", pgettext_lazy("severity", "Low")
    NORMAL = "normal", pgettext_lazy("severity", "Normal")
    HIGH = "high", pgettext_lazy("severity", "High")
    CRITICAL = "critical", pgettext_lazy("severity", "Critical")


class FeedbackSettings(models.Model):
    """The organisation's feedback policy (one row): points, recurring-topic threshold, reminder lead time."""

    points_feedback = models.IntegerField(_("points for giving feedback"), default=10)
    points_survey = models.IntegerField(_("points for answering a survey"), default=5)
    points_adopted = models.IntegerField(_("points for an adopted suggestion"), default=50)
    recurring_count = models.PositiveIntegerField(_("similar items that make a recurring issue"), default=5)
    recurring_days = models.PositiveIntegerField(_("period for recurring items (days)"), default=7)
    remind_hours_before = models.PositiveIntegerField(_("remind this many hours before the deadline"), default=4)
    default_response_hours = models.PositiveIntegerField(_("default response time (hours)"), default=48)
    survey_throttle_days = models.PositiveIntegerField(
        _("survey one customer at most once in (days)"),
        default=30,
        help_text=_("For every survey together; a survey may ask for a longer pause of its own."),
    )

    class Meta:
        verbose_name = _("feedback settings")
        verbose_name_plural = _("feedback settings")

    def __str__(self) -> str:
        return str(self._meta.verbose_name)


class FeedbackTopic(models.Model):
    """What feedback is about (delivery, quality, price …); the classifier suggests one of the active topics."""

    key = models.SlugField(_("key"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=80)
    name_zh = models.CharField(_("Chinese name"), max_length=80, blank=True)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("feedback topic")
        verbose_name_plural = _("feedback topics")
        ordering = ["key"]

    def __str__(self) -> str:
        from django.utils.translation import get_language

        if self.name_zh and (get_language() or "").startswith("zh"):
            return self.name_zh
        return self.name


class RoutingRule(models.Model):
    """Who gets new feedback and how soon they must answer; the most specific matching rule wins."""

    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices, blank=True)
    severity = models.CharField(_("severity"), max_length=10, choices=Severity.choices, blank=True)
    tier = models.CharField(_("customer tier"), max_length=12, choices=Account.Tier.choices, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    team = models.ForeignKey(
        "core.Team", verbose_name=_("team"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    response_hours = models.PositiveIntegerField(_("response deadline (hours)"), default=24)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("routing rule")
        verbose_name_plural = _("routing rules")
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name

    @property
    def specificity(self) -> int:
        return bool(self.kind) + bool(self.severity) + bool(self.tier)


class FeedbackIssue(OwnedModel):
    """A topic that keeps coming back: similar items grouped and escalated to managers as one issue."""

    class Status(models.TextChoices):
        OPEN = "open", pgettext_lazy("issue status", "Open")
        CLOSED = "closed", pgettext_lazy("issue status", "Closed")

    topic = models.ForeignKey(FeedbackTopic, verbose_name=_("topic"), on_delete=models.PROTECT, related_name="+")
    title = models.CharField(_("title"), max_length=200)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.OPEN)
    escalated_at = models.DateTimeField(_("escalated"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("recurring issue")
        verbose_name_plural = _("recurring issues")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("feedback-issue-detail", args=[self.pk])


class FeedbackItem(OwnedModel):
    """One piece of customer feedback, from any channel, followed until its loop is closed."""

    class Status(models.TextChoices):
        NEW = "new", pgettext_lazy("feedback status", "New")
        ASSIGNED = "assigned", pgettext_lazy("feedback status", "Assigned")
        IN_PROGRESS = "in_progress", pgettext_lazy("feedback status", "In progress")
        RESOLVED = "resolved", pgettext_lazy("feedback status", "Resolved")
        CLOSED = "closed", pgettext_lazy("feedback status", "Closed")

    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    text = models.TextField(_("feedback"))
    language = models.CharField(_("customer language"), max_length=10, choices=settings.LANGUAGES, default="zh-hans")
    contact = models.ForeignKey(
        "customers.Contact",
        verbose_name=_("contact"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    account = models.ForeignKey(
        "customers.Account",
        verbose_name=_("account"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    lead = models.ForeignKey(
        "customers.Lead", verbose_name=_("lead"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    submitter_name = models.CharField(_("name given"), max_length=130, blank=True)
    submitter_email = models.EmailField(_("email given"), blank=True)
    # a ticket, order or product of another app: its registered kind and id (see feedback/related.py)
    related_kind = models.CharField(_("related record kind"), max_length=30, blank=True)
    related_id = models.PositiveBigIntegerField(_("related record id"), null=True, blank=True)
    topic = models.ForeignKey(
        FeedbackTopic, verbose_name=_("topic"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    topic_suggested = models.ForeignKey(
        FeedbackTopic,
        verbose_name=_("suggested topic"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    topic_confidence = models.FloatField(_("topic confidence"), default=0)
    sentiment = models.CharField(_("sentiment"), max_length=10, choices=Sentiment.choices, blank=True)
    sentiment_suggested = models.CharField(
        _("suggested sentiment"), max_length=10, choices=Sentiment.choices, blank=True
    )
    sentiment_confidence = models.FloatField(_("sentiment confidence"), default=0)
    corrected_at = models.DateTimeField(_("classification corrected"), null=True, blank=True)
    severity = models.CharField(_("severity"), max_length=10, choices=Severity.choices, default=Severity.NORMAL)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.NEW, db_index=True)
    response_due_at = models.DateTimeField(_("response due"), null=True, blank=True, db_index=True)
    first_response_at = models.DateTimeField(_("first response"), null=True, blank=True)
    reminded_at = models.DateTimeField(_("reminded"), null=True, blank=True)
    escalated_at = models.DateTimeField(_("escalated"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    resolution = models.TextField(_("resolution"), blank=True)
    customer_notified_at = models.DateTimeField(_("customer notified"), null=True, blank=True)
    no_notification_reason = models.CharField(_("why the customer was not notified"), max_length=300, blank=True)
    customer_satisfied = models.BooleanField(_("customer satisfied"), null=True, blank=True)
    rated_at = models.DateTimeField(_("rated"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    adopted_at = models.DateTimeField(_("suggestion adopted"), null=True, blank=True)
    issue = models.ForeignKey(
        FeedbackIssue,
        verbose_name=_("recurring issue"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="items",
    )
    created_at = models.DateTimeField(_("received"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("feedback item")
        verbose_name_plural = _("feedback items")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["topic", "created_at"], name="feedback_topic_recent")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.text[:40]}"

    def get_absolute_url(self) -> str:
        return reverse("feedback-detail", args=[self.pk])

    @property
    def customer(self) -> object | None:
        return self.contact or self.account or self.lead

    @property
    def loop_closed(self) -> bool:
        return self.status == self.Status.CLOSED


class Survey(models.Model):
    """A questionnaire: CSAT, NPS, CES or custom questions, sent by a trigger or to a list of customers."""

    class SurveyKind(models.TextChoices):
        CSAT = "csat", "CSAT"
        NPS = "nps", "NPS"
        CES = "ces", "CES"
        CUSTOM = "custom", pgettext_lazy("survey kind", "Custom")

    class Trigger(models.TextChoices):
        MANUAL = "manual", pgettext_lazy("survey trigger", "Sent by hand to chosen customers")
        RESOLVED = "resolved", pgettext_lazy("survey trigger", "A record with a customer is resolved or solved")
        COMPLETED = "completed", pgettext_lazy("survey trigger", "A record with a customer is completed")
        FEEDBACK_CLOSED = "feedback_closed", pgettext_lazy("survey trigger", "A feedback item is closed")
        ONBOARDING = "onboarding", pgettext_lazy("survey trigger", "Some days after a contact's first order")

    name = models.CharField(_("name"), max_length=150)
    kind = models.CharField(_("kind"), max_length=8, choices=SurveyKind.choices)
    question = models.CharField(_("main question"), max_length=300)
    # custom questions: [{"key": "q1", "label": "…", "type": "text"|"scale", "min": 1, "max": 5}]
    questions = models.JSONField(_("extra questions"), default=list, blank=True)
    trigger = models.CharField(_("trigger"), max_length=20, choices=Trigger.choices, default=Trigger.MANUAL)
    throttle_days = models.PositiveIntegerField(_("survey one customer at most once in (days)"), default=30)
    onboarding_days = models.PositiveIntegerField(
        _("days after the first order"), default=7, help_text=_("For the trigger “some days after the first order”.")
    )
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("survey")
        verbose_name_plural = _("surveys")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("survey-detail", args=[self.pk])

    @property
    def score_range(self) -> tuple[int, int] | None:
        return {"csat": (1, 5), "nps": (0, 10), "ces": (1, 7)}.get(self.kind)


class SurveyInvitation(models.Model):
    """One survey sent to one customer: its emailed link is signed and can be answered once."""

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="invitations")
    contact = models.ForeignKey("customers.Contact", on_delete=models.CASCADE, related_name="+")
    email = models.EmailField(_("sent to"), blank=True)
    language = models.CharField(_("language"), max_length=10, choices=settings.LANGUAGES, default="zh-hans")
    nonce = models.CharField(max_length=32, unique=True, editable=False)
    # the event that triggered it (idempotent event handling), or empty for a hand-sent invitation
    source_event_id = models.PositiveBigIntegerField(null=True, blank=True)
    # what else sent it, once per customer: "onboarding", or "schedule:<id>:<run day>" for a scheduled run
    source_key = models.CharField(max_length=60, blank=True, default="")
    # the product the answer is about (a sales product id, from the order or feedback that triggered it); 0: none
    product_id = models.PositiveBigIntegerField(default=0)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices, blank=True)
    team = models.ForeignKey("core.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    answered_at = models.DateTimeField(_("answered"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("survey invitation")
        verbose_name_plural = _("survey invitations")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["survey", "source_event_id"],
                condition=Q(source_event_id__isnull=False),
                name="survey_invitation_once_per_event",
            ),
            models.UniqueConstraint(
                fields=["survey", "contact", "source_key"],
                condition=~Q(source_key=""),
                name="survey_invitation_once_per_key",
            ),
        ]
        indexes = [models.Index(fields=["contact", "created_at"], name="survey_invitation_recent")]

    def __str__(self) -> str:
        return f"{self.survey} → {self.contact_id}"


class SurveyAnswer(models.Model):
    """The answer to one invitation: the score of the survey's kind, free text and custom answers."""

    invitation = models.OneToOneField(
        SurveyInvitation, null=True, blank=True, on_delete=models.CASCADE, related_name="answer"
    )
    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="answers")
    kind = models.CharField(max_length=8, choices=Survey.SurveyKind.choices)  # copied for the reports' index
    contact = models.ForeignKey("customers.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    score = models.SmallIntegerField(_("score"), null=True, blank=True)
    text = models.TextField(_("comment"), blank=True)
    answers = models.JSONField(_("answers"), default=dict, blank=True)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices, blank=True)
    team = models.ForeignKey("core.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    product_id = models.PositiveBigIntegerField(default=0)  # a sales product id, 0: none
    created_at = models.DateTimeField(_("answered"), db_index=True)

    class Meta:
        verbose_name = _("survey answer")
        verbose_name_plural = _("survey answers")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["kind", "created_at", "score"], name="survey_answer_report")]

    def __str__(self) -> str:
        return f"{self.survey_id}: {self.score}"


class PointsEntry(models.Model):
    """One line of a customer's points ledger. Never changed or deleted; the balance is the sum."""

    class Reason(models.TextChoices):
        FEEDBACK = "feedback", pgettext_lazy("points reason", "Feedback given")
        SURVEY = "survey", pgettext_lazy("points reason", "Survey answered")
        ADOPTED = "adopted", pgettext_lazy("points reason", "Suggestion adopted")
        REDEMPTION = "redemption", pgettext_lazy("points reason", "Redeemed")
        ADJUSTMENT = "adjustment", pgettext_lazy("points reason", "Adjustment")

    contact = models.ForeignKey("customers.Contact", on_delete=models.PROTECT, related_name="+")
    points = models.IntegerField(_("points"))
    reason = models.CharField(_("reason"), max_length=12, choices=Reason.choices)
    source_kind = models.CharField(max_length=30, blank=True)
    source_id = models.PositiveBigIntegerField(null=True, blank=True)
    note = models.CharField(_("note"), max_length=200, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("when"), auto_now_add=True)

    class Meta:
        verbose_name = _("points entry")
        verbose_name_plural = _("points entries")
        ordering = ["-created_at", "-id"]
        constraints = [
            # an award is earned once per source: a replayed form or link can never count twice
            models.UniqueConstraint(
                fields=["contact", "reason", "source_kind", "source_id"],
                condition=Q(source_id__isnull=False),
                name="points_once_per_source",
            )
        ]

    def __str__(self) -> str:
        return f"{self.contact_id}: {self.points:+d}"


class ClassifierVersion(models.Model):
    """One training of the organisation's classifier from staff-corrected items, with its held-out figures."""

    target = models.CharField(max_length=12)  # "topic" or "sentiment"
    trained_on = models.PositiveIntegerField(default=0)
    held_out = models.PositiveIntegerField(default=0)
    accuracy = models.FloatField(null=True, blank=True)
    macro_f1 = models.FloatField(null=True, blank=True)
    file_name = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.target} {self.created_at:%Y-%m-%d}"


class ScoreDaily(models.Model):
    """How many answers of one kind got one score on one day, per channel, team and agent: the reports read
    this (tens of thousands of rows a year) instead of every answer. Kept by `survey_answer`; rebuilt from the
    answers by `score_rollup_rebuild` after bulk loads."""

    day = models.DateField()
    kind = models.CharField(max_length=8)
    score = models.SmallIntegerField()
    channel = models.CharField(max_length=10, blank=True)
    team_id = models.PositiveBigIntegerField(default=0)  # 0: none (a plain id keeps the unique key simple)
    agent_id = models.PositiveBigIntegerField(default=0)
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "kind", "score", "channel", "team_id", "agent_id"], name="score_daily_once"
            )
        ]
        indexes = [models.Index(fields=["kind", "day"], name="score_daily_kind_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.kind} {self.score}: {self.count}"


class ScoreDailyProduct(models.Model):
    """How many answers about one product got one score on one day: the reports and KPIs by product read this.
    Apart from `ScoreDaily` so that the product does not multiply the rows every other report reads."""

    day = models.DateField()
    kind = models.CharField(max_length=8)
    score = models.SmallIntegerField()
    product_id = models.PositiveBigIntegerField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["day", "kind", "score", "product_id"], name="score_daily_product_once")
        ]
        indexes = [models.Index(fields=["kind", "day"], name="score_daily_product_kind_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.kind} {self.score} product {self.product_id}: {self.count}"


class ScoreMonthlyProduct(models.Model):
    """`ScoreDailyProduct` summed by calendar month (`month` is its first day): the report by product reads the
    whole months of its range here and only the part-months at its ends from the daily rows (about 30 times
    fewer rows to group over a year)."""

    month = models.DateField()
    kind = models.CharField(max_length=8)
    score = models.SmallIntegerField()
    product_id = models.PositiveBigIntegerField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["month", "kind", "score", "product_id"], name="score_monthly_product_once")
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.kind} {self.score} product {self.product_id}: {self.count}"


class SurveySchedule(models.Model):
    """A survey sent again and again to an audience (a tag, a lifecycle stage, an account tier) every N days.

    The worker's periodic task runs the schedules that are due; each run is keyed by its day, so running the
    task twice sends nothing twice, and the usual throttling skips customers surveyed recently."""

    name = models.CharField(_("name"), max_length=150)
    survey = models.ForeignKey(Survey, verbose_name=_("survey"), on_delete=models.CASCADE, related_name="schedules")
    audience_tag = models.ForeignKey(
        "core.Tag",
        verbose_name=_("contacts with the tag"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    audience_stage = models.CharField(_("lifecycle stage"), max_length=12, choices=LifecycleStage.choices, blank=True)
    audience_tier = models.CharField(_("account tier"), max_length=12, choices=Account.Tier.choices, blank=True)
    every_days = models.PositiveIntegerField(_("every (days)"), default=30)
    next_run_at = models.DateTimeField(_("next run"))
    last_run_at = models.DateTimeField(_("last run"), null=True, blank=True)
    last_sent = models.PositiveIntegerField(_("sent in the last run"), default=0)
    last_skipped = models.PositiveIntegerField(_("skipped in the last run"), default=0)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("survey schedule")
        verbose_name_plural = _("survey schedules")
        ordering = ["next_run_at", "id"]

    def __str__(self) -> str:
        return self.name
