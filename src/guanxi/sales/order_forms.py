"""Forms of the orders part of sales. They validate shape; the services clean values and enforce the rules."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Currency, Order, PriceList, Product, Quote, TaxRate

LINE_ROWS = 10  # line rows a quote or order form offers (blank ones are ignored)
LINE_FIELDS = ("product", "quantity", "unit_price", "discount_percent", "tax_rate")


def tax_rate_choices() -> list[tuple[str, str]]:
    return [(f"{r.rate.normalize():f}", str(r)) for r in TaxRate.objects.filter(active=True).order_by("-rate")]


def _currencies() -> Any:
    return Currency.objects.filter(active=True).order_by("code")


class ProductForm(forms.Form):
    sku = forms.CharField(label=_("SKU"), max_length=64)
    name = forms.CharField(label=_("Name"), max_length=200)
    unit = forms.CharField(label=_("Unit"), max_length=20, required=False, help_text=_("e.g. 件, 套, 年, hour"))
    price = forms.DecimalField(label=_("Price"), max_digits=14, decimal_places=2)
    currency = forms.ModelChoiceField(label=_("Currency"), queryset=Currency.objects.none())
    tax_rate = forms.ChoiceField(label=_("Tax rate (%)"), choices=())
    description = forms.CharField(label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["currency"].queryset = _currencies()  # type: ignore[attr-defined]
        self.fields["tax_rate"].choices = tax_rate_choices()  # type: ignore[attr-defined]


class PriceListForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    currency = forms.ModelChoiceField(label=_("Currency"), queryset=Currency.objects.none())
    valid_from = forms.DateField(label=_("Valid from"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    valid_to = forms.DateField(label=_("Valid to"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["currency"].queryset = _currencies()  # type: ignore[attr-defined]


class PriceListPriceForm(forms.Form):
    product = forms.ModelChoiceField(label=_("Product"), queryset=Product.objects.filter(active=True))
    price = forms.CharField(label=_("Price"), max_length=20, required=False, help_text=_("Empty removes the price."))


class TaxRateForm(forms.Form):
    rate = forms.DecimalField(label=_("Rate (%)"), max_digits=5, decimal_places=2)
    name = forms.CharField(label=_("Name"), max_length=60, required=False)


class OrderSettingsForm(forms.Form):
    loyal_orders = forms.IntegerField(label=_("Loyal after this many orders"), min_value=1, max_value=3650)
    loyal_days = forms.IntegerField(label=_("… within this many days"), min_value=1, max_value=3650)
    churn_days = forms.IntegerField(
        label=_("Churned after this many days without an order"), min_value=1, max_value=3650
    )


class _CustomerForm(forms.Form):
    account = forms.ModelChoiceField(label=_("Account"), queryset=Product.objects.none(), required=False)
    contact = forms.ModelChoiceField(label=_("Contact"), queryset=Product.objects.none(), required=False)
    currency = forms.ModelChoiceField(label=_("Currency"), queryset=Currency.objects.none())

    def __init__(self, *args: Any, accounts: Any, contacts: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["account"].queryset = accounts  # type: ignore[attr-defined]
        self.fields["contact"].queryset = contacts  # type: ignore[attr-defined]
        self.fields["currency"].queryset = _currencies()  # type: ignore[attr-defined]


class QuoteForm(_CustomerForm):
    price_list = forms.ModelChoiceField(
        label=_("Price list"),
        queryset=PriceList.objects.none(),
        required=False,
        help_text=_("Empty unit prices are taken from this list, else from the product."),
    )
    language = forms.ChoiceField(label=_("Language of the quote"), choices=Quote.Language.choices)
    valid_until = forms.DateField(
        label=_("Valid until"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    notes = forms.CharField(label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        lists = PriceList.objects.filter(active=True).select_related("currency").order_by("name")
        self.fields["price_list"].queryset = lists  # type: ignore[attr-defined]


class OrderForm(_CustomerForm):
    status = forms.ChoiceField(label=_("Status"), choices=Order.Status.choices, initial=Order.Status.PENDING)
    ordered_at = forms.DateTimeField(
        label=_("Ordered"), required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    notes = forms.CharField(label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


class StatusForm(forms.Form):
    status = forms.CharField(max_length=12)


def lines_from_post(data: Any) -> tuple[list[dict[str, Any]], list[int], list[dict[str, str]]]:
    """The filled line rows of a posted form: (lines for the service, their row indexes, every row as typed)."""
    rows: list[dict[str, str]] = []
    lines: list[dict[str, Any]] = []
    indexes: list[int] = []
    for i in range(LINE_ROWS):
        row = {name: str(data.get(f"line-{i}-{name}", "") or "").strip() for name in LINE_FIELDS}
        rows.append(row)
        if not row["product"]:
            continue
        line: dict[str, Any] = {"product": int(row["product"]) if row["product"].isdigit() else row["product"]}
        for name in LINE_FIELDS[1:]:
            if row[name]:
                line[name] = row[name]
        lines.append(line)
        indexes.append(i)
    return lines, indexes, rows
