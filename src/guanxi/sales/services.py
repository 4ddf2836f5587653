"""Sales writes: each business action is one function, one transaction and one event.

Deals move between the stages of their pipeline with `deal_move`, which enforces the stage's required
fields and the lost reason and writes the `stage_changed` event that time-in-stage and conversion are
computed from. Administrators configure pipelines, stages, lost reasons, currencies, the stale-deal
threshold and the assignment rules.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Max, Min, Sum
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from guanxi.core import customfields
from guanxi.core.events import field_changes, record_event, snapshot
from guanxi.core.models import Team, User
from guanxi.core.services import tags_resolve
from guanxi.customers.models import Account, Contact, Interaction, Lead

from .models import (
    AssignmentRule,
    Currency,
    Deal,
    DealProduct,
    DealTask,
    LostReason,
    Pipeline,
    SalesSettings,
    Stage,
    StageKind,
)

Errors = dict[str, list[str]]
CENT = Decimal("0.01")

# Deal fields a stage may require before a deal enters it, with their labels for the settings page.
DEAL_REQUIRABLE: dict[str, Any] = {
    "amount": gettext_lazy("Amount"),
    "expected_close": gettext_lazy("Expected close"),
    "account": gettext_lazy("Account"),
    "contacts": gettext_lazy("Contacts"),
    "source": gettext_lazy("Source"),
}
DEAL_FIELDS = ("name", "pipeline", "stage", "account", "amount", "currency", "expected_close", "source", "lost_note")
DEAL_TRACKED = ("name", "account", "amount", "currency", "expected_close", "source", "lost_note")
# a kanban position gap smaller than this is renumbered (floats halve ~50 times before they run out)
MIN_GAP = 1e-6


def _add(errors: Errors, name: str, message: str) -> None:
    errors.setdefault(name, []).append(message)


def _line(value: Any) -> str:
    return " ".join(str(value or "").split())


def _default_team(actor: Any) -> Team | None:
    if not getattr(actor, "is_authenticated", False):
        return None
    return actor.teams.order_by("id").first()


def _plain(value: Any) -> Any:
    """A value an event can store: records by their name."""
    return str(value) if isinstance(value, models.Model) else value


def _plain_changes(changes: dict[str, list[Any]]) -> dict[str, list[Any]]:
    return {name: [_plain(v) for v in pair] for name, pair in changes.items()}


def _actor_or_none(actor: Any) -> User | None:
    return actor if getattr(actor, "is_authenticated", False) else None


# --- money --------------------------------------------------------------------------------------


def money(value: Any, *, field: str, errors: Errors, allow_none: bool = True) -> Decimal | None:
    """A non-negative amount with two decimals, or an error under `field`."""
    if value in (None, ""):
        if not allow_none:
            _add(errors, field, _("This field is required."))
        return None
    try:
        amount = Decimal(str(value).replace(",", "").strip())
    except (InvalidOperation, ValueError):
        _add(errors, field, _("Enter a number, e.g. 120000.00."))
        return None
    if not amount.is_finite():
        _add(errors, field, _("Enter a number, e.g. 120000.00."))
        return None
    if amount < 0:
        _add(errors, field, _("The amount cannot be negative."))
        return None
    if amount >= Decimal("1e12"):
        _add(errors, field, _("The amount is too large."))
        return None
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def currency_check(currency: Currency, *, field: str = "currency") -> Decimal:
    """The currency's rate to CNY; a currency without a rate (or switched off) is refused."""
    if not currency.active:
        raise ValidationError({field: _("The currency “%(code)s” is not in use.") % {"code": currency.code}})
    if currency.rate_to_cny is None or currency.rate_to_cny <= 0:
        message = _("The currency “%(code)s” has no rate to CNY yet; an administrator sets it under Sales settings.")
        raise ValidationError({field: message % {"code": currency.code}})
    return currency.rate_to_cny


def currency_default() -> Currency:
    """CNY, the reporting currency."""
    currency = Currency.objects.filter(code="CNY").first() or Currency.objects.order_by("id").first()
    if currency is None:
        raise ValidationError({"currency": _("No currency is set up; an administrator adds one under Sales settings.")})
    return currency


def _amount_cny(deal: Deal) -> Decimal | None:
    if deal.amount is None:
        return None
    rate = deal.currency.rate_to_cny or Decimal("1")
    return (deal.amount * rate).quantize(CENT, rounding=ROUND_HALF_UP)


# --- deals --------------------------------------------------------------------------------------


def pipeline_default() -> Pipeline:
    pipeline = Pipeline.objects.filter(active=True).order_by("-is_default", "position", "id").first()
    if pipeline is None:
        raise ValidationError({"pipeline": _("No pipeline is set up; an administrator adds one under Sales settings.")})
    return pipeline


