"""Forms for customer pages. They validate shape; the services clean values and enforce the rules."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from guanxi.core.forms import tags_form_field
from guanxi.core.models import User

from . import quality
from .models import Account, Interaction, Lead


def _blank(choices: Any) -> list[tuple[str, Any]]:
    return [("", "—"), *choices]


class AccountForm(forms.Form):
    name = forms.CharField(label=_("Company name"), max_length=200)
    registration_number = forms.CharField(
        label=_("Registration number"),
        max_length=40,
        required=False,
        help_text=_("The 18-character unified social credit code (统一社会信用代码) is checked for typos."),
    )
    industry = forms.CharField(label=_("Industry"), max_length=100, required=False)
    size = forms.ChoiceField(label=_("Size"), choices=_blank(Account.Size.choices), required=False)
    tier = forms.ChoiceField(label=_("Tier"), choices=_blank(Account.Tier.choices), required=False)
    province = forms.CharField(label=_("Province"), max_length=50, required=False)
    city = forms.CharField(label=_("City"), max_length=50, required=False)
    district = forms.CharField(label=_("District"), max_length=50, required=False)
    website = forms.CharField(
        label=_("Website"), max_length=200, required=False, widget=forms.TextInput(attrs={"inputmode": "url"})
    )
    tags = tags_form_field()


class ContactForm(forms.Form):
    surname = forms.CharField(label=_("Surname"), max_length=60, required=False)
    given_name = forms.CharField(label=_("Given name"), max_length=60, required=False)
    phone = forms.CharField(
        label=_("Phone"),
        max_length=40,
        required=False,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "off"}),
        help_text=_("Any way it is written; a number without a country code is read as a local one."),
    )
    email = forms.CharField(
        label=_("Email"), max_length=254, required=False, widget=forms.TextInput(attrs={"inputmode": "email"})
    )
    title = forms.CharField(label=_("Job title"), max_length=100, required=False)
    accounts = forms.ModelMultipleChoiceField(
        label=_("Accounts"), queryset=Account.objects.none(), required=False, widget=forms.SelectMultiple
    )
    province = forms.CharField(label=_("Province"), max_length=50, required=False)
    city = forms.CharField(label=_("City"), max_length=50, required=False)
    district = forms.CharField(label=_("District"), max_length=50, required=False)
    street = forms.CharField(label=_("Street address"), max_length=200, required=False)
    tags = tags_form_field()

    def __init__(self, *args: Any, accounts: QuerySet[Account], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["accounts"].queryset = accounts  # type: ignore[attr-defined]


def _open_statuses() -> list[tuple[str, Any]]:
    return [(value, label) for value, label in Lead.Status.choices if value != Lead.Status.CONVERTED]


class LeadForm(forms.Form):
    surname = forms.CharField(label=_("Surname"), max_length=60, required=False)
    given_name = forms.CharField(label=_("Given name"), max_length=60, required=False)
    company_name = forms.CharField(label=_("Company"), max_length=200, required=False)
    phone = forms.CharField(
        label=_("Phone"), max_length=40, required=False, widget=forms.TextInput(attrs={"type": "tel"})
    )
    email = forms.CharField(
        label=_("Email"), max_length=254, required=False, widget=forms.TextInput(attrs={"inputmode": "email"})
    )
    source = forms.ChoiceField(label=_("Source"), choices=_blank(Lead.Source.choices), required=False)
    status = forms.ChoiceField(label=_("Status"), choices=_open_statuses, initial=Lead.Status.NEW)
    notes = forms.CharField(label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    tags = tags_form_field()


class LeadConvertForm(forms.Form):
    account = forms.ModelChoiceField(
        label=_("Account"),
        queryset=Account.objects.none(),
        required=False,
        empty_label=_("A new account from the lead's company name"),
        help_text=_("Or pick an account that already exists, to add this person to it."),
    )

    # offered to users who may add deals: the conversion also opens a deal (guanxi.sales), in the same transaction
    create_deal = forms.BooleanField(label=_("Create a deal"), required=False)
    deal_name = forms.CharField(
        label=_("Deal name"),
        max_length=200,
        required=False,
        help_text=_("Leave empty to name it after the company or the person."),
    )
    deal_amount = forms.CharField(
        label=_("Deal amount (CNY)"),
        max_length=20,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )

    def __init__(self, *args: Any, accounts: QuerySet[Account], with_deal: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["account"].queryset = accounts  # type: ignore[attr-defined]
        if not with_deal:
            for name in ("create_deal", "deal_name", "deal_amount"):
                del self.fields[name]


def _when(**attrs: Any) -> forms.DateTimeInput:
    return forms.DateTimeInput(attrs={"type": "datetime-local", **attrs}, format="%Y-%m-%dT%H:%M")


class InteractionForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=Interaction.Kind.choices, initial=Interaction.Kind.CALL)
    channel = forms.ChoiceField(label=_("Channel"), choices=_blank(Interaction.Channel.choices), required=False)
    direction = forms.ChoiceField(
        label=_("Direction"), choices=Interaction.Direction.choices, initial=Interaction.Direction.OUTBOUND
    )
    occurred_at = forms.DateTimeField(label=_("When"), widget=_when())
    duration = forms.IntegerField(label=_("Duration (minutes)"), required=False)
    subject = forms.CharField(label=_("Subject"), max_length=200, required=False)
    body = forms.CharField(label=_("Details"), required=False, widget=forms.Textarea(attrs={"rows": 4}))
    outcome = forms.CharField(label=_("Outcome"), max_length=255, required=False)
    due_at = forms.DateTimeField(
        label=_("Due"), required=False, widget=_when(), help_text=_("For a task: when it must be done.")
    )
    assignee = forms.ModelChoiceField(
        label=_("Assignee"),
        queryset=User.objects.none(),
        required=False,
        empty_label=_("Me"),
        help_text=_("For a task: who should do it and gets the reminder."),
    )

    def __init__(self, *args: Any, users: QuerySet[User], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = users  # type: ignore[attr-defined]


class QualityWeightsForm(forms.Form):
    """One whole-number weight (0–100) per check of a record type; the service decides what is acceptable."""

    def __init__(self, *args: Any, record_type: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for key, check in quality.CHECKS[record_type].items():
            self.fields[key] = forms.IntegerField(
                label=capfirst(str(check.label)), min_value=0, max_value=quality.MAX_WEIGHT, required=True
            )
