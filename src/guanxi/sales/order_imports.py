"""Orders from an ERP or a shop as CSV/XLSX through the core import engine (core/imports.py).

One row per order line; rows with the same external order ID are one order (they need not be next to each
other). The customer is found by account name or registration number, or by contact email or phone, in the
importing user's scope. The dry run reports every problem by row and field; the run writes each order
through `order_receive`, so an order imported (or sent by API) before is recognised by its external ID and
not counted twice, and the same file imported again creates nothing.
"""

from __future__ import annotations

from collections import OrderedDict
from datetime import datetime
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from guanxi.core.imports import CheckResult, ImportType, RowProblem, import_type, mapped_rows
from guanxi.core.jobs import Progress
from guanxi.core.models import Event, ImportBatch, User
from guanxi.customers.models import Account, Contact
from guanxi.customers.phones import phone_normalise

from . import order_services as services
from .models import Currency, Order

RECORD_TYPE = "sales.order"
STATUS_WORDS = {
    **{s.value: s.value for s in Order.Status},
    "待付款": "pending", "未付款": "pending", "已付款": "paid", "已发货": "shipped", "已完成": "completed",
    "交易成功": "completed", "已取消": "cancelled", "交易关闭": "cancelled", "已退款": "refunded",
}  # fmt: skip


def targets() -> dict[str, Any]:
    return {
        "external_id": gettext_lazy("Order ID (external)"),
        "external_system": gettext_lazy("Source system"),
        "ordered_at": gettext_lazy("Order date"),
        "status": gettext_lazy("Status"),
        "currency": gettext_lazy("Currency"),
        "account": gettext_lazy("Account (name or registration number)"),
        "contact_email": gettext_lazy("Contact email"),
        "contact_phone": gettext_lazy("Contact phone"),
        "sku": gettext_lazy("SKU"),
        "quantity": gettext_lazy("Quantity"),
        "unit_price": gettext_lazy("Unit price"),
        "discount_percent": gettext_lazy("Discount (%)"),
        "tax_rate": gettext_lazy("Tax rate (%)"),
        "notes": gettext_lazy("Notes"),
    }


class _Group:
    """The rows of one order."""

    def __init__(self, external_id: str) -> None:
        self.external_id = external_id
        self.rows: list[int] = []
        self.cells: list[list[str]] = []
        self.values: dict[str, str] = {}
        self.lines: list[dict[str, Any]] = []
        self.problems: list[RowProblem] = []


def _groups(batch: ImportBatch) -> tuple[OrderedDict[str, _Group], list[RowProblem], int]:
    groups: OrderedDict[str, _Group] = OrderedDict()
    loose: list[RowProblem] = []
    total = 0
    for number, cells, values, problems in mapped_rows(batch):
        total += 1
        external_id = values.get("external_id", "").strip()
        if not external_id:
            loose.append(RowProblem(number, "external_id", _("Every row needs the order's ID in the sending system.")))
            continue
        group = groups.setdefault(external_id, _Group(external_id))
        group.rows.append(number)
        group.cells.append(cells)
        group.problems.extend(problems)
        for name in (
            "external_system",
            "ordered_at",
            "status",
            "currency",
            "account",
            "contact_email",
            "contact_phone",
            "notes",
        ):
            if values.get(name) and not group.values.get(name):
                group.values[name] = values[name]
        line = {
            k: values[k] for k in ("sku", "quantity", "unit_price", "discount_percent", "tax_rate") if values.get(k)
        }
        group.lines.append(line)
    return groups, loose, total


