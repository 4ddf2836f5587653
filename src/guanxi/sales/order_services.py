"""Every write to products, price lists, tax rates, quotes and orders: one function per business action, one
transaction, its events. Bad input is refused with a ValidationError naming the field (and the line)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi.core.events import field_changes, record_event, snapshot
from guanxi.customers import services as customer_services
from guanxi.customers.models import Account, Contact, LifecycleStage

from .models import (
    Currency,
    Deal,
    Order,
    OrderLine,
    OrderSettings,
    PriceList,
    PriceListItem,
    Product,
    Quote,
    QuoteLine,
    TaxRate,
)
from .pricing import document_totals, line_totals, money

Errors = dict[str, list[str]]
Customer = Account | Contact

# --- small cleaners -------------------------------------------------------------------------------------


def _line(value: Any) -> str:
    return " ".join(str(value or "").split())


def _decimal(value: Any, errors: Errors, field: str, *, label: str = "") -> Decimal | None:
    """A decimal from what was typed ("1,234.50", " 3 " …); an error on `field` when it is not a number."""
    if value is None or value == "":
        return None
    if isinstance(value, Decimal):
        return value
    try:
        number = Decimal(str(value).replace(",", "").strip())
    except InvalidOperation:
        errors.setdefault(field, []).append(label + _("Enter a number."))
        return None
    if not number.is_finite():
        errors.setdefault(field, []).append(label + _("Enter a number."))
        return None
    return number


def _rate_of(currency: Currency, errors: Errors, field: str = "currency") -> Decimal | None:
    if currency.rate_to_cny is None:
        errors.setdefault(field, []).append(
            _("%(code)s has no exchange rate yet; ask an administrator to set its rate to CNY first.")
            % {"code": currency.code}
        )
        return None
    if not currency.active:
        errors.setdefault(field, []).append(_("%(code)s is no longer in use.") % {"code": currency.code})
        return None
    return currency.rate_to_cny


def _raise(errors: Errors) -> None:
    if errors:
        raise ValidationError(errors)


# --- tax rates --------------------------------------------------------------------------------------------


def tax_rates_active() -> list[Decimal]:
    """The VAT rates products and lines may carry (13, 9, 6, 3 and 0 % unless an administrator changed them)."""
    return list(TaxRate.objects.filter(active=True).order_by("-rate").values_list("rate", flat=True))


def _tax_rate_check(rate: Decimal | None, errors: Errors, field: str, label: str = "") -> None:
    if rate is None:
        return
    allowed = tax_rates_active()
    if rate not in allowed:
        errors.setdefault(field, []).append(
            label
            + _("%(rate)s %% is not one of the tax rates in use (%(rates)s).")
            % {"rate": _pct(rate), "rates": ", ".join(f"{_pct(r)} %" for r in allowed)}
        )


def _pct(rate: Decimal) -> str:
    text = format(rate.normalize(), "f")
    return text


@transaction.atomic
def tax_rate_create(*, actor: Any, rate: Any, name: str = "") -> TaxRate:
    """Add a VAT rate that products and quote lines may use."""
    errors: Errors = {}
    value = _decimal(rate, errors, "rate")
    if value is None and not errors:
        errors["rate"] = [_("Enter the rate in per cent, e.g. 13.")]
    if value is not None and not Decimal(0) <= value <= Decimal(100):
        errors.setdefault("rate", []).append(_("A tax rate is between 0 and 100 %."))
    if value is not None and TaxRate.objects.filter(rate=value).exists():
        errors.setdefault("rate", []).append(_("This rate exists already."))
    _raise(errors)
    assert value is not None
    tax_rate = TaxRate.objects.create(rate=value, name=_line(name)[:60])
    record_event(obj=tax_rate, action="created", actor=actor, changes={"rate": [None, value]})
    return tax_rate


@transaction.atomic
def tax_rate_set_active(*, tax_rate: TaxRate, active: bool, actor: Any) -> TaxRate:
    """Offer a tax rate for new products and lines again, or stop offering it (existing lines keep theirs)."""
    if tax_rate.active != active:
        tax_rate.active = active
        tax_rate.save(update_fields=["active"])
        record_event(obj=tax_rate, action="updated", actor=actor, changes={"active": [not active, active]})
    return tax_rate


# --- products ---------------------------------------------------------------------------------------------

PRODUCT_FIELDS = ("sku", "name", "unit", "price", "currency", "tax_rate", "description")
PRODUCT_TRACKED = (*PRODUCT_FIELDS[:5], "tax_rate", "active")


def _product_clean(product: Product, fields: dict[str, Any], errors: Errors) -> None:
    unknown = sorted(set(fields) - set(PRODUCT_FIELDS))
    if unknown:
        raise ValidationError({name: _("This field cannot be changed.") for name in unknown})
    for name in ("sku", "name", "unit"):
        if name in fields:
            setattr(product, name, _line(fields[name]))
    if "description" in fields:
        product.description = str(fields["description"] or "").strip()
    if "currency" in fields:
        product.currency = fields["currency"]
    if "price" in fields:
        price = _decimal(fields["price"], errors, "price")
        if price is None and "price" not in errors:
            errors["price"] = [_("Enter the price.")]
        elif price is not None and price < 0:
            errors.setdefault("price", []).append(_("A price cannot be negative."))
        elif price is not None:
            product.price = money(price)
    if "tax_rate" in fields:
        rate = _decimal(fields["tax_rate"], errors, "tax_rate")
        _tax_rate_check(rate, errors, "tax_rate")
        if rate is not None and "tax_rate" not in errors:
            product.tax_rate = rate
    if not product.sku:
        errors.setdefault("sku", []).append(_("Enter the SKU."))
    if not product.name:
        errors.setdefault("name", []).append(_("Enter the product name."))
    if product.sku and Product.objects.filter(sku__iexact=product.sku).exclude(pk=product.pk).exists():
        errors.setdefault("sku", []).append(_("Another product has this SKU."))
    if getattr(product, "currency_id", None) is None:
        errors.setdefault("currency", []).append(_("Choose the currency of the price."))
    try:
        product.full_clean(exclude=[*errors, "currency"])
    except ValidationError as exc:
        for name, messages in exc.message_dict.items():
            errors.setdefault(name, []).extend(messages)


@transaction.atomic
def product_create(*, actor: Any, **fields: Any) -> Product:
    """Add a product to the catalogue: SKU (unique), name, unit, price in a currency, VAT rate."""
    product = Product()
    errors: Errors = {}
    fields.setdefault("tax_rate", Decimal("13"))
    _product_clean(product, fields, errors)
    _raise(errors)
    product.save()
    changes = {
        name: [None, getattr(product, name)] for name in PRODUCT_TRACKED if getattr(product, name) not in ("", None)
    }
    changes["currency"] = [None, product.currency.code]
    record_event(obj=product, action="created", actor=actor, changes=changes)
    return product


@transaction.atomic
def product_update(*, product: Product, actor: Any, **fields: Any) -> Product:
    """Change a product's details; quotes and orders already written keep their own prices."""
    before = snapshot(product, ("sku", "name", "unit", "price", "tax_rate", "description"))
    before_currency = product.currency.code
    errors: Errors = {}
    _product_clean(product, fields, errors)
    if errors:
        product.refresh_from_db()
        raise ValidationError(errors)
    product.save()
    changes = field_changes(product, before, ("sku", "name", "unit", "price", "tax_rate", "description"))
    if product.currency.code != before_currency:
        changes["currency"] = [before_currency, product.currency.code]
    if changes:
        record_event(obj=product, action="updated", actor=actor, changes=changes)
    return product