def _first_stage(pipeline: Pipeline) -> Stage:
    stage = pipeline.stages.filter(kind=StageKind.OPEN).order_by("position", "id").first()
    if stage is None:
        raise ValidationError({"stage": _("The pipeline “%(pipeline)s” has no open stage.") % {"pipeline": pipeline}})
    return stage


def _is_empty(deal: Deal, name: str) -> bool:
    if name == "contacts":
        return deal.pk is None or not deal.contacts.exists()
    if name == "account":
        return deal.account_id is None
    value = getattr(deal, name, None)
    return value is None or value == ""


def stage_missing_fields(deal: Deal, stage: Stage) -> list[str]:
    """The fields `stage` requires that `deal` has not filled."""
    return [name for name in stage.required_fields or [] if name in DEAL_REQUIRABLE and _is_empty(deal, name)]


def _required_errors(deal: Deal, stage: Stage) -> Errors:
    errors: Errors = {}
    for name in stage_missing_fields(deal, stage):
        message = _("%(field)s is required before a deal enters “%(stage)s”.") % {
            "field": DEAL_REQUIRABLE[name],
            "stage": stage.name,
        }
        _add(errors, name, message)
    return errors


def _deal_values(deal: Deal, fields: dict[str, Any], errors: Errors) -> None:
    """Clean the submitted values onto `deal`, collecting every bad one under its field name."""
    unknown = sorted(set(fields) - set(DEAL_FIELDS))
    if unknown:
        raise ValidationError({name: _("This field cannot be changed.") for name in unknown})
    for name, value in fields.items():
        if name in ("name", "source"):
            setattr(deal, name, _line(value))
        elif name == "lost_note":
            deal.lost_note = str(value or "").strip()
        elif name == "amount":
            deal.amount = money(value, field="amount", errors=errors)
        elif name == "expected_close":
            if value in (None, ""):
                deal.expected_close = None
            elif isinstance(value, date):
                deal.expected_close = value
            else:
                parsed = parse_date(str(value))
                if parsed is None:
                    _add(errors, name, _("Enter a date as YYYY-MM-DD."))
                else:
                    deal.expected_close = parsed
        else:
            setattr(deal, name, value)
    if "name" in fields and not deal.name:
        _add(errors, "name", _("Give the deal a name."))
    if deal.source and deal.source not in Lead.Source.values:
        _add(errors, "source", _("Choose a source from the list."))
    if len(deal.name) > 200:
        _add(errors, "name", _("At most 200 characters."))


class _DealExtras:
    """The custom-field values and tags of one deal write: cleaned before the save (errors join the built-in
    fields' errors), stored after it (tags need the deal's id), and added to the event's changes."""

    def __init__(
        self, deal: Deal, custom: dict[str, Any] | None, tags: Any, actor: Any, *, enforce_required: bool = True
    ) -> None:
        self.deal, self.custom, self.tags, self.actor = deal, custom, tags, actor
        self.enforce_required = enforce_required
        self.custom_before: dict[str, Any] = dict(deal.custom or {})
        self.tags_before = sorted(t.name for t in deal.tags.all()) if deal.pk else []
        self.new_tags: list[Any] | None = None

    def check(self, errors: Errors) -> None:
        try:
            self.deal.custom = customfields.custom_values_clean(
                record_type="deal",
                values=self.custom,
                current=self.custom_before,
                instance_pk=self.deal.pk,
                enforce_required=self.enforce_required,
            )
        except ValidationError as exc:
            for name, messages in exc.message_dict.items():
                errors.setdefault(name, []).extend(messages)
        if self.enforce_required:
            customfields.required_builtin_check("deal", self.deal, errors)
        if self.tags is not None:
            try:
                self.new_tags = tags_resolve(names=self.tags, actor=self.actor)
            except ValidationError as exc:
                for name, messages in exc.message_dict.items():
                    errors.setdefault(name, []).extend(messages)

    def store(self, changes: dict[str, list[Any]]) -> None:
        changes.update(customfields.custom_changes(self.custom_before, self.deal.custom or {}))
        if self.new_tags is not None:
            self.deal.tags.set(self.new_tags)
            after = sorted(t.name for t in self.new_tags)
            if after != self.tags_before:
                changes["tags"] = [self.tags_before or None, after]


def _set_closed(deal: Deal, stage: Stage, now: datetime) -> None:
    """Mirror the stage's kind: entering won or lost closes the deal now; an open stage reopens it."""
    deal.status = stage.kind
    deal.closed_at = None if stage.kind == StageKind.OPEN else now
    if stage.kind != StageKind.LOST:
        deal.lost_reason = None


