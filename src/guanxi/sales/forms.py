"""Forms for sales pages. They validate shape; the services clean values and enforce the rules."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from guanxi.core.forms import customise_form, tags_form_field
from guanxi.core.models import Team, User
from guanxi.customers.models import Account, Contact, Lead

from .models import AssignmentRule, Currency, LostReason, Pipeline, Product, Stage, StageKind
from .services import DEAL_REQUIRABLE


def _blank(choices: Any) -> list[tuple[str, Any]]:
    return [("", "—"), *choices]


class DealForm(forms.Form):
    name = forms.CharField(label=_("Deal name"), max_length=200)
    pipeline = forms.ModelChoiceField(label=_("Pipeline"), queryset=Pipeline.objects.none(), required=False)
    account = forms.ModelChoiceField(label=_("Account"), queryset=Account.objects.none(), required=False)
    contacts = forms.ModelMultipleChoiceField(label=_("Contacts"), queryset=Contact.objects.none(), required=False)
    amount = forms.CharField(
        label=_("Amount"), max_length=20, required=False, widget=forms.TextInput(attrs={"inputmode": "decimal"})
    )
    currency = forms.ModelChoiceField(label=_("Currency"), queryset=Currency.objects.none(), empty_label=None)
    expected_close = forms.DateField(
        label=_("Expected close"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    source = forms.ChoiceField(label=_("Source"), choices=_blank(Lead.Source.choices), required=False)
    tags = tags_form_field()

    def __init__(
        self,
        *args: Any,
        accounts: QuerySet[Account],
        contacts: QuerySet[Contact],
        editing: bool = False,
        custom: dict[str, Any] | None = None,
        amount_from_lines: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        customise_form(self, "deal", custom)
        if amount_from_lines:
            # the lines set the amount and are priced in the deal's currency: both are shown, not edited here
            for name in ("amount", "currency"):
                self.fields[name].disabled = True
            self.fields["amount"].help_text = _("The gross total of the deal's product lines.")
        self.fields["account"].queryset = accounts  # type: ignore[attr-defined]
        self.fields["contacts"].queryset = contacts  # type: ignore[attr-defined]
        self.fields["currency"].queryset = Currency.objects.filter(active=True)  # type: ignore[attr-defined]
        if editing:
            del self.fields["pipeline"]
        else:
            self.fields["pipeline"].queryset = Pipeline.objects.filter(active=True)  # type: ignore[attr-defined]
            self.fields["pipeline"].empty_label = _("The default pipeline")  # type: ignore[attr-defined]


class DealLineForm(forms.Form):
    """One product line of a deal; an empty price or tax rate comes from the product."""

    product = forms.ModelChoiceField(label=_("Product"), queryset=Product.objects.none())
    quantity = forms.DecimalField(
        label=_("Quantity"),
        max_digits=12,
        decimal_places=3,
        initial=1,
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )
    unit_price = forms.CharField(
        label=_("Unit price"), max_length=20, required=False, widget=forms.TextInput(attrs={"inputmode": "decimal"})
    )
    discount_percent = forms.CharField(
        label=_("Discount (%)"), max_length=6, required=False, widget=forms.TextInput(attrs={"inputmode": "decimal"})
    )
    tax_rate = forms.ChoiceField(label=_("Tax rate (%)"), required=False, choices=())

    def __init__(self, *args: Any, line: Any = None, **kwargs: Any) -> None:
        from .order_forms import tax_rate_choices

        if line is not None and not kwargs.get("data") and not args:
            kwargs["initial"] = {
                "product": line.product_id,
                "quantity": line.quantity_text,
                "unit_price": line.unit_price,
                "discount_percent": line.discount_text,
                "tax_rate": line.tax_rate_text,
            }
        super().__init__(*args, **kwargs)
        # an existing line keeps its product and rate even when they are no longer in use
        products = Product.objects.filter(Q(active=True) | Q(pk=getattr(line, "product_id", None)))
        self.fields["product"].queryset = products.order_by("name", "id")  # type: ignore[attr-defined]
        choices = [("", _("The product's rate")), *tax_rate_choices()]
        if line is not None and f"{line.tax_rate.normalize():f}" not in dict(choices):
            choices.append((f"{line.tax_rate.normalize():f}", f"{line.tax_rate.normalize():f} %"))
        self.fields["tax_rate"].choices = choices  # type: ignore[attr-defined]

    def values(self) -> dict[str, Any]:
        """The typed values for the service: blanks left out so the product's price and rate apply."""
        return {name: value for name, value in self.cleaned_data.items() if value not in (None, "")}