@transaction.atomic
def product_set_active(*, product: Product, active: bool, actor: Any) -> Product:
    """Stop selling a product (it leaves the pickers; quotes and orders that have it keep it), or sell it again."""
    if product.active != active:
        product.active = active
        product.save(update_fields=["active", "updated_at"])
        action = "updated" if active else "deactivated"
        record_event(obj=product, action=action, actor=actor, changes={"active": [not active, active]})
    return product


# --- price lists ------------------------------------------------------------------------------------------


def _price_list_clean(price_list: PriceList, fields: dict[str, Any], errors: Errors) -> None:
    unknown = sorted(set(fields) - {"name", "currency", "valid_from", "valid_to", "active"})
    if unknown:
        raise ValidationError({name: _("This field cannot be changed.") for name in unknown})
    if "name" in fields:
        price_list.name = _line(fields["name"])
    for name in ("currency", "valid_from", "valid_to", "active"):
        if name in fields:
            setattr(price_list, name, fields[name])
    if not price_list.name:
        errors.setdefault("name", []).append(_("Give the price list a name."))
    elif PriceList.objects.filter(name=price_list.name).exclude(pk=price_list.pk).exists():
        errors.setdefault("name", []).append(_("Another price list has this name."))
    if getattr(price_list, "currency_id", None) is None:
        errors.setdefault("currency", []).append(_("Choose the currency of the prices."))
    if price_list.valid_from and price_list.valid_to and price_list.valid_to < price_list.valid_from:
        errors.setdefault("valid_to", []).append(_("The end date is before the start date."))


@transaction.atomic
def price_list_create(*, actor: Any, **fields: Any) -> PriceList:
    """Add a price list: prices of some products in one currency, optionally for a period."""
    price_list = PriceList()
    errors: Errors = {}
    _price_list_clean(price_list, fields, errors)
    _raise(errors)
    price_list.save()
    record_event(
        obj=price_list,
        action="created",
        actor=actor,
        changes={"name": [None, price_list.name], "currency": [None, price_list.currency.code]},
    )
    return price_list


@transaction.atomic
def price_list_update(*, price_list: PriceList, actor: Any, **fields: Any) -> PriceList:
    """Rename a price list, change its period or (de)activate it."""
    tracked = ("name", "valid_from", "valid_to", "active")
    before = snapshot(price_list, tracked)
    errors: Errors = {}
    _price_list_clean(price_list, fields, errors)
    if errors:
        price_list.refresh_from_db()
        raise ValidationError(errors)
    price_list.save()
    changes = field_changes(price_list, before, tracked)
    if changes:
        record_event(obj=price_list, action="updated", actor=actor, changes=changes)
    return price_list