def _column_top(stage: Stage) -> float:
    # the pipeline narrows to the board index (pipeline, stage, position): the minimum is one index read
    lowest = Deal.objects.filter(pipeline_id=stage.pipeline_id, stage=stage).aggregate(low=Min("position"))["low"]
    return 0.0 if lowest is None else float(lowest) - 1.0


def _board_changed(pipeline_id: int) -> None:
    """The pipeline's cached column figures are out of date once this transaction commits."""
    from .selectors import board_figures_changed

    transaction.on_commit(lambda: board_figures_changed(pipeline_id))


def _config_changed() -> None:
    """The cached sales configuration (pipelines, stages, lost reasons, threshold) is stale once this commits."""
    from .selectors import board_config_changed

    transaction.on_commit(board_config_changed)


def _lost_reason_check(stage: Stage, lost_reason: LostReason | None, errors: Errors) -> None:
    if stage.kind == StageKind.LOST:
        if lost_reason is None:
            _add(errors, "lost_reason", _("Choose why the deal was lost."))
        elif not lost_reason.active:
            _add(errors, "lost_reason", _("That lost reason is no longer in use."))


@transaction.atomic
def deal_create(
    *,
    actor: Any,
    owner: User | None = None,
    team: Team | None = None,
    contacts: list[Contact] | None = None,
    lead: Lead | None = None,
    lost_reason: LostReason | None = None,
    custom: dict[str, Any] | None = None,
    tags: Any = None,
    enforce_required: bool = True,
    **fields: Any,
) -> Deal:
    """Open a deal in a pipeline (the default one and its first stage unless given).

    Without an owner the assignment rules pick one (by the account's province), else the actor.
    `custom` holds custom-field values by key, `tags` tag names (a list or comma-separated text).
    `enforce_required=False` (lead conversion) skips the administrator's required-field rules.
    """
    errors: Errors = {}
    deal = Deal()
    if "name" not in fields:
        fields["name"] = ""
    _deal_values(deal, fields, errors)
    extras = _DealExtras(deal, custom, tags, actor, enforce_required=enforce_required)
    extras.check(errors)
    if deal.pipeline_id is None:
        deal.pipeline = pipeline_default()
    if deal.stage_id is None:
        deal.stage = _first_stage(deal.pipeline)
    elif deal.stage.pipeline_id != deal.pipeline_id:
        _add(errors, "stage", _("That stage belongs to another pipeline."))
    if deal.currency_id is None:
        deal.currency = currency_default()
    try:
        currency_check(deal.currency)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    _lost_reason_check(deal.stage, lost_reason, errors)
    if errors:
        raise ValidationError(errors)
    required = _required_errors(deal, deal.stage)
    # contacts are added after the first save: judge the "contacts" requirement on the list given
    if contacts:
        required.pop("contacts", None)
    if required:
        raise ValidationError(required)
    now = timezone.now()
    deal.lead = lead
    _set_closed(deal, deal.stage, now)
    if deal.stage.kind == StageKind.LOST:
        deal.lost_reason = lost_reason
    deal.stage_entered_at = deal.last_activity_at = now
    deal.amount_cny = _amount_cny(deal)
    deal.position = _column_top(deal.stage)
    if owner is None:
        province = deal.account.province if deal.account_id and deal.account else ""
        owner = assignee_for(applies_to=AssignmentRule.AppliesTo.DEALS, province=province)
    deal.owner = owner if owner is not None else _actor_or_none(actor)
    deal.team = team if team is not None else (_default_team(deal.owner) or _default_team(actor))
    deal.save()
    _board_changed(deal.pipeline_id)
    if contacts:
        deal.contacts.set(contacts)
    changes = {
        name: [None, _plain(getattr(deal, name))] for name in DEAL_TRACKED if getattr(deal, name) not in ("", None)
    }
    changes["stage"] = [None, deal.stage.name]
    if contacts:
        changes["contacts"] = [None, [str(c) for c in contacts]]
    extras.store(changes)
    record_event(
        obj=deal,
        action="created",
        actor=actor,
        changes=changes,
        data={
            "to_stage": deal.stage_id,
            "to_name": deal.stage.name,
            "to_kind": deal.stage.kind,
            "lead": lead and lead.pk,
        },
    )
    return deal