class _Resolver:
    """Customers and currencies by what a file says, looked up once, in the importing user's scope."""

    def __init__(self, actor: User) -> None:
        self.actor = actor
        self.currencies = {c.code: c for c in Currency.objects.all()}

    def currency(self, code: str) -> Currency | None:
        return self.currencies.get((code or "CNY").strip().upper())

    def account(self, text: str) -> Account | None:
        text = " ".join(text.split())
        rows = Account.objects.visible_to(self.actor).filter(archived_at__isnull=True)
        return rows.filter(name=text).order_by("id").first() or rows.filter(registration_number=text.upper()).first()

    def contact(self, email: str, phone: str) -> Contact | None:
        rows = Contact.objects.visible_to(self.actor).filter(archived_at__isnull=True)
        if email:
            found = rows.filter(email__iexact=email.strip()).order_by("id").first()
            if found:
                return found
        if phone:
            try:
                normalised = phone_normalise(phone)
            except ValidationError:
                return None
            return rows.filter(phone=normalised).order_by("id").first()
        return None


def _parse_when(text: str) -> datetime | None:
    text = (text or "").strip().replace("/", "-")
    if not text:
        return None
    when = parse_datetime(text.replace(" ", "T")) or parse_datetime(text)
    if when is None:
        day = parse_date(text[:10])
        if day is None:
            raise ValueError(text)
        when = datetime(day.year, day.month, day.day, 12, 0)
    return timezone.make_aware(when) if timezone.is_naive(when) else when


def _prepare(group: _Group, resolver: _Resolver) -> dict[str, Any] | None:
    """The order_receive arguments of a group, or None with problems added (row and field named)."""
    first = group.rows[0]
    v = group.values
    kwargs: dict[str, Any] = {"external_id": group.external_id, "external_system": v.get("external_system", "")}
    currency = resolver.currency(v.get("currency", ""))
    if currency is None:
        group.problems.append(
            RowProblem(first, "currency", _("Unknown currency “%(code)s”.") % {"code": v["currency"]})
        )
    elif currency.rate_to_cny is None:
        group.problems.append(
            RowProblem(first, "currency", _("%(code)s has no exchange rate yet.") % {"code": currency.code})
        )
    kwargs["currency"] = currency
    status = STATUS_WORDS.get(v.get("status", "pending").strip().lower() or "pending")
    if status is None:
        group.problems.append(RowProblem(first, "status", _("Unknown status “%(s)s”.") % {"s": v.get("status")}))
    kwargs["status"] = status or "pending"
    try:
        kwargs["ordered_at"] = _parse_when(v.get("ordered_at", ""))
    except ValueError:
        group.problems.append(
            RowProblem(first, "ordered_at", _("Enter a date such as 2026-03-01 or 2026-03-01 14:30."))
        )
    account = resolver.account(v["account"]) if v.get("account") else None
    contact = resolver.contact(v.get("contact_email", ""), v.get("contact_phone", ""))
    if v.get("account") and account is None:
        group.problems.append(
            RowProblem(first, "account", _("No account “%(name)s” that you can see.") % {"name": v["account"]})
        )
    if (v.get("contact_email") or v.get("contact_phone")) and contact is None:
        group.problems.append(
            RowProblem(first, "contact_email", _("No contact with this email or phone that you can see."))
        )
    if not any(v.get(k) for k in ("account", "contact_email", "contact_phone")):
        group.problems.append(RowProblem(first, "account", _("Name the account, or the contact's email or phone.")))
    kwargs.update(account=account, contact=contact, notes=v.get("notes", ""), lines=group.lines)
    if currency is not None and currency.rate_to_cny is not None:
        _cleaned, errors = services.lines_clean(lines=group.lines, currency=currency)
        for key, messages in errors.items():
            parts = key.split(".")
            row = group.rows[int(parts[1])] if len(parts) > 2 and parts[1].isdigit() else first
            field = parts[2] if len(parts) > 2 else parts[0]
            field = "sku" if field == "product" else field
            for message in messages:
                group.problems.append(RowProblem(row, field, message))
    return None if group.problems else kwargs