@transaction.atomic
def price_list_price_set(*, price_list: PriceList, product: Product, price: Any, actor: Any) -> PriceListItem | None:
    """Set (or, with an empty price, remove) one product's price on a price list."""
    errors: Errors = {}
    value = _decimal(price, errors, "price")
    if value is not None and value < 0:
        errors.setdefault("price", []).append(_("A price cannot be negative."))
    _raise(errors)
    item = PriceListItem.objects.filter(price_list=price_list, product=product).first()
    before = item.price if item else None
    if value is None:
        if item is not None:
            item.delete()
            record_event(obj=price_list, action="updated", actor=actor, changes={product.sku: [before, None]})
        return None
    value = money(value)
    if item is None:
        item = PriceListItem.objects.create(price_list=price_list, product=product, price=value)
    elif item.price != value:
        item.price = value
        item.save(update_fields=["price"])
    if before != value:
        record_event(obj=price_list, action="updated", actor=actor, changes={product.sku: [before, value]})
    return item


def price_list_usable(price_list: PriceList, on: date | None = None) -> bool:
    on = on or timezone.localdate()
    return (
        price_list.active
        and (price_list.valid_from is None or price_list.valid_from <= on)
        and (price_list.valid_to is None or price_list.valid_to >= on)
    )


def product_price(*, product: Product, currency: Currency, price_list: PriceList | None = None) -> Decimal:
    """A product's unit price in `currency`: the price list's price when it lists the product, else the list
    price converted at the two currencies' rates to CNY (rounded half-up to the cent).

    A currency without a rate is refused naming `currency`."""
    if price_list is not None:
        item = PriceListItem.objects.filter(price_list=price_list, product=product).first()
        if item is not None and price_list.currency_id == currency.pk:
            return item.price
    if product.currency_id == currency.pk:
        return product.price
    errors: Errors = {}
    target = _rate_of(currency, errors)
    source = _rate_of(product.currency, errors)
    _raise(errors)
    assert target is not None and source is not None
    return money(product.price * source / target)


# --- lines (quotes and orders) ----------------------------------------------------------------------------


@dataclass
class CleanLine:
    product: Product
    description: str
    quantity: Decimal
    unit_price: Decimal
    discount_percent: Decimal
    tax_rate: Decimal
    net: Decimal
    tax: Decimal

    @property
    def gross(self) -> Decimal:
        return self.net + self.tax


def _product_of(value: Any, products: dict[Any, Product]) -> Product | None:
    if isinstance(value, Product):
        return value
    return products.get(value) or products.get(str(value or "").strip().upper())


def lines_clean(
    *,
    lines: list[dict[str, Any]],
    currency: Currency,
    price_list: PriceList | None = None,
    new_only: bool = True,
    first_number: int = 1,
) -> tuple[list[CleanLine], Errors]:
    """Check and price each line: the product (by object, id or SKU) must exist and still be sold, the quantity
    be above zero, the price not negative, the discount 0–100 % and the tax rate one in use. A missing unit price
    comes from the price list or the product; a missing tax rate from the product. Errors are keyed
    `lines.<n>.<field>` (n from 0) and their message names the line (from `first_number`)."""
    errors: Errors = {}
    if not lines:
        errors["lines"] = [_("Add at least one line.")]
        return [], errors
    wanted_ids = {line.get("product") for line in lines if isinstance(line.get("product"), int)}
    wanted_skus = {str(line.get("sku") or "").strip().upper() for line in lines if line.get("sku")}
    products: dict[Any, Product] = {}
    for known in Product.objects.filter(Q(pk__in=wanted_ids) | Q(sku__in=wanted_skus)).select_related("currency"):
        products[known.pk] = known
        products[known.sku.upper()] = known
    allowed_rates = set(tax_rates_active())
    cleaned: list[CleanLine] = []
    for index, line in enumerate(lines):
        key = f"lines.{index}"
        label = _("Line %(n)s: ") % {"n": index + first_number}
        before = len(errors)
        given = line.get("product") if line.get("product") not in (None, "") else line.get("sku")
        product = _product_of(given, products)
        if product is None:
            if given in (None, ""):
                errors.setdefault(f"{key}.product", []).append(label + _("Choose a product."))
            else:
                errors.setdefault(f"{key}.product", []).append(
                    label + _("There is no product “%(product)s” (it may have been deleted).") % {"product": given}
                )
            continue
        if new_only and not product.active:
            errors.setdefault(f"{key}.product", []).append(
                label + _("“%(product)s” is no longer sold (inactive).") % {"product": product}
            )
        quantity = _decimal(line.get("quantity", 1), errors, f"{key}.quantity", label=label)
        if quantity is None and f"{key}.quantity" not in errors:
            errors[f"{key}.quantity"] = [label + _("Enter the quantity.")]
        elif quantity is not None and quantity <= 0:
            errors.setdefault(f"{key}.quantity", []).append(label + _("The quantity must be more than zero."))
        elif quantity is not None and quantity != quantity.quantize(Decimal("0.001")):
            errors.setdefault(f"{key}.quantity", []).append(label + _("Use at most three decimal places."))
        unit_price = _decimal(line.get("unit_price"), errors, f"{key}.unit_price", label=label)
        if unit_price is None and f"{key}.unit_price" not in errors:
            try:
                unit_price = product_price(product=product, currency=currency, price_list=price_list)
            except ValidationError as exc:
                for messages in exc.message_dict.values():
                    errors.setdefault("currency", []).extend(m for m in messages if m not in errors.get("currency", []))
        if unit_price is not None and unit_price < 0:
            errors.setdefault(f"{key}.unit_price", []).append(label + _("A price cannot be negative."))
        discount = _decimal(line.get("discount_percent"), errors, f"{key}.discount_percent", label=label)
        discount = Decimal(0) if discount is None else discount
        if not Decimal(0) <= discount <= Decimal(100):
            errors.setdefault(f"{key}.discount_percent", []).append(label + _("A discount is between 0 and 100 %."))
        rate = _decimal(line.get("tax_rate"), errors, f"{key}.tax_rate", label=label)
        rate = product.tax_rate if rate is None else rate
        if rate not in allowed_rates and rate != product.tax_rate:
            errors.setdefault(f"{key}.tax_rate", []).append(
                label + _("%(rate)s %% is not one of the tax rates in use.") % {"rate": _pct(rate)}
            )
        if len(errors) != before or quantity is None or unit_price is None:
            continue
        totals = line_totals(quantity=quantity, unit_price=unit_price, discount_percent=discount, tax_rate=rate)
        cleaned.append(
            CleanLine(
                product=product,
                description=_line(line.get("description"))[:255] or product.name,
                quantity=quantity,
                unit_price=money(unit_price),
                discount_percent=discount,
                tax_rate=rate,
                net=totals.net,
                tax=totals.tax,
            )
        )
    return cleaned, errors