@transaction.atomic
def deal_update(
    *,
    deal: Deal,
    actor: Any,
    contacts: list[Contact] | None = None,
    owner: User | None = None,
    custom: dict[str, Any] | None = None,
    tags: Any = None,
    **fields: Any,
) -> Deal:
    """Change a deal's details (not its stage: that is `deal_move`); the current stage's requirements still hold.

    While the deal has product lines its amount is theirs: a different amount is refused, and so is another
    currency (the lines are priced in this one)."""
    fields.pop("stage", None)
    if "pipeline" in fields and fields["pipeline"] is not None and fields["pipeline"].pk != deal.pipeline_id:
        raise ValidationError({"pipeline": _("Move the deal to a stage of the other pipeline instead.")})
    fields.pop("pipeline", None)
    before = snapshot(deal, DEAL_TRACKED)
    before_contacts = sorted(str(c) for c in deal.contacts.all())
    before_owner = deal.owner
    errors: Errors = {}
    before_amount, before_currency = deal.amount, deal.currency_id
    _deal_values(deal, fields, errors)
    if deal.pk and deal.products.exists():
        if "amount" in fields and "amount" not in errors and deal.amount != before_amount:
            _add(errors, "amount", _("The amount comes from the deal's product lines; change the lines instead."))
        if deal.currency_id != before_currency:
            _add(errors, "currency", _("Remove the deal's product lines before changing its currency."))
    if "currency" in fields:
        try:
            currency_check(deal.currency)
        except ValidationError as exc:
            errors.update(exc.message_dict)
    extras = _DealExtras(deal, custom, tags, actor)
    extras.check(errors)
    if errors:
        deal.refresh_from_db()
        raise ValidationError(errors)
    if contacts is not None:
        deal.contacts.set(contacts)
    required = _required_errors(deal, deal.stage)
    if required:
        deal.refresh_from_db()
        raise ValidationError(required)
    if owner is not None:
        deal.owner = owner
    deal.amount_cny = _amount_cny(deal)
    deal.last_activity_at = timezone.now()
    deal.save()
    _board_changed(deal.pipeline_id)
    changes = _plain_changes(field_changes(deal, before, DEAL_TRACKED))
    after_contacts = sorted(str(c) for c in deal.contacts.all())
    if contacts is not None and after_contacts != before_contacts:
        changes["contacts"] = [before_contacts, after_contacts]
    if before_owner != deal.owner:
        changes["owner"] = [str(before_owner or ""), str(deal.owner or "")]
    extras.store(changes)
    record_event(obj=deal, action="updated", actor=actor, changes=changes)
    return deal


# --- deal product lines -------------------------------------------------------------------------

DEAL_LINE_FIELDS = ("product", "sku", "description", "quantity", "unit_price", "discount_percent", "tax_rate")


def _deal_line_clean(deal: Deal, values: dict[str, Any], *, number: int, new_product: bool) -> Any:
    """One line priced like a quote line (price from the product in the deal's currency when none is typed);
    errors are keyed by the line's field names and name the line by its number."""
    from .order_services import lines_clean

    unknown = sorted(set(values) - set(DEAL_LINE_FIELDS))
    if unknown:
        raise ValidationError({name: _("This field cannot be changed.") for name in unknown})
    cleaned, errors = lines_clean(lines=[values], currency=deal.currency, new_only=new_product, first_number=number)
    if errors:
        raise ValidationError({name.removeprefix("lines.0."): messages for name, messages in errors.items()})
    return cleaned[0]


def _line_text(line: DealProduct) -> str:
    return f"{line.product.sku} × {line.quantity_text} = {line.gross_amount}"


def _deal_amount_from_lines(deal: Deal, actor: Any, changes: dict[str, list[Any]], data: dict[str, Any]) -> None:
    """Set the deal's amount to its lines' gross total (kept as it was when the last line goes) and record it."""
    before = deal.amount
    total = deal.products.aggregate(total=Sum("gross_amount"))["total"]
    if total is not None:
        deal.amount = Decimal(total).quantize(CENT, rounding=ROUND_HALF_UP)
        deal.amount_cny = _amount_cny(deal)
    deal.last_activity_at = timezone.now()
    deal.save(update_fields=["amount", "amount_cny", "last_activity_at", "updated_at"])
    _board_changed(deal.pipeline_id)
    if before != deal.amount:
        changes["amount"] = [before, deal.amount]
    record_event(obj=deal, action="updated", actor=actor, changes=_plain_changes(changes), data=data)


def _line_store(line: DealProduct, cleaned: Any) -> None:
    line.product = cleaned.product
    line.description = cleaned.description
    line.quantity, line.unit_price = cleaned.quantity, cleaned.unit_price
    line.discount_percent, line.tax_rate = cleaned.discount_percent, cleaned.tax_rate
    line.set_totals()
    line.save()