def _existing_conflict(kwargs: dict[str, Any], actor: User) -> str:
    """'' when the order is new or the same as before; else why it conflicts."""
    order = Order.objects.filter(
        external_system=" ".join(kwargs["external_system"].split())[:60], external_id=kwargs["external_id"]
    ).first()
    if order is None:
        return ""
    differ = services.order_differences(
        order, **{k: kwargs[k] for k in ("account", "contact", "currency", "lines", "status", "ordered_at")}
    )
    if not differ:
        return ""
    return services.OrderConflict(order, differ).messages[0]


def check(batch: ImportBatch, progress: Progress) -> CheckResult:
    """The dry run: every order group cleaned, priced and compared with what exists; nothing written."""
    actor = User.objects.get(pk=batch.owner_id or 0)
    groups, loose, total = _groups(batch)
    result = CheckResult(total=total)
    result.problems.extend(loose)
    result.bad_rows |= {p.row for p in loose}
    resolver = _Resolver(actor)
    for group in groups.values():
        kwargs = _prepare(group, resolver)
        if kwargs is not None:
            conflict = _existing_conflict(kwargs, actor)
            if conflict:
                group.problems.append(RowProblem(group.rows[0], "external_id", conflict))
        if group.problems:
            result.problems.extend(group.problems)
            result.bad_rows |= set(group.rows)
    result.good = total - len(result.bad_rows)
    progress(total, total, "")
    return result


def write(batch: ImportBatch, progress: Progress) -> dict[str, Any]:
    """Write every order group through `order_receive` in the caller's transaction; a bad group aborts unless
    the batch skips bad rows. Orders already stored under their external ID are counted, not written again."""
    actor = User.objects.get(pk=batch.owner_id or 0)
    groups, loose, total = _groups(batch)
    resolver = _Resolver(actor)
    bad: list[tuple[int, list[str], str]] = []
    created = unchanged = done = 0
    for problem in loose:
        if not batch.skip_bad_rows:
            raise ValidationError(
                {"file": _("Row %(row)s: %(problem)s") % {"row": problem.row, "problem": problem.message}}
            )
        bad.append((problem.row, [], problem.message))
    for group in groups.values():
        kwargs = _prepare(group, resolver)
        if kwargs is not None:
            try:
                with transaction.atomic():
                    _order, is_new = services.order_receive(
                        actor=actor, source=Order.Source.IMPORT, import_batch_id=batch.pk, **kwargs
                    )
            except ValidationError as exc:
                group.problems.append(RowProblem(group.rows[0], "external_id", " ".join(exc.messages)))
            else:
                created += int(is_new)
                unchanged += int(not is_new)
        if group.problems:
            message = "; ".join(f"{p.field}: {p.message}" for p in group.problems)
            if not batch.skip_bad_rows:
                raise ValidationError(
                    {"file": _("Row %(row)s: %(problem)s") % {"row": group.problems[0].row, "problem": message}}
                )
            bad.extend((row, cells, message) for row, cells in zip(group.rows, group.cells, strict=True))
        done += len(group.rows)
        progress(done, total, "")
    return {"created": created, "unchanged": unchanged, "bad_rows": bad}


def undo(batch: ImportBatch, actor: User) -> dict[str, int]:
    """Remove the orders this batch created that nobody changed since (no later event); keep and count the rest."""
    content_type = ContentType.objects.get_for_model(Order)
    ids = list(
        Event.objects.filter(content_type=content_type, action="created", data__batch=batch.pk).values_list(
            "object_id", flat=True
        )
    )
    touched = set(
        Event.objects.filter(content_type=content_type, object_id__in=ids)
        .exclude(action="created")
        .values_list("object_id", flat=True)
    )
    removable = [pk for pk in ids if pk not in touched]
    Order.objects.filter(pk__in=removable).delete()
    return {"removed": len(removable), "kept": len(ids) - len(removable)}


def register() -> None:
    import_type(
        ImportType(
            name=RECORD_TYPE,
            label=gettext_lazy("Orders"),
            permission="sales.add_order",
            targets=targets,
            check=check,
            write=write,
            undo=undo,
            header_aliases={"phone": "contact_phone", "email": "contact_email", "company": "account"},
        )
    )