def _line_values(line: CleanLine) -> dict[str, Any]:
    return {
        "product": line.product,
        "description": line.description,
        "quantity": line.quantity,
        "unit_price": line.unit_price,
        "discount_percent": line.discount_percent,
        "tax_rate": line.tax_rate,
        "net_amount": line.net,
        "tax_amount": line.tax,
        "gross_amount": line.gross,
    }


def deal_lines_for_quote(deal: Deal) -> list[dict[str, Any]]:
    """A deal's product lines as quote lines (product, description, quantity, price, discount, tax rate)."""
    return [
        {
            "product": line.product_id,
            "description": line.description,
            "quantity": line.quantity,
            "unit_price": line.unit_price,
            "discount_percent": line.discount_percent,
            "tax_rate": line.tax_rate,
        }
        for line in deal.products.order_by("id")
    ]


def _customer_check(account: Account | None, contact: Contact | None, errors: Errors) -> None:
    if account is None and contact is None:
        errors.setdefault("account", []).append(_("Choose the account or the contact this is for."))
    for field, record in (("account", account), ("contact", contact)):
        if record is not None and record.archived_at is not None:
            errors.setdefault(field, []).append(_("%(name)s is archived.") % {"name": record})


def _number(prefix: str) -> str:
    return f"{prefix}-{timezone.localdate():%Y%m%d}-{uuid.uuid4().hex[:6].upper()}"


def _ownership(actor: Any) -> dict[str, Any]:
    user = actor if getattr(actor, "is_authenticated", False) else None
    return {"owner": user, "team": user.teams.order_by("id").first() if user else None}


# --- quotes -----------------------------------------------------------------------------------------------

QUOTE_TRANSITIONS: dict[str, set[str]] = {
    Quote.Status.DRAFT: {Quote.Status.SENT},
    Quote.Status.SENT: {Quote.Status.ACCEPTED, Quote.Status.REJECTED, Quote.Status.EXPIRED},
    Quote.Status.ACCEPTED: set(),
    Quote.Status.REJECTED: set(),
    Quote.Status.EXPIRED: set(),
}


def _quote_store_lines(quote: Quote, lines: list[CleanLine]) -> None:
    QuoteLine.objects.filter(quote=quote).delete()
    QuoteLine.objects.bulk_create(
        [QuoteLine(quote=quote, position=i, **_line_values(line)) for i, line in enumerate(lines)]
    )
    totals = document_totals(lines)  # type: ignore[arg-type]
    quote.net_total, quote.tax_total, quote.gross_total = totals.net, totals.tax, totals.gross