@transaction.atomic
def deal_line_add(*, deal: Deal, actor: Any, **values: Any) -> DealProduct:
    """Add a product line to a deal (price from the product in the deal's currency unless given); the deal's
    amount becomes the gross total of its lines."""
    deal = Deal.objects.select_for_update().select_related("currency").get(pk=deal.pk)
    number = deal.products.count() + 1
    cleaned = _deal_line_clean(deal, values, number=number, new_product=True)
    line = DealProduct(deal=deal)
    _line_store(line, cleaned)
    changes: dict[str, list[Any]] = {"lines": [None, _line_text(line)]}
    _deal_amount_from_lines(deal, actor, changes, {"line": line.pk})
    return line


@transaction.atomic
def deal_line_update(*, line: DealProduct, actor: Any, **values: Any) -> DealProduct:
    """Change a deal's product line (only the fields given); the deal's amount follows."""
    deal = Deal.objects.select_for_update().select_related("currency").get(pk=line.deal_id)
    line = DealProduct.objects.select_related("product").get(pk=line.pk)
    current = {
        "product": line.product_id,
        "description": line.description,
        "quantity": line.quantity,
        "unit_price": line.unit_price,
        "discount_percent": line.discount_percent,
        "tax_rate": line.tax_rate,
    }
    if "product" in values and values["product"] not in (line.product_id, line.product):
        # another product: its own price and rate unless they were typed too
        current.pop("unit_price")
        current.pop("tax_rate")
        current.pop("description")
    merged = {**current, **{name: value for name, value in values.items()}}
    number = list(deal.products.order_by("id").values_list("id", flat=True)).index(line.pk) + 1
    new_product = merged["product"] not in (line.product_id, line.product)
    cleaned = _deal_line_clean(deal, merged, number=number, new_product=new_product)
    before = _line_text(line)
    _line_store(line, cleaned)
    changes: dict[str, list[Any]] = {}
    if before != _line_text(line):
        changes["lines"] = [before, _line_text(line)]
    _deal_amount_from_lines(deal, actor, changes, {"line": line.pk})
    return line


@transaction.atomic
def deal_line_remove(*, line: DealProduct, actor: Any) -> None:
    """Remove a product line from a deal; with lines left the amount follows them, else it stays as it was."""
    deal = Deal.objects.select_for_update().select_related("currency").get(pk=line.deal_id)
    line = DealProduct.objects.select_related("product").get(pk=line.pk)
    before, line_id = _line_text(line), line.pk
    line.delete()
    _deal_amount_from_lines(deal, actor, {"lines": [before, None]}, {"line": line_id})


def position_between(*, stage: Stage, above: Deal | None, below: Deal | None) -> float | None:
    """A kanban position between two neighbours of `stage`'s column (None: renumber needed first)."""
    low = above.position if above is not None and above.stage_id == stage.pk else None
    high = below.position if below is not None and below.stage_id == stage.pk else None
    if low is None and high is None:
        return _column_top(stage) if below is None and above is None else 0.0
    if low is None:
        assert high is not None
        return high - 1.0
    if high is None:
        return low + 1.0
    if high - low < MIN_GAP:
        return None
    return (low + high) / 2


def _column_renumber(stage: Stage) -> None:
    """Spread a column's positions out again (1, 2, 3 …) when two neighbours have run out of room."""
    deals = list(
        Deal.objects.filter(pipeline_id=stage.pipeline_id, stage=stage)
        .order_by("position", "id")
        .only("id", "position")
    )
    for index, row in enumerate(deals):
        row.position = float(index + 1)
    Deal.objects.bulk_update(deals, ["position"], batch_size=2000)


