"""Analytics data: per-customer scores (RFM, CLV, churn, recommendations), KPI values, acquisition spend."""

from __future__ import annotations

from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from guanxi.core.models import User
from guanxi.customers.models import Account, Contact, Lead


class Segment(models.TextChoices):
    """RFM segments (the usual 5×5 R/F grid names)."""

    CHAMPIONS = "champions", pgettext_lazy("rfm segment", "Champions")
    LOYAL = "loyal", pgettext_lazy("rfm segment", "Loyal")
    POTENTIAL = "potential", pgettext_lazy("rfm segment", "Potential loyalist")
    NEW = "new", pgettext_lazy("rfm segment", "New customer")
    PROMISING = "promising", pgettext_lazy("rfm segment", "Promising")
    NEED_ATTENTION = "attention", pgettext_lazy("rfm segment", "Needs attention")
    ABOUT_TO_SLEEP = "sleep", pgettext_lazy("rfm segment", "About to sleep")
    AT_RISK = "at_risk", pgettext_lazy("rfm segment", "At risk")
    CANT_LOSE = "cant_lose", pgettext_lazy("rfm segment", "Can't lose them")
    HIBERNATING = "hibernating", pgettext_lazy("rfm segment", "Hibernating")
    LOST = "lost", pgettext_lazy("rfm segment", "Lost")


class CustomerScore(models.Model):
    """One customer's analytics as of one period end: value, RFM, CLV, churn risk and suggested products.

    A customer is the order's account when it has one, else its contact (B2B and B2C alike).
    """

    period = models.DateField(_("as of"), db_index=True)
    account = models.ForeignKey(
        Account, verbose_name=_("account"), null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    contact = models.ForeignKey(
        Contact, verbose_name=_("contact"), null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    orders = models.PositiveIntegerField(_("orders"), default=0)
    revenue = models.DecimalField(_("revenue"), max_digits=16, decimal_places=2, default=Decimal("0"))
    first_order_at = models.DateTimeField(_("first order"), null=True)
    last_order_at = models.DateTimeField(_("last order"), null=True)
    recency_days = models.PositiveIntegerField(_("days since last order"), default=0)
    r_score = models.PositiveSmallIntegerField(_("R"), default=1)
    f_score = models.PositiveSmallIntegerField(_("F"), default=1)
    m_score = models.PositiveSmallIntegerField(_("M"), default=1)
    segment = models.CharField(_("segment"), max_length=12, choices=Segment.choices, db_index=True)
    expected_purchases = models.FloatField(_("expected orders (12 months)"), null=True)
    probability_alive = models.FloatField(_("probability active"), null=True)
    clv = models.DecimalField(_("predicted value (12 months)"), max_digits=16, decimal_places=2, null=True)
    churn_risk = models.FloatField(_("churn risk"), null=True)
    churn_factors = models.JSONField(_("churn reasons"), default=list, blank=True)
    recommended = models.JSONField(_("suggested products"), default=list, blank=True)
    computed_at = models.DateTimeField(_("computed"), auto_now=True)

    class Meta:
        verbose_name = _("customer score")
        verbose_name_plural = _("customer scores")
        ordering = ["-period", "-revenue", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(account__isnull=False, contact__isnull=True)
                | models.Q(account__isnull=True, contact__isnull=False),
                name="score_one_customer",
            ),
            models.UniqueConstraint(fields=["period", "account"], name="score_account_once"),
            models.UniqueConstraint(fields=["period", "contact"], name="score_contact_once"),
        ]
        indexes = [
            models.Index(fields=["account", "period"], name="score_account_period"),
            models.Index(fields=["contact", "period"], name="score_contact_period"),
            models.Index(fields=["period", "churn_risk"], name="score_period_risk"),
            models.Index(fields=["period", "-revenue", "-churn_risk", "id"], name="score_period_revenue"),
            models.Index(fields=["period", "clv"], name="score_period_clv"),
        ]

    def __str__(self) -> str:
        return f"{self.customer} @ {self.period}"

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        kind, pk = ("account", self.account_id) if self.account_id else ("contact", self.contact_id)
        return reverse("analytics-profile", args=[kind, pk])

    @property
    def customer(self) -> Account | Contact:
        return self.account if self.account_id else self.contact  # type: ignore[return-value]


class ModelRun(models.Model):
    """One fit of the analytics models for a period: parameters and held-out metrics, for the record."""

    period = models.DateField(_("as of"), db_index=True)
    params = models.JSONField(_("parameters"), default=dict)
    metrics = models.JSONField(_("metrics"), default=dict)
    customers = models.PositiveIntegerField(_("customers"), default=0)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("model run")
        verbose_name_plural = _("model runs")
        ordering = ["-period", "-id"]

    def __str__(self) -> str:
        return f"{self.period}"


class KpiValue(models.Model):
    """One KPI for one month and one dimension ("" = everyone, "team:7", "owner:3").

    Numerator and denominator are stored so that values of several dimensions add up correctly.
    """

    kpi = models.CharField(_("KPI"), max_length=40)
    period = models.DateField(_("month"))
    dimension = models.CharField(_("dimension"), max_length=40, default="", blank=True)
    numerator = models.FloatField(default=0)
    denominator = models.FloatField(default=0)
    # on the company row: the highest event id committed when the month was read (the event handler skips
    # events at or below it); 0 after a full rebuild
    as_of_event = models.PositiveBigIntegerField(default=0)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("KPI value")
        verbose_name_plural = _("KPI values")
        ordering = ["kpi", "period", "dimension"]
        constraints = [models.UniqueConstraint(fields=["kpi", "period", "dimension"], name="kpi_value_once")]

    def __str__(self) -> str:
        return f"{self.kpi} {self.period} {self.dimension}"


class AcquisitionSpend(models.Model):
    """Marketing spend to win new customers, per channel and month: the numerator of CAC."""

    channel = models.CharField(_("channel"), max_length=12, choices=Lead.Source.choices)
    month = models.DateField(_("month"), help_text=_("The first day of the month."))
    amount = models.DecimalField(
        _("amount (CNY)"), max_digits=14, decimal_places=2, validators=[MinValueValidator(Decimal("0"))]
    )
    note = models.CharField(_("note"), max_length=200, blank=True)
    updated_by = models.ForeignKey(
        User, verbose_name=_("updated by"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("acquisition spend")
        verbose_name_plural = _("acquisition spend")
        ordering = ["-month", "channel"]
        constraints = [models.UniqueConstraint(fields=["channel", "month"], name="spend_channel_month_once")]

    def __str__(self) -> str:
        return f"{self.channel} {self.month:%Y-%m}"


class DashboardSubscription(models.Model):
    """A user's request to get a dashboard's numbers by email, every week (Monday morning)."""

    class Role(models.TextChoices):
        EXECUTIVE = "executive", pgettext_lazy("dashboard", "Executive")
        SALES = "sales", pgettext_lazy("dashboard", "Sales team")
        SERVICE = "service", pgettext_lazy("dashboard", "Service")
        MARKETING = "marketing", pgettext_lazy("dashboard", "Marketing")
        MINE = "mine", pgettext_lazy("dashboard", "My own")

    user = models.ForeignKey(User, verbose_name=_("user"), on_delete=models.CASCADE, related_name="+")
    role = models.CharField(_("dashboard"), max_length=10, choices=Role.choices)
    last_sent_at = models.DateTimeField(_("last sent"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("dashboard email")
        verbose_name_plural = _("dashboard emails")
        constraints = [models.UniqueConstraint(fields=["user", "role"], name="dashboard_subscription_once")]

    def __str__(self) -> str:
        return f"{self.user} {self.role}"