@transaction.atomic
def quote_create(
    *,
    actor: Any,
    lines: list[dict[str, Any]],
    currency: Currency,
    account: Account | None = None,
    contact: Contact | None = None,
    deal: Deal | None = None,
    price_list: PriceList | None = None,
    language: str = Quote.Language.ZH_HANS,
    valid_until: date | None = None,
    notes: str = "",
) -> Quote:
    """Write a draft quote for a deal or a customer: lines priced from the price list or the products, totals
    rounded half-up to 0.01. A quote from a deal takes the deal's account when none is given."""
    if deal is not None and account is None:
        account = deal.account
    errors: Errors = {}
    if deal is not None and not lines:
        lines = deal_lines_for_quote(deal)
        if lines and deal.currency_id != currency.pk:
            errors.setdefault("currency", []).append(
                _("The deal's product lines are priced in %(code)s; make the quote in %(code)s.")
                % {"code": deal.currency}
            )
    _customer_check(account, contact, errors)
    _rate_of(currency, errors)
    if price_list is not None and price_list.currency_id != currency.pk:
        errors.setdefault("price_list", []).append(
            _("This price list is in %(code)s; choose a list in the quote's currency.") % {"code": price_list.currency}
        )
    if price_list is not None and not price_list_usable(price_list):
        errors.setdefault("price_list", []).append(_("This price list is not valid today."))
    if language not in Quote.Language.values:
        errors.setdefault("language", []).append(_("Choose Chinese or English."))
    if valid_until is not None and valid_until < timezone.localdate():
        errors.setdefault("valid_until", []).append(_("This date has passed."))
    cleaned, line_errors = lines_clean(lines=lines, currency=currency, price_list=price_list)
    errors.update({k: v for k, v in line_errors.items() if k not in errors})
    _raise(errors)
    quote = Quote(
        number=_number("Q"),
        account=account,
        contact=contact,
        deal=deal,
        currency=currency,
        language=language,
        valid_until=valid_until,
        notes=str(notes or "").strip(),
        **_ownership(actor),
    )
    quote.save()
    _quote_store_lines(quote, cleaned)
    quote.save(update_fields=["net_total", "tax_total", "gross_total"])
    record_event(
        obj=quote,
        action="created",
        actor=actor,
        changes={"gross_total": [None, quote.gross_total], "currency": [None, currency.code]},
        data={"lines": len(cleaned), "price_list": price_list.pk if price_list else None},
    )
    return quote


@transaction.atomic
def quote_update(
    *,
    quote: Quote,
    actor: Any,
    lines: list[dict[str, Any]] | None = None,
    price_list: PriceList | None = None,
    **fields: Any,
) -> Quote:
    """Change a draft quote: its lines (replaced as a whole), language, validity or notes."""
    quote = Quote.objects.select_for_update().get(pk=quote.pk)
    if quote.status != Quote.Status.DRAFT:
        raise ValidationError(
            {
                "status": _("Only a draft quote can be changed; this one is %(status)s.")
                % {"status": quote.get_status_display()}
            }
        )
    unknown = sorted(set(fields) - {"language", "valid_until", "notes"})
    if unknown:
        raise ValidationError({name: _("This field cannot be changed.") for name in unknown})
    errors: Errors = {}
    before = snapshot(quote, ("language", "valid_until", "notes", "gross_total"))
    if "language" in fields and fields["language"] not in Quote.Language.values:
        errors.setdefault("language", []).append(_("Choose Chinese or English."))
    if fields.get("valid_until") and fields["valid_until"] < timezone.localdate():
        errors.setdefault("valid_until", []).append(_("This date has passed."))
    cleaned: list[CleanLine] | None = None
    if lines is not None:
        cleaned, line_errors = lines_clean(lines=lines, currency=quote.currency, price_list=price_list)
        errors.update(line_errors)
    _raise(errors)
    for name, value in fields.items():
        setattr(quote, name, value if name != "notes" else str(value or "").strip())
    if cleaned is not None:
        _quote_store_lines(quote, cleaned)
    quote.save()
    changes = field_changes(quote, before, ("language", "valid_until", "notes", "gross_total"))
    if changes or cleaned is not None:
        record_event(obj=quote, action="updated", actor=actor, changes=changes)
    return quote


def _quote_move(quote: Quote, status: str, actor: Any) -> Quote:
    allowed = QUOTE_TRANSITIONS[quote.status]
    if status == Quote.Status.ACCEPTED and quote.status == Quote.Status.ACCEPTED:
        order = quote.orders.order_by("id").first()
        raise ValidationError(
            {"status": _("This quote has already been accepted (order %(order)s).") % {"order": order or "—"}}
        )
    if status not in allowed:
        raise ValidationError(
            {
                "status": _("A quote that is %(from)s cannot become %(to)s.")
                % {"from": quote.get_status_display(), "to": Quote.Status(status).label}
            }
        )
    before = quote.status
    quote.status = status
    update = ["status", "updated_at"]
    if status == Quote.Status.SENT:
        quote.sent_at = timezone.now()
        update.append("sent_at")
    if status == Quote.Status.ACCEPTED:
        quote.accepted_at = timezone.now()
        update.append("accepted_at")
    quote.save(update_fields=update)
    record_event(obj=quote, action="status_changed", actor=actor, changes={"status": [before, status]})
    return quote