@transaction.atomic
def deal_move(
    *,
    deal: Deal,
    stage: Stage,
    actor: Any,
    position: float | None = None,
    above: Deal | None = None,
    below: Deal | None = None,
    lost_reason: LostReason | None = None,
    lost_note: str | None = None,
) -> Deal:
    """Move a deal to a stage of its pipeline (and a place in that column), enforcing the stage's rules.

    Entering a stage needs the fields it requires; entering a lost stage needs a lost reason. A stage
    change writes `stage_changed` with the stages' ids, names and kinds and the time spent in the old one.
    """
    if stage.pipeline_id != deal.pipeline_id:
        raise ValidationError({"stage": _("That stage belongs to another pipeline.")})
    changing = stage.pk != deal.stage_id
    errors: Errors = {}
    if changing:
        errors = _required_errors(deal, stage)
        _lost_reason_check(stage, lost_reason, errors)
    if errors:
        raise ValidationError(errors)
    if position is None and (above is not None or below is not None):
        position = position_between(stage=stage, above=above, below=below)
        if position is None:
            _column_renumber(stage)
            if above is not None:
                above.refresh_from_db(fields=["position"])
            if below is not None:
                below.refresh_from_db(fields=["position"])
            position = position_between(stage=stage, above=above, below=below)
    if position is None:
        position = _column_top(stage) if changing else deal.position
    now = timezone.now()
    if not changing:
        before_position = deal.position
        deal.position = position
        deal.save(update_fields=["position", "updated_at"])
        record_event(obj=deal, action="reordered", actor=actor, changes={"position": [before_position, position]})
        return deal
    old = deal.stage
    seconds = max(0, int((now - deal.stage_entered_at).total_seconds()))
    deal.stage = stage
    deal.position = position
    _set_closed(deal, stage, now)
    if stage.kind == StageKind.LOST:
        deal.lost_reason = lost_reason
        if old.kind == StageKind.OPEN:
            deal.lost_at_stage = old
        if lost_note is not None:
            deal.lost_note = lost_note.strip()
    else:
        deal.lost_at_stage = None
    deal.stage_entered_at = deal.last_activity_at = now
    deal.save(
        update_fields=[
            "stage",
            "position",
            "status",
            "closed_at",
            "lost_reason",
            "lost_note",
            "lost_at_stage",
            "stage_entered_at",
            "last_activity_at",
            "updated_at",
        ]
    )
    _board_changed(deal.pipeline_id)
    changes: dict[str, list[Any]] = {"stage": [old.name, stage.name]}
    if stage.kind == StageKind.LOST and lost_reason is not None:
        changes["lost_reason"] = [None, lost_reason.name]
    record_event(
        obj=deal,
        action="stage_changed",
        actor=actor,
        changes=changes,
        data={
            "pipeline": deal.pipeline_id,
            "from_stage": old.pk,
            "from_name": old.name,
            "from_kind": old.kind,
            "to_stage": stage.pk,
            "to_name": stage.name,
            "to_kind": stage.kind,
            "seconds_in_stage": seconds,
            "lost_reason": lost_reason.pk if stage.kind == StageKind.LOST and lost_reason else None,
        },
    )
    return deal


@transaction.atomic
def deal_delete(*, deal: Deal, actor: Any) -> None:
    """Delete a deal entered by mistake (its events stay in the audit log)."""
    record_event(obj=deal, action="deleted", actor=actor, changes={"name": [deal.name, None]})
    _board_changed(deal.pipeline_id)
    deal.delete()


@transaction.atomic
def deal_task_add(
    *,
    deal: Deal,
    actor: Any,
    subject: str,
    due_at: datetime | None,
    assignee: User | None = None,
    body: str = "",
) -> Interaction:
    """A follow-up task on a deal: kept on the deal's account (or first contact) so it shows in "My tasks" too."""
    from guanxi.customers import services as customer_services

    about: Account | Contact | None = deal.account or deal.contacts.order_by("id").first()
    if about is None:
        raise ValidationError({"subject": _("Add an account or a contact to the deal first: a task is kept on one.")})
    if not _line(subject):
        raise ValidationError({"subject": _("Say what needs doing.")})
    if due_at is None:
        raise ValidationError({"due_at": _("Give the task a due date.")})
    task = customer_services.interaction_log(
        actor=actor,
        about=about,
        kind=Interaction.Kind.TASK,
        subject=subject,
        body=body,
        due_at=due_at,
        assignee=assignee or deal.owner,
        occurred_at=timezone.now(),
    )
    DealTask.objects.create(deal=deal, interaction=task)
    deal.last_activity_at = timezone.now()
    deal.save(update_fields=["last_activity_at", "updated_at"])
    record_event(obj=deal, action="task_added", actor=actor, data={"task": task.pk, "subject": task.subject})
    return task


@transaction.atomic
def lead_convert_with_deal(
    *,
    lead: Lead,
    actor: Any,
    account: Account | None = None,
    deal_name: str = "",
    amount: Any = None,
) -> tuple[Contact, Account | None, Deal]:
    """Convert a lead and open a deal for the new contact and account, all in one transaction."""
    from guanxi.customers import services as customer_services

    errors: Errors = {}
    cleaned_amount = money(amount, field="deal_amount", errors=errors)
    if errors:
        raise ValidationError(errors)
    contact, converted_account = customer_services.lead_convert(lead=lead, actor=actor, account=account)
    name = _line(deal_name) or str(converted_account or contact)
    deal = deal_create(
        actor=actor,
        owner=lead.owner,
        team=lead.team,
        contacts=[contact],
        lead=lead,
        name=name,
        account=converted_account,
        amount=cleaned_amount,
        source=lead.source,
        enforce_required=False,  # as for the contact and account a conversion makes
    )
    return contact, converted_account, deal


# --- assignment ---------------------------------------------------------------------------------