class DealMoveForm(forms.Form):
    # the pipeline's stages come from the cached sales configuration: a drag on the board costs no stage query
    stage = forms.TypedChoiceField(label=_("Stage"), choices=(), coerce=int)
    lost_reason = forms.ModelChoiceField(
        label=_("Lost reason"), queryset=LostReason.objects.filter(active=True), required=False
    )
    lost_note = forms.CharField(label=_("Lost note"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    above = forms.IntegerField(required=False, widget=forms.HiddenInput)
    below = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, pipeline_id: int, **kwargs: Any) -> None:
        from .selectors import board_config

        super().__init__(*args, **kwargs)
        stages = board_config(pipeline_id=pipeline_id).stages.get(pipeline_id, [])
        self.stages = {stage.pk: stage for stage in stages}
        self.fields["stage"].choices = [(pk, stage.name) for pk, stage in self.stages.items()]  # type: ignore[attr-defined]

    def clean_stage(self) -> Stage:
        return self.stages[self.cleaned_data["stage"]]


class DealTaskForm(forms.Form):
    subject = forms.CharField(label=_("Task"), max_length=200)
    due_at = forms.DateTimeField(
        label=_("Due"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
    )
    assignee = forms.ModelChoiceField(label=_("Assignee"), queryset=User.objects.filter(is_active=True), required=False)


class PipelineForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    active = forms.BooleanField(label=_("Active"), required=False, initial=True)
    is_default = forms.BooleanField(label=_("Default pipeline for new deals"), required=False)


class StageForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    probability = forms.IntegerField(label=_("Win probability (%)"), min_value=0, max_value=100, initial=10)
    kind = forms.ChoiceField(label=_("Kind"), choices=StageKind.choices, initial=StageKind.OPEN)
    required_fields = forms.MultipleChoiceField(
        label=_("Required before entering"),
        choices=[],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("A deal cannot move into this stage until these are filled."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["required_fields"].choices = list(DEAL_REQUIRABLE.items())  # type: ignore[attr-defined]


class LostReasonForm(forms.Form):
    name = forms.CharField(label=_("Lost reason"), max_length=100)
    active = forms.BooleanField(label=_("Active"), required=False, initial=True)


class CurrencyForm(forms.Form):
    code = forms.CharField(label=_("Code"), max_length=3, help_text=_("ISO 4217, e.g. USD."))
    name = forms.CharField(label=_("Name"), max_length=60)
    rate_to_cny = forms.DecimalField(
        label=_("Rate to CNY"), max_digits=18, decimal_places=6, required=False, min_value=0
    )
    active = forms.BooleanField(label=_("Active"), required=False, initial=True)


class SalesSettingsForm(forms.Form):
    stale_after_days = forms.IntegerField(
        label=_("Flag open deals with no activity for (days)"), min_value=1, max_value=365
    )


class AssignmentRuleForm(forms.Form):
    applies_to = forms.ChoiceField(label=_("Applies to"), choices=AssignmentRule.AppliesTo.choices)
    province = forms.CharField(
        label=_("Province"), max_length=50, required=False, help_text=_("Leave empty to match every region.")
    )
    user = forms.ModelChoiceField(label=_("User"), queryset=User.objects.filter(is_active=True), required=False)
    team = forms.ModelChoiceField(label=_("Team (round robin)"), queryset=Team.objects.all(), required=False)