@transaction.atomic
def quote_set_status(*, quote: Quote, status: str, actor: Any) -> Quote:
    """Send a draft quote, or mark a sent one rejected or expired (accepting goes through `quote_accept`)."""
    if status == Quote.Status.ACCEPTED:
        raise ValidationError({"status": _("Accept a quote with “Accept”: it creates the order.")})
    if status not in Quote.Status.values:
        raise ValidationError({"status": _("Unknown status.")})
    quote = Quote.objects.select_for_update().get(pk=quote.pk)
    if status == Quote.Status.SENT and not quote.lines.exists():
        raise ValidationError({"lines": _("Add at least one line before sending the quote.")})
    return _quote_move(quote, status, actor)


@transaction.atomic
def quote_accept(*, quote: Quote, actor: Any) -> Order:
    """The customer said yes: the quote becomes accepted and its order is created, both or neither.

    Accepting a second time is refused (the quote row is locked while it is checked)."""
    quote = (
        Quote.objects.select_for_update(of=("self",)).select_related("currency", "account", "contact").get(pk=quote.pk)
    )
    if quote.status == Quote.Status.DRAFT:
        _quote_move(quote, Quote.Status.SENT, actor)  # a quote accepted on the spot was sent in person
    _quote_move(quote, Quote.Status.ACCEPTED, actor)
    lines = [
        {
            "product": line.product,
            "description": line.description,
            "quantity": line.quantity,
            "unit_price": line.unit_price,
            "discount_percent": line.discount_percent,
            "tax_rate": line.tax_rate,
        }
        for line in quote.lines.select_related("product").order_by("position", "id")
    ]
    order = _order_write(
        actor=actor,
        account=quote.account,
        contact=quote.contact,
        currency=quote.currency,
        lines=lines,
        source=Order.Source.QUOTE,
        quote=quote,
        deal=quote.deal,
        owner=quote.owner,
        team=quote.team,
        new_only=False,  # the quote's prices were agreed; a product stopped since is still delivered
    )
    return order


# --- orders -----------------------------------------------------------------------------------------------

ORDER_TRANSITIONS: dict[str, set[str]] = {
    Order.Status.PENDING: {Order.Status.PAID, Order.Status.CANCELLED},
    Order.Status.PAID: {Order.Status.SHIPPED, Order.Status.COMPLETED, Order.Status.REFUNDED},
    Order.Status.SHIPPED: {Order.Status.COMPLETED, Order.Status.REFUNDED},
    Order.Status.COMPLETED: {Order.Status.REFUNDED},
    Order.Status.CANCELLED: set(),
    Order.Status.REFUNDED: set(),
}
STATUS_DATE = {
    Order.Status.PAID: "paid_at",
    Order.Status.SHIPPED: "shipped_at",
    Order.Status.COMPLETED: "completed_at",
    Order.Status.CANCELLED: "cancelled_at",
    Order.Status.REFUNDED: "refunded_at",
}
# the dates an order that arrives already in a status (from an ERP) has passed through
STATUS_PATH: dict[str, list[str]] = {
    Order.Status.PENDING: [],
    Order.Status.PAID: ["paid_at"],
    Order.Status.SHIPPED: ["paid_at", "shipped_at"],
    Order.Status.COMPLETED: ["paid_at", "completed_at"],
    Order.Status.CANCELLED: ["cancelled_at"],
    Order.Status.REFUNDED: ["paid_at", "refunded_at"],
}
# orders that count as purchases (for the lifecycle, repurchase rate and average order value)
NOT_PURCHASES = (Order.Status.CANCELLED, Order.Status.REFUNDED)


class OrderConflict(ValidationError):
    """An order with this external ID exists and differs from what was sent."""

    def __init__(self, order: Order, fields: list[str]) -> None:
        message = _(
            "Order %(external_id)s was received before (as %(number)s) with different %(fields)s; "
            "it was not changed. Change an order's status with its status endpoint."
        ) % {"external_id": order.external_id, "number": order.number, "fields": ", ".join(fields)}
        super().__init__({"external_id": [message]})
        self.order = order


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and timezone.is_naive(value):
        return timezone.make_aware(value)
    return value