def assignee_for(*, applies_to: str, province: str = "") -> User | None:
    """The owner the first matching active rule gives a new lead or deal (round robin for a team), or None."""
    rules = AssignmentRule.objects.filter(active=True, applies_to__in=[applies_to, AssignmentRule.AppliesTo.BOTH])
    for rule in rules.order_by("position", "id"):
        if rule.province and rule.province != province:
            continue
        if rule.user_id is not None:
            return rule.user if rule.user and rule.user.is_active else None
        locked = AssignmentRule.objects.select_for_update().get(pk=rule.pk)
        assert locked.team is not None
        members = list(locked.team.members.filter(is_active=True).order_by("id"))
        if not members:
            continue
        after = locked.last_assigned_id
        chosen = next((m for m in members if after is None or m.pk > after), members[0])
        locked.last_assigned = chosen
        locked.save(update_fields=["last_assigned"])
        return chosen
    return None


@transaction.atomic
def lead_assign(*, lead: Lead, actor: Any) -> Lead:
    """Give a lead the owner the assignment rules pick (by nothing but order when it has no region)."""
    owner = assignee_for(applies_to=AssignmentRule.AppliesTo.LEADS)
    if owner is None:
        raise ValidationError({"owner": _("No assignment rule matches this lead.")})
    before = lead.owner
    lead.owner = owner
    lead.team = _default_team(owner) or lead.team
    lead.save(update_fields=["owner", "team", "updated_at"])
    record_event(obj=lead, action="reassigned", actor=actor, changes={"owner": [str(before or ""), str(owner)]})
    return lead


# --- configuration ------------------------------------------------------------------------------


def _config_save(obj: models.Model, fields: dict[str, Any], allowed: tuple[str, ...], actor: Any) -> models.Model:
    unknown = sorted(set(fields) - set(allowed))
    if unknown:
        raise ValidationError({name: _("This field cannot be changed.") for name in unknown})
    creating = obj.pk is None
    before = {} if creating else snapshot(obj, allowed)
    for name, value in fields.items():
        setattr(obj, name, _line(value) if name in ("name", "code", "province") else value)
    obj.full_clean(exclude=[f.name for f in obj._meta.fields if f.name not in allowed])
    obj.save()
    changes = (
        {name: [None, getattr(obj, name)] for name in allowed if getattr(obj, name) not in ("", None)}
        if creating
        else field_changes(obj, before, allowed)
    )
    record_event(obj=obj, action="created" if creating else "updated", actor=actor, changes=_plain_changes(changes))
    return obj


PIPELINE_FIELDS = ("name", "position", "active", "is_default")


@transaction.atomic
def pipeline_save(*, actor: Any, pipeline: Pipeline | None = None, **fields: Any) -> Pipeline:
    """Create or change a pipeline; making one the default takes the flag from the others."""
    _config_changed()
    pipeline = pipeline or Pipeline()
    if fields.get("is_default"):
        Pipeline.objects.filter(is_default=True).exclude(pk=pipeline.pk).update(is_default=False)
    if pipeline.pk is None and "position" not in fields:
        fields["position"] = (Pipeline.objects.aggregate(p=Max("position"))["p"] or 0) + 1
    _config_save(pipeline, fields, PIPELINE_FIELDS, actor)
    if pipeline.is_default and not pipeline.active:
        raise ValidationError({"active": _("The default pipeline must stay active.")})
    return pipeline


STAGE_FIELDS = ("name", "position", "probability", "kind", "required_fields")


def _stage_rules(fields: dict[str, Any]) -> None:
    required = fields.get("required_fields")
    if required is not None and (
        not isinstance(required, list) or any(name not in DEAL_REQUIRABLE for name in required)
    ):
        raise ValidationError(
            {"required_fields": _("Choose from: %(fields)s.") % {"fields": ", ".join(DEAL_REQUIRABLE)}}
        )
    probability = fields.get("probability")
    if probability is not None and not 0 <= int(probability) <= 100:
        raise ValidationError({"probability": _("A probability is between 0 and 100.")})


@transaction.atomic
def stage_save(*, actor: Any, pipeline: Pipeline, stage: Stage | None = None, **fields: Any) -> Stage:
    """Add a stage to a pipeline (at the end unless a position is given) or change one."""
    _config_changed()
    _stage_rules(fields)
    stage = stage or Stage(pipeline=pipeline)
    if stage.pipeline_id != pipeline.pk:
        raise ValidationError({"stage": _("That stage belongs to another pipeline.")})
    if stage.pk is None and "position" not in fields:
        fields["position"] = (pipeline.stages.aggregate(p=Max("position"))["p"] or 0) + 1
    if stage.pk is not None and "kind" in fields and fields["kind"] != stage.kind and stage.deals.exists():
        raise ValidationError({"kind": _("Deals are in this stage; move them before changing whether it closes.")})
    if (
        Stage.objects.filter(pipeline=pipeline, name=_line(fields.get("name", stage.name)))
        .exclude(pk=stage.pk)
        .exists()
    ):
        raise ValidationError({"name": _("This pipeline already has a stage with that name.")})
    _config_save(stage, fields, STAGE_FIELDS, actor)
    return stage


