"""Sales: currencies, pipelines and stages, deals, products and price lists, quotes, orders, assignment rules."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from guanxi.core.models import OwnedModel, Team, User
from guanxi.customers.models import Account, Contact, Lead

ZERO = Decimal("0")
HUNDRED = Decimal("100")


def _percent_validators() -> list[Any]:
    return [MinValueValidator(ZERO), MaxValueValidator(HUNDRED)]


# --- currencies ------------------------------------------------------------------------------------


class Currency(models.Model):
    """A currency amounts may be in, with its rate to CNY (the reporting currency); CNY's rate is 1."""

    code = models.CharField(_("code"), max_length=3, unique=True, help_text=_("ISO 4217 code, e.g. CNY, USD."))
    name = models.CharField(_("name"), max_length=60)
    # null = no rate known yet: amounts in this currency are refused until an administrator sets one
    rate_to_cny = models.DecimalField(
        _("rate to CNY"),
        max_digits=18,
        decimal_places=6,
        null=True,
        blank=True,
        help_text=_("How many yuan one unit of this currency is worth."),
    )
    active = models.BooleanField(_("active"), default=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("currency")
        verbose_name_plural = _("currencies")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(rate_to_cny__isnull=True) | Q(rate_to_cny__gt=0), name="currency_rate_positive"
            ),
        ]

    def __str__(self) -> str:
        return self.code


# --- pipelines -------------------------------------------------------------------------------------


class Pipeline(models.Model):
    """A sales process (new business, renewals …) with its ordered stages."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    position = models.PositiveIntegerField(_("position"), default=0)
    active = models.BooleanField(_("active"), default=True)
    is_default = models.BooleanField(_("default"), default=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("pipeline")
        verbose_name_plural = _("pipelines")
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["is_default"], condition=Q(is_default=True), name="pipeline_one_default"),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("pipeline-board", args=[self.pk])


class StageKind(models.TextChoices):
    OPEN = "open", pgettext_lazy("stage kind", "Open")
    WON = "won", pgettext_lazy("stage kind", "Won")
    LOST = "lost", pgettext_lazy("stage kind", "Lost")


class Stage(models.Model):
    """One step of a pipeline: its win probability, whether it closes the deal, and the fields it requires."""

    pipeline = models.ForeignKey(Pipeline, verbose_name=_("pipeline"), on_delete=models.CASCADE, related_name="stages")
    name = models.CharField(_("name"), max_length=100)
    position = models.PositiveIntegerField(_("position"), default=0)
    probability = models.PositiveSmallIntegerField(
        _("win probability (%)"), default=0, validators=[MinValueValidator(0), MaxValueValidator(100)]
    )
    kind = models.CharField(_("kind"), max_length=4, choices=StageKind.choices, default=StageKind.OPEN)
    # names of Deal fields that must be filled before a deal may enter this stage (sales.services.DEAL_REQUIRABLE)
    required_fields = models.JSONField(_("required fields"), default=list, blank=True)

    class Meta:
        verbose_name = _("stage")
        verbose_name_plural = _("stages")
        ordering = ["pipeline", "position", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(probability__lte=100), name="stage_probability_max_100"),
            models.UniqueConstraint(fields=["pipeline", "name"], name="stage_name_once_per_pipeline"),
        ]
        indexes = [models.Index(fields=["pipeline", "position"], name="stage_order")]

    def __str__(self) -> str:
        return self.name

    @property
    def is_closed(self) -> bool:
        return self.kind != StageKind.OPEN


class LostReason(models.Model):
    """Why a deal was lost (price, competitor, no budget …), chosen when a deal moves to a lost stage."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    position = models.PositiveIntegerField(_("position"), default=0)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("lost reason")
        verbose_name_plural = _("lost reasons")
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name


# --- products and price lists ----------------------------------------------------------------------