def _order_write(
    *,
    actor: Any,
    account: Account | None,
    contact: Contact | None,
    currency: Currency,
    lines: list[dict[str, Any]],
    source: str,
    status: str = Order.Status.PENDING,
    ordered_at: datetime | None = None,
    notes: str = "",
    external_system: str = "",
    external_id: str | None = None,
    quote: Quote | None = None,
    deal: Deal | None = None,
    owner: Any = None,
    team: Any = None,
    new_only: bool = True,
    import_batch_id: int | None = None,
) -> Order:
    errors: Errors = {}
    _customer_check(account, contact, errors)
    rate = _rate_of(currency, errors)
    if status not in Order.Status.values:
        errors.setdefault("status", []).append(_("Unknown status."))
    ordered_at = _aware(ordered_at) or timezone.now()
    if ordered_at > timezone.now() + timedelta(days=1):
        errors.setdefault("ordered_at", []).append(_("This is in the future; enter the date the order was placed."))
    cleaned, line_errors = lines_clean(lines=lines, currency=currency, new_only=new_only)
    for key, messages in line_errors.items():
        errors.setdefault(key, []).extend(m for m in messages if m not in errors.get(key, []))
    _raise(errors)
    assert rate is not None
    ownership = _ownership(actor)
    order = Order(
        number=_number("SO"),
        source=source,
        external_system=_line(external_system)[:60],
        external_id=external_id or None,
        account=account,
        contact=contact,
        quote=quote,
        deal=deal,
        currency=currency,
        rate_to_cny=rate,
        status=status,
        ordered_at=ordered_at,
        notes=str(notes or "").strip(),
        owner=owner if owner is not None else ownership["owner"],
        team=team if team is not None else ownership["team"],
    )
    for name in STATUS_PATH[status]:
        setattr(order, name, ordered_at)
    totals = document_totals(cleaned)  # type: ignore[arg-type]
    order.net_total, order.tax_total, order.gross_total = totals.net, totals.tax, totals.gross
    order.save()
    OrderLine.objects.bulk_create([OrderLine(order=order, **_line_values(line)) for line in cleaned])
    record_event(
        obj=order,
        action="created",
        actor=actor,
        changes={
            "status": [None, status],
            "gross_total": [None, order.gross_total],
            "currency": [None, currency.code],
        },
        data={"source": source, "quote": quote.pk if quote else None, "lines": len(cleaned), "batch": import_batch_id},
    )
    for record in _customers_of(order):
        record_event(
            obj=record,
            action="ordered",
            actor=actor,
            changes={"order": [None, order.number], "gross_total": [None, f"{order.gross_total} {currency.code}"]},
            data={"order": order.pk},
        )
    lifecycle_after_order(order=order, actor=actor)
    return order


def _customers_of(order: Order) -> list[Customer]:
    return [record for record in (order.account, order.contact) if record is not None]


@transaction.atomic
def order_create(
    *,
    actor: Any,
    currency: Currency,
    lines: list[dict[str, Any]],
    account: Account | None = None,
    contact: Contact | None = None,
    status: str = Order.Status.PENDING,
    ordered_at: datetime | None = None,
    notes: str = "",
    deal: Deal | None = None,
) -> Order:
    """Enter an order by hand: a customer, lines of products still sold, totals half-up to 0.01."""
    return _order_write(
        actor=actor,
        account=account,
        contact=contact,
        currency=currency,
        lines=lines,
        source=Order.Source.MANUAL,
        status=status,
        ordered_at=ordered_at,
        notes=notes,
        deal=deal,
    )


def order_differences(
    order: Order,
    *,
    account: Any,
    contact: Any,
    currency: Currency,
    lines: list[dict[str, Any]],
    status: str,
    ordered_at: datetime | None,
) -> list[str]:
    """The fields in which a re-sent order differs from the stored one (empty: the same order)."""
    differ = []
    if order.account_id != (account.pk if account else None) or order.contact_id != (contact.pk if contact else None):
        differ.append(_("customer"))
    if order.currency_id != currency.pk:
        differ.append(_("currency"))
    if order.status != status:
        differ.append(_("status"))
    if ordered_at is not None and _aware(ordered_at) != order.ordered_at:
        differ.append(_("order date"))
    cleaned, errors = lines_clean(lines=lines, currency=currency, new_only=False)
    stored = [
        (line.product_id, line.quantity, line.unit_price, line.discount_percent, line.tax_rate)
        for line in order.lines.order_by("id")
    ]
    sent = [(line.product.pk, line.quantity, line.unit_price, line.discount_percent, line.tax_rate) for line in cleaned]
    if errors or stored != sent:
        differ.append(_("lines"))
    return differ


def order_receive(
    *,
    actor: Any,
    external_id: str,
    currency: Currency,
    lines: list[dict[str, Any]],
    external_system: str = "",
    account: Account | None = None,
    contact: Contact | None = None,
    status: str = Order.Status.PENDING,
    ordered_at: datetime | None = None,
    notes: str = "",
    source: str = Order.Source.API,
    import_batch_id: int | None = None,
) -> tuple[Order, bool]:
    """An order sent by another system (ERP, shop): created once per (system, external ID).

    Sent again with the same content it returns the stored order and `False` (nothing is counted twice);
    sent again with different content it raises OrderConflict and changes nothing."""
    external_id = _line(external_id)[:100]
    if not external_id:
        raise ValidationError({"external_id": _("Give the order's ID in the sending system.")})
    system = _line(external_system)[:60]

    def existing() -> Order | None:
        return Order.objects.filter(external_system=system, external_id=external_id).first()

    def settle(order: Order) -> tuple[Order, bool]:
        differ = order_differences(
            order,
            account=account,
            contact=contact,
            currency=currency,
            lines=lines,
            status=status,
            ordered_at=ordered_at,
        )
        if differ:
            raise OrderConflict(order, differ)
        return order, False

    found = existing()
    if found is not None:
        return settle(found)
    try:
        with transaction.atomic():
            order = _order_write(
                actor=actor,
                account=account,
                contact=contact,
                currency=currency,
                lines=lines,
                source=source,
                status=status,
                ordered_at=ordered_at,
                notes=notes,
                external_system=system,
                external_id=external_id,
                import_batch_id=import_batch_id,
            )
    except IntegrityError:  # sent twice at the same moment: the other request stored it first
        found = existing()
        if found is None:
            raise
        return settle(found)
    return order, True