@transaction.atomic
def stages_reorder(*, actor: Any, pipeline: Pipeline, stage_ids: list[int]) -> None:
    """Put a pipeline's stages in the given order."""
    _config_changed()
    stages = {s.pk: s for s in pipeline.stages.all()}
    if sorted(stage_ids) != sorted(stages):
        raise ValidationError({"stages": _("Give every stage of the pipeline exactly once.")})
    before = [stages[pk].name for pk in sorted(stages, key=lambda pk: (stages[pk].position, pk))]
    for index, pk in enumerate(stage_ids):
        stages[pk].position = index
    Stage.objects.bulk_update(list(stages.values()), ["position"])
    record_event(
        obj=pipeline, action="updated", actor=actor, changes={"stages": [before, [stages[pk].name for pk in stage_ids]]}
    )


@transaction.atomic
def stage_delete(*, actor: Any, stage: Stage) -> None:
    """Remove a stage no deal is in."""
    _config_changed()
    if stage.deals.exists():
        raise ValidationError({"stage": _("Deals are in this stage; move them to another stage first.")})
    record_event(obj=stage.pipeline, action="updated", actor=actor, changes={"stages": [stage.name, None]})
    stage.delete()


@transaction.atomic
def lost_reason_save(*, actor: Any, reason: LostReason | None = None, **fields: Any) -> LostReason:
    """Add or change a lost reason."""
    _config_changed()
    reason = reason or LostReason()
    _config_save(reason, fields, ("name", "position", "active"), actor)
    return reason


@transaction.atomic
def currency_save(*, actor: Any, currency: Currency | None = None, **fields: Any) -> Currency:
    """Add a currency or change its rate to CNY (CNY itself stays at 1)."""
    currency = currency or Currency()
    if "code" in fields:
        fields["code"] = _line(fields["code"]).upper()
        if len(fields["code"]) != 3 or not fields["code"].isalpha():
            raise ValidationError({"code": _("Use the three-letter ISO 4217 code, e.g. USD.")})
    rate = fields.get("rate_to_cny")
    if rate is not None and Decimal(str(rate)) <= 0:
        raise ValidationError({"rate_to_cny": _("A rate is more than zero.")})
    code = fields.get("code", currency.code)
    if code == "CNY" and rate is not None and Decimal(str(rate)) != 1:
        raise ValidationError({"rate_to_cny": _("CNY is the reporting currency: its rate is 1.")})
    _config_save(currency, fields, ("code", "name", "rate_to_cny", "active"), actor)
    return currency


def sales_settings() -> SalesSettings:
    """The organisation's sales policy (created with defaults on first use)."""
    current, _created = SalesSettings.objects.get_or_create(pk=1)
    return current


@transaction.atomic
def sales_settings_update(*, actor: Any, stale_after_days: int) -> SalesSettings:
    """Set after how many days without activity an open deal counts as stale."""
    _config_changed()
    current = sales_settings()
    if not 1 <= int(stale_after_days) <= 365:
        raise ValidationError({"stale_after_days": _("Between 1 and 365 days.")})
    before = current.stale_after_days
    current.stale_after_days = int(stale_after_days)
    current.updated_by = _actor_or_none(actor)
    current.save()
    record_event(
        obj=current, action="updated", actor=actor, changes={"stale_after_days": [before, current.stale_after_days]}
    )
    return current


@transaction.atomic
def assignment_rule_save(*, actor: Any, rule: AssignmentRule | None = None, **fields: Any) -> AssignmentRule:
    """Add or change an assignment rule: a region (or every region) → a user, or a team dealt round robin."""
    rule = rule or AssignmentRule()
    team, user = fields.get("team", rule.team), fields.get("user", rule.user)
    if (team is None) == (user is None):
        message = _("Choose either a user or a team (round robin), not both.")
        raise ValidationError({"team": [message], "user": [message]})
    if rule.pk is None and "position" not in fields:
        fields["position"] = (AssignmentRule.objects.aggregate(p=Max("position"))["p"] or 0) + 1
    _config_save(rule, fields, ("position", "applies_to", "province", "team", "user", "active"), actor)
    return rule


@transaction.atomic
def assignment_rule_delete(*, actor: Any, rule: AssignmentRule) -> None:
    """Remove an assignment rule."""
    record_event(obj=rule, action="deleted", actor=actor, changes={"rule": [str(rule), None]})
    rule.delete()