class Product(models.Model):
    """Something the business sells, with its list price and VAT rate (13, 9, 6, 3 or 0 % in China)."""

    sku = models.CharField(_("SKU"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=200)
    unit = models.CharField(_("unit"), max_length=20, blank=True, help_text=_("e.g. 件, 套, 年, hour"))
    price = models.DecimalField(
        _("price"), max_digits=14, decimal_places=2, default=ZERO, validators=[MinValueValidator(ZERO)]
    )
    currency = models.ForeignKey(Currency, verbose_name=_("currency"), on_delete=models.PROTECT, related_name="+")
    tax_rate = models.DecimalField(
        _("tax rate (%)"), max_digits=5, decimal_places=2, default=Decimal("13"), validators=_percent_validators()
    )
    active = models.BooleanField(_("active"), default=True)
    description = models.TextField(_("description"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(price__gte=0), name="product_price_not_negative"),
            models.CheckConstraint(condition=Q(tax_rate__gte=0, tax_rate__lte=100), name="product_tax_rate_0_100"),
        ]

    def __str__(self) -> str:
        return f"{self.sku} · {self.name}"


class PriceList(models.Model):
    """Prices for some products in one currency, valid for a period (a distributor list, a USD list …)."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    currency = models.ForeignKey(Currency, verbose_name=_("currency"), on_delete=models.PROTECT, related_name="+")
    active = models.BooleanField(_("active"), default=True)
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_to = models.DateField(_("valid to"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("price list")
        verbose_name_plural = _("price lists")
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_from__isnull=True)
                | Q(valid_to__isnull=True)
                | Q(valid_to__gte=models.F("valid_from")),
                name="price_list_period_in_order",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class PriceListItem(models.Model):
    """One product's price on one price list."""

    price_list = models.ForeignKey(
        PriceList, verbose_name=_("price list"), on_delete=models.CASCADE, related_name="items"
    )
    product = models.ForeignKey(Product, verbose_name=_("product"), on_delete=models.CASCADE, related_name="+")
    price = models.DecimalField(_("price"), max_digits=14, decimal_places=2, validators=[MinValueValidator(ZERO)])

    class Meta:
        verbose_name = _("price list item")
        verbose_name_plural = _("price list items")
        ordering = ["price_list", "product"]
        constraints = [
            models.UniqueConstraint(fields=["price_list", "product"], name="price_list_product_once"),
            models.CheckConstraint(condition=Q(price__gte=0), name="price_list_item_price_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.price_list_id}:{self.product_id}"


# --- priced lines (deal, quote and order lines share their money columns) ----------------------------


class PricedLine(models.Model):
    """A product at a quantity, unit price, discount and VAT rate, with its net, tax and gross amounts stored.

    Deal, quote and order lines are all one of these; `set_totals` rounds them the way `pricing` does, so a
    deal's lines carried into a quote add up to the same totals.
    """

    product = models.ForeignKey(Product, verbose_name=_("product"), on_delete=models.PROTECT, related_name="+")
    description = models.CharField(_("description"), max_length=255, blank=True)
    quantity = models.DecimalField(_("quantity"), max_digits=12, decimal_places=3, default=Decimal("1"))
    unit_price = models.DecimalField(
        _("unit price"), max_digits=14, decimal_places=2, validators=[MinValueValidator(ZERO)]
    )
    discount_percent = models.DecimalField(
        _("discount (%)"), max_digits=5, decimal_places=2, default=ZERO, validators=_percent_validators()
    )
    tax_rate = models.DecimalField(
        _("tax rate (%)"), max_digits=5, decimal_places=2, default=ZERO, validators=_percent_validators()
    )
    net_amount = models.DecimalField(_("net"), max_digits=14, decimal_places=2, default=ZERO, editable=False)
    tax_amount = models.DecimalField(_("tax"), max_digits=14, decimal_places=2, default=ZERO, editable=False)
    gross_amount = models.DecimalField(_("gross"), max_digits=14, decimal_places=2, default=ZERO, editable=False)

    class Meta:
        abstract = True

    @property
    def quantity_text(self) -> str:
        """The quantity without trailing zeros: "10", "2.5"."""
        return f"{self.quantity.normalize():f}"

    @property
    def discount_text(self) -> str:
        return f"{self.discount_percent.normalize():f}"

    @property
    def tax_rate_text(self) -> str:
        return f"{self.tax_rate.normalize():f}"

    def set_totals(self) -> None:
        """Work out net, tax and gross from quantity, unit price, discount and tax rate (half-up to the cent)."""
        from .pricing import line_totals

        totals = line_totals(
            quantity=self.quantity,
            unit_price=self.unit_price,
            discount_percent=self.discount_percent,
            tax_rate=self.tax_rate,
        )
        self.net_amount, self.tax_amount, self.gross_amount = totals.net, totals.tax, totals.gross


# --- deals -----------------------------------------------------------------------------------------


class DealStatus(models.TextChoices):
    """Mirrors the kind of the deal's stage, kept by the services so reports need no join."""

    OPEN = "open", pgettext_lazy("deal status", "Open")
    WON = "won", pgettext_lazy("deal status", "Won")
    LOST = "lost", pgettext_lazy("deal status", "Lost")


class Deal(OwnedModel):
    """A sales opportunity moving through the stages of one pipeline."""

    name = models.CharField(_("name"), max_length=200)
    pipeline = models.ForeignKey(Pipeline, verbose_name=_("pipeline"), on_delete=models.PROTECT, related_name="deals")
    stage = models.ForeignKey(Stage, verbose_name=_("stage"), on_delete=models.PROTECT, related_name="deals")
    status = models.CharField(
        _("status"), max_length=4, choices=DealStatus.choices, default=DealStatus.OPEN, editable=False
    )
    account = models.ForeignKey(
        Account, verbose_name=_("account"), null=True, blank=True, on_delete=models.SET_NULL, related_name="deals"
    )
    contacts = models.ManyToManyField(Contact, verbose_name=_("contacts"), blank=True, related_name="deals")
    lead = models.ForeignKey(
        Lead,
        verbose_name=_("converted from lead"),
        null=True,
        blank=True,
        editable=False,
        on_delete=models.SET_NULL,
        related_name="deals",
    )
    amount = models.DecimalField(
        _("amount"), max_digits=14, decimal_places=2, null=True, blank=True, validators=[MinValueValidator(ZERO)]
    )
    currency = models.ForeignKey(Currency, verbose_name=_("currency"), on_delete=models.PROTECT, related_name="+")
    # the amount in CNY at the rate of the last write, so funnel and forecast sum one column
    amount_cny = models.DecimalField(
        _("amount (CNY)"), max_digits=14, decimal_places=2, null=True, blank=True, editable=False
    )
    expected_close = models.DateField(_("expected close"), null=True, blank=True)
    source = models.CharField(_("source"), max_length=12, choices=Lead.Source.choices, blank=True)
    lost_reason = models.ForeignKey(
        LostReason, verbose_name=_("lost reason"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    lost_note = models.TextField(_("lost note"), blank=True)
    # the open stage a lost deal was lost from: the funnel counts how far deals got without reading events
    lost_at_stage = models.ForeignKey(
        Stage,
        verbose_name=_("lost at stage"),
        null=True,
        blank=True,
        editable=False,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True, editable=False)
    stage_entered_at = models.DateTimeField(_("in stage since"), default=timezone.now, editable=False)
    last_activity_at = models.DateTimeField(_("last activity"), default=timezone.now, editable=False)
    # order inside a kanban column: ascending; a move takes the midpoint of its new neighbours
    position = models.FloatField(_("position"), default=0, editable=False)
    custom = models.JSONField(_("custom fields"), default=dict, blank=True)
    tags = models.ManyToManyField("core.Tag", verbose_name=_("tags"), blank=True, related_name="+")
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("deal")
        verbose_name_plural = _("deals")
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__isnull=True) | Q(amount__gte=0), name="deal_amount_not_negative"
            ),
        ]
        indexes = [
            models.Index(fields=["pipeline", "stage", "position"], name="deal_board"),
            models.Index(fields=["stage", "expected_close"], name="deal_forecast"),
            models.Index(fields=["status", "expected_close"], name="deal_status_close"),
            models.Index(fields=["owner", "status"], name="deal_owner_status"),
            models.Index(fields=["status", "last_activity_at"], name="deal_stale"),
            # the forecast (open deals of a pipeline by expected close) and the board's column figures read
            # only this index on PostgreSQL (an index-only scan); SQLite ignores `include`
            models.Index(
                fields=["pipeline", "status", "expected_close"],
                include=["stage", "owner", "team", "amount_cny", "id"],
                name="deal_report",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("deal-detail", args=[self.pk])


class DealProduct(PricedLine):
    """A product line of a deal: while a deal has lines, its amount is their gross total."""

    deal = models.ForeignKey(Deal, verbose_name=_("deal"), on_delete=models.CASCADE, related_name="products")

    class Meta:
        verbose_name = _("deal product")
        verbose_name_plural = _("deal products")
        ordering = ["deal", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="deal_product_quantity_positive"),
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="deal_product_price_not_negative"),
            models.CheckConstraint(
                condition=Q(discount_percent__gte=0, discount_percent__lte=100), name="deal_product_discount_0_100"
            ),
            models.CheckConstraint(condition=Q(tax_rate__gte=0, tax_rate__lte=100), name="deal_product_tax_rate_0_100"),
        ]

    def __str__(self) -> str:
        return f"{self.deal_id}:{self.product_id}"


class DealTask(models.Model):
    """Links a follow-up task (a customers Interaction, kept on the deal's account or contact) to a deal."""

    deal = models.ForeignKey(Deal, verbose_name=_("deal"), on_delete=models.CASCADE, related_name="task_links")
    interaction = models.OneToOneField(
        "customers.Interaction", verbose_name=_("task"), on_delete=models.CASCADE, related_name="deal_link"
    )

    class Meta:
        verbose_name = _("deal task")
        verbose_name_plural = _("deal tasks")
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.deal_id}:{self.interaction_id}"


# --- quotes ----------------------------------------------------------------------------------------


class Quote(OwnedModel):
    """An offer to a customer: lines with discounts and tax, printable in Chinese or English."""

    class Status(models.TextChoices):
        DRAFT = "draft", pgettext_lazy("quote status", "Draft")
        SENT = "sent", pgettext_lazy("quote status", "Sent")
        ACCEPTED = "accepted", pgettext_lazy("quote status", "Accepted")
        REJECTED = "rejected", pgettext_lazy("quote status", "Rejected")
        EXPIRED = "expired", pgettext_lazy("quote status", "Expired")

    class Language(models.TextChoices):
        ZH_HANS = "zh-hans", "简体中文"
        EN = "en", "English"

    number = models.CharField(_("number"), max_length=40, unique=True)
    deal = models.ForeignKey(
        Deal, verbose_name=_("deal"), null=True, blank=True, on_delete=models.SET_NULL, related_name="quotes"
    )
    account = models.ForeignKey(
        Account, verbose_name=_("account"), null=True, blank=True, on_delete=models.PROTECT, related_name="quotes"
    )
    contact = models.ForeignKey(
        Contact, verbose_name=_("contact"), null=True, blank=True, on_delete=models.PROTECT, related_name="quotes"
    )
    currency = models.ForeignKey(Currency, verbose_name=_("currency"), on_delete=models.PROTECT, related_name="+")
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    language = models.CharField(_("language"), max_length=10, choices=Language.choices, default=Language.ZH_HANS)
    notes = models.TextField(_("notes"), blank=True)
    net_total = models.DecimalField(_("net total"), max_digits=14, decimal_places=2, default=ZERO, editable=False)
    tax_total = models.DecimalField(_("tax total"), max_digits=14, decimal_places=2, default=ZERO, editable=False)
    gross_total = models.DecimalField(_("gross total"), max_digits=14, decimal_places=2, default=ZERO, editable=False)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True, editable=False)
    accepted_at = models.DateTimeField(_("accepted"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("quote")
        verbose_name_plural = _("quotes")
        ordering = ["-id"]

    def __str__(self) -> str:
        return self.number


class QuoteLine(PricedLine):
    """One line of a quote; net = quantity × unit price × (1 − discount), tax on the net."""

    quote = models.ForeignKey(Quote, verbose_name=_("quote"), on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("quote line")
        verbose_name_plural = _("quote lines")
        ordering = ["quote", "position", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="quote_line_quantity_positive"),
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="quote_line_price_not_negative"),
            models.CheckConstraint(
                condition=Q(discount_percent__gte=0, discount_percent__lte=100), name="quote_line_discount_0_100"
            ),
            models.CheckConstraint(condition=Q(tax_rate__gte=0, tax_rate__lte=100), name="quote_line_tax_rate_0_100"),
        ]

    def __str__(self) -> str:
        return f"{self.quote_id}:{self.position}"


# --- orders ----------------------------------------------------------------------------------------


class Order(OwnedModel):
    """A purchase: the history repurchase rate, average order value, RFM and lifetime value come from."""

    class Source(models.TextChoices):
        MANUAL = "manual", pgettext_lazy("order source", "Entered by hand")
        API = "api", pgettext_lazy("order source", "API")
        IMPORT = "import", pgettext_lazy("order source", "Import")
        QUOTE = "quote", pgettext_lazy("order source", "Accepted quote")

    class Status(models.TextChoices):
        PENDING = "pending", pgettext_lazy("order status", "Pending")
        PAID = "paid", pgettext_lazy("order status", "Paid")
        SHIPPED = "shipped", pgettext_lazy("order status", "Shipped")
        COMPLETED = "completed", pgettext_lazy("order status", "Completed")
        CANCELLED = "cancelled", pgettext_lazy("order status", "Cancelled")
        REFUNDED = "refunded", pgettext_lazy("order status", "Refunded")

    number = models.CharField(_("number"), max_length=40, unique=True)
    source = models.CharField(_("source"), max_length=8, choices=Source.choices, default=Source.MANUAL)
    # the sending system (an ERP, a shop) and its id for the order: a re-sent order is recognised, not doubled
    external_system = models.CharField(_("external system"), max_length=60, blank=True)
    external_id = models.CharField(_("external ID"), max_length=100, null=True, blank=True)
    account = models.ForeignKey(
        Account, verbose_name=_("account"), null=True, blank=True, on_delete=models.PROTECT, related_name="orders"
    )
    contact = models.ForeignKey(
        Contact, verbose_name=_("contact"), null=True, blank=True, on_delete=models.PROTECT, related_name="orders"
    )
    quote = models.ForeignKey(
        Quote, verbose_name=_("quote"), null=True, blank=True, on_delete=models.SET_NULL, related_name="orders"
    )
    deal = models.ForeignKey(
        Deal, verbose_name=_("deal"), null=True, blank=True, on_delete=models.SET_NULL, related_name="orders"
    )
    currency = models.ForeignKey(Currency, verbose_name=_("currency"), on_delete=models.PROTECT, related_name="+")
    # the currency's rate when the order was placed, so totals in CNY do not move with later rate changes
    rate_to_cny = models.DecimalField(_("rate to CNY"), max_digits=18, decimal_places=6, default=Decimal("1"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    ordered_at = models.DateTimeField(_("ordered"), default=timezone.now)
    paid_at = models.DateTimeField(_("paid"), null=True, blank=True)
    shipped_at = models.DateTimeField(_("shipped"), null=True, blank=True)
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled"), null=True, blank=True)
    refunded_at = models.DateTimeField(_("refunded"), null=True, blank=True)
    net_total = models.DecimalField(_("net total"), max_digits=14, decimal_places=2, default=ZERO, editable=False)
    tax_total = models.DecimalField(_("tax total"), max_digits=14, decimal_places=2, default=ZERO, editable=False)
    gross_total = models.DecimalField(_("gross total"), max_digits=14, decimal_places=2, default=ZERO, editable=False)
    notes = models.TextField(_("notes"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-ordered_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(account__isnull=False) | Q(contact__isnull=False), name="order_has_customer"
            ),
            models.UniqueConstraint(
                fields=["external_system", "external_id"],
                condition=Q(external_id__isnull=False),
                name="order_external_id_once",
            ),
            models.CheckConstraint(condition=Q(rate_to_cny__gt=0), name="order_rate_positive"),
            models.CheckConstraint(
                condition=Q(net_total__gte=0, tax_total__gte=0, gross_total__gte=0), name="order_totals_not_negative"
            ),
        ]
        indexes = [
            models.Index(fields=["account", "ordered_at"], name="order_account_time"),
            models.Index(fields=["contact", "ordered_at"], name="order_contact_time"),
            models.Index(fields=["ordered_at"], name="order_time"),
            models.Index(fields=["status", "ordered_at"], name="order_status_time"),
        ]

    def __str__(self) -> str:
        return self.number


class OrderLine(PricedLine):
    """One line of an order, with its net, tax and gross amounts stored as invoiced."""

    order = models.ForeignKey(Order, verbose_name=_("order"), on_delete=models.CASCADE, related_name="lines")

    class Meta:
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")
        ordering = ["order", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="order_line_quantity_positive"),
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="order_line_price_not_negative"),
            models.CheckConstraint(
                condition=Q(discount_percent__gte=0, discount_percent__lte=100), name="order_line_discount_0_100"
            ),
            models.CheckConstraint(condition=Q(tax_rate__gte=0, tax_rate__lte=100), name="order_line_tax_rate_0_100"),
        ]
        indexes = [models.Index(fields=["product", "order"], name="order_line_product")]

    def __str__(self) -> str:
        return f"{self.order_id}:{self.product_id}"


# --- follow-ups and assignment ---------------------------------------------------------------------


class SalesSettings(models.Model):
    """Organisation-wide sales policy (one row): when a deal counts as stale."""

    stale_after_days = models.PositiveSmallIntegerField(
        _("stale after (days)"),
        default=14,
        validators=[MinValueValidator(1), MaxValueValidator(365)],
        help_text=_("Open deals with no activity for this many days are flagged."),
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    updated_by = models.ForeignKey(
        User, verbose_name=_("updated by"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("sales settings")
        verbose_name_plural = _("sales settings")
        constraints = [models.CheckConstraint(condition=Q(stale_after_days__gte=1), name="sales_stale_days_positive")]

    def __str__(self) -> str:
        return str(self.stale_after_days)


class AssignmentRule(models.Model):
    """Who gets a new lead or deal: the first active rule that matches (by province) names a user or a team.

    A team rule deals the records round robin over the team's active members.
    """

    class AppliesTo(models.TextChoices):
        LEADS = "leads", _("Leads")
        DEALS = "deals", _("Deals")
        BOTH = "both", _("Leads and deals")

    position = models.PositiveIntegerField(_("position"), default=0)
    applies_to = models.CharField(_("applies to"), max_length=5, choices=AppliesTo.choices, default=AppliesTo.BOTH)
    province = models.CharField(
        _("province"), max_length=50, blank=True, help_text=_("Leave empty to match every region.")
    )
    team = models.ForeignKey(
        Team, verbose_name=_("team (round robin)"), null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    user = models.ForeignKey(
        User, verbose_name=_("user"), null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    active = models.BooleanField(_("active"), default=True)
    # round-robin cursor: the member who got the last record
    last_assigned = models.ForeignKey(
        User, null=True, blank=True, editable=False, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("assignment rule")
        verbose_name_plural = _("assignment rules")
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(team__isnull=False, user__isnull=True) | Q(team__isnull=True, user__isnull=False),
                name="assignment_rule_team_or_user",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.province or '*'} → {self.user_id or self.team_id}"


# --- orders part (S2): VAT rates in use and the purchase-lifecycle policy ------------------------------------


class TaxRate(models.Model):
    """A VAT rate products and quote lines may carry; China's are 13, 9, 6, 3 and 0 %."""

    rate = models.DecimalField(
        _("rate (%)"), max_digits=5, decimal_places=2, unique=True, validators=_percent_validators()
    )
    name = models.CharField(_("name"), max_length=60, blank=True, help_text=_("e.g. 一般纳税人 货物"))
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("tax rate")
        verbose_name_plural = _("tax rates")
        ordering = ["-rate"]
        constraints = [models.CheckConstraint(condition=Q(rate__gte=0, rate__lte=100), name="tax_rate_0_100")]

    def __str__(self) -> str:
        return f"{self.rate.normalize():f} %"


class OrderSettings(models.Model):
    """The lifecycle policy kept from orders (one row): when a customer is loyal, and when churned."""

    loyal_orders = models.PositiveSmallIntegerField(
        _("loyal after this many orders"), default=3, validators=[MinValueValidator(1)]
    )
    loyal_days = models.PositiveSmallIntegerField(
        _("… within this many days"), default=365, validators=[MinValueValidator(1), MaxValueValidator(3650)]
    )
    churn_days = models.PositiveSmallIntegerField(
        _("churned after this many days without an order"),
        default=365,
        validators=[MinValueValidator(1), MaxValueValidator(3650)],
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    updated_by = models.ForeignKey(
        User, verbose_name=_("updated by"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("order settings")
        verbose_name_plural = _("order settings")

    def __str__(self) -> str:
        return f"{self.loyal_orders}/{self.loyal_days}/{self.churn_days}"