@transaction.atomic
def order_set_status(*, order: Order, status: str, actor: Any, at: datetime | None = None) -> Order:
    """Move an order along pending → paid → shipped → completed (or cancelled / refunded), stamping the date."""
    order = Order.objects.select_for_update().get(pk=order.pk)
    if status not in Order.Status.values:
        raise ValidationError({"status": _("Unknown status.")})
    if status not in ORDER_TRANSITIONS[order.status]:
        raise ValidationError(
            {
                "status": _("An order that is %(from)s cannot become %(to)s.")
                % {"from": order.get_status_display(), "to": Order.Status(status).label}
            }
        )
    at = _aware(at) or timezone.now()
    before = order.status
    date_field = STATUS_DATE[Order.Status(status)]
    order.status = status
    setattr(order, date_field, at)
    order.save(update_fields=["status", date_field, "updated_at"])
    record_event(
        obj=order, action="status_changed", actor=actor, changes={"status": [before, status], date_field: [None, at]}
    )
    for record in _customers_of(order):
        record_event(
            obj=record,
            action="order_status_changed",
            actor=actor,
            changes={"order": [None, order.number], "status": [before, status]},
            data={"order": order.pk},
        )
    return order


# --- the customer lifecycle -------------------------------------------------------------------------------


def order_settings() -> OrderSettings:
    settings_row, _created = OrderSettings.objects.get_or_create(pk=1)
    return settings_row


def _purchases(record: Customer) -> Any:
    field = "account" if isinstance(record, Account) else "contact"
    return Order.objects.filter(**{field: record}).exclude(status__in=NOT_PURCHASES)


def lifecycle_after_order(*, order: Order, actor: Any) -> None:
    """A first purchase makes the customer a `customer`; `loyal_orders` purchases within `loyal_days` make it
    `loyal` (3 in 365 days by default). Stages only move forward here; `customers_churn_idle` moves them back."""
    if order.status in NOT_PURCHASES:
        return
    policy = order_settings()
    since = timezone.now() - timedelta(days=policy.loyal_days)
    for record in _customers_of(order):
        recent = _purchases(record).filter(ordered_at__gte=since).count()
        stage = LifecycleStage.LOYAL if recent >= policy.loyal_orders else LifecycleStage.CUSTOMER
        customer_services.customer_stage_advance(record=record, stage=stage, actor=actor)


def customers_churn_idle(*, now: datetime | None = None) -> int:
    """Mark churned every customer or loyal customer whose last purchase is older than `churn_days` (365 by
    default); return how many. Run nightly by beat; each record changes in its own transaction."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=order_settings().churn_days)
    changed = 0
    for model, field in ((Account, "account"), (Contact, "contact")):
        recent = Order.objects.exclude(status__in=NOT_PURCHASES).filter(ordered_at__gte=cutoff)
        idle = (
            model.objects.filter(lifecycle_stage__in=[LifecycleStage.CUSTOMER, LifecycleStage.LOYAL])
            .exclude(pk__in=recent.filter(**{f"{field}__isnull": False}).values(field))
            .values_list("pk", flat=True)
        )
        for pk in list(idle):
            with transaction.atomic():
                record = model.objects.select_for_update().get(pk=pk)
                changed += customer_services.customer_churn(record=record, actor=None, reason="no_order")
    return changed


def quotes_expire_due(*, today: date | None = None) -> int:
    """Mark expired every sent quote whose validity ended before today; return how many."""
    today = today or timezone.localdate()
    count = 0
    for pk in list(Quote.objects.filter(status=Quote.Status.SENT, valid_until__lt=today).values_list("pk", flat=True)):
        with transaction.atomic():
            quote = Quote.objects.select_for_update().get(pk=pk)
            if quote.status == Quote.Status.SENT:
                _quote_move(quote, Quote.Status.EXPIRED, None)
                count += 1
    return count


@transaction.atomic
def order_settings_set(*, actor: Any, **fields: Any) -> OrderSettings:
    """Change the lifecycle policy: loyal after N purchases in D days, churned after N days without one."""
    row = OrderSettings.objects.select_for_update().get_or_create(pk=1)[0]
    tracked = ("loyal_orders", "loyal_days", "churn_days")
    unknown = sorted(set(fields) - set(tracked))
    if unknown:
        raise ValidationError({name: _("This field cannot be changed.") for name in unknown})
    before = snapshot(row, tracked)
    errors: Errors = {}
    for name, value in fields.items():
        try:
            number = int(value)
        except (TypeError, ValueError):
            errors.setdefault(name, []).append(_("Enter a whole number."))
            continue
        if number < 1 or number > 3650:
            errors.setdefault(name, []).append(_("Enter a whole number from 1 to 3650."))
            continue
        setattr(row, name, number)
    if errors:
        raise ValidationError(errors)
    row.updated_by = actor if getattr(actor, "is_authenticated", False) else None
    row.save()
    changes = field_changes(row, before, tracked)
    if changes:
        record_event(obj=row, action="updated", actor=actor, changes=changes)
    return row
