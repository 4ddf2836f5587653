"""Forms of the service desk pages; they only collect input, the services decide."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from guanxi.core.models import User

from .models import AssignmentRule, BusinessCalendar, CannedResponse, Channel, Priority, Queue, SlaPolicy, TicketMessage

WEEKDAYS = [_("Monday"), _("Tuesday"), _("Wednesday"), _("Thursday"), _("Friday"), _("Saturday"), _("Sunday")]


def agents() -> Any:
    return User.objects.filter(is_active=True, groups__permissions__codename="change_ticket").distinct()


class TicketForm(forms.Form):
    subject = forms.CharField(label=_("Subject"), max_length=250)
    body = forms.CharField(label=_("What the customer needs"), widget=forms.Textarea(attrs={"rows": 5}))
    channel = forms.ChoiceField(label=_("Channel"), choices=Channel.choices, initial=Channel.PHONE)
    name = forms.CharField(label=_("Customer name"), max_length=130, required=False)
    email = forms.CharField(label=_("Customer email"), max_length=254, required=False)
    phone = forms.CharField(label=_("Customer phone"), max_length=40, required=False)
    category = forms.CharField(label=_("Category"), max_length=60, required=False)
    priority = forms.ChoiceField(label=_("Priority"), choices=Priority.choices, initial=Priority.NORMAL)
    queue = forms.ModelChoiceField(
        label=_("Queue"), queryset=Queue.objects.all(), required=False, help_text=_("Empty: routed by the rules.")
    )
    assignee = forms.ModelChoiceField(
        label=_("Assignee"), queryset=User.objects.none(), required=False, help_text=_("Empty: the queue's rule picks.")
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = agents()  # type: ignore[attr-defined]


class ReplyForm(forms.Form):
    body = forms.CharField(label=_("Message"), widget=forms.Textarea(attrs={"rows": 5, "x-ref": "body"}))
    kind = forms.ChoiceField(
        label=_("Kind"), choices=TicketMessage.Kind.choices, initial=TicketMessage.Kind.REPLY, widget=forms.RadioSelect
    )
    wait_on_customer = forms.BooleanField(label=_("Then wait on the customer (pauses the SLA)"), required=False)
    time_spent_minutes = forms.IntegerField(label=_("Time spent (minutes)"), min_value=0, initial=0, required=False)
    attachment = forms.FileField(label=_("Attachment"), required=False)


class AssignForm(forms.Form):
    assignee = forms.ModelChoiceField(label=_("Assignee"), queryset=User.objects.none(), required=False)
    queue = forms.ModelChoiceField(label=_("Queue"), queryset=Queue.objects.all(), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = agents()  # type: ignore[attr-defined]


class QueueForm(forms.ModelForm):
    categories = forms.CharField(label=_("Categories / skills"), required=False, help_text=_("Comma-separated."))

    class Meta:
        model = Queue
        fields = ["name", "team", "categories", "agents", "assignment", "is_default"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["agents"].queryset = agents()  # type: ignore[attr-defined]
        if self.instance.pk:
            self.initial["categories"] = ", ".join(self.instance.categories)

    def clean_categories(self) -> list[str]:
        return [c.strip() for c in self.cleaned_data["categories"].replace("，", ",").split(",") if c.strip()]


class RuleForm(forms.ModelForm):
    class Meta:
        model = AssignmentRule
        fields = ["order", "category", "tier", "queue"]


class PolicyForm(forms.ModelForm):
    class Meta:
        model = SlaPolicy
        fields = [
            "name",
            "order",
            "priority",
            "tier",
            "category",
            "calendar",
            "first_response_minutes",
            "resolution_minutes",
            "warn_before_minutes",
            "notify",
            "escalate_queue",
            "escalate_user",
            "raise_priority",
            "active",
        ]


class CannedForm(forms.ModelForm):
    language = forms.ChoiceField(label=_("Language"), choices=[("", _("Any")), *settings.LANGUAGES], required=False)

    class Meta:
        model = CannedResponse
        fields = ["title", "body", "language", "category"]
        help_texts = {"body": _("Placeholders: {customer_name} {ticket_number} {agent_name} {subject}")}


class CalendarForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    time_zone = forms.CharField(label=_("Time zone"), max_length=60, initial="Asia/Shanghai")

    def __init__(self, *args: Any, calendar: BusinessCalendar | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        hours = calendar.hours if calendar else BusinessCalendar._meta.get_field("hours").get_default()
        if calendar:
            self.initial.update(name=calendar.name, time_zone=calendar.time_zone)
        for day, label in enumerate(WEEKDAYS):
            spans = " ".join(f"{a}-{b}" for a, b in hours.get(str(day), []))
            self.fields[f"day{day}"] = forms.CharField(
                label=label, required=False, initial=spans, help_text=_("e.g. 09:00-12:00 13:00-18:00; empty: closed")
            )

    def hours(self) -> dict[str, list[list[str]]]:
        result = {}
        for day in range(7):
            spans = []
            for text in (self.cleaned_data.get(f"day{day}") or "").replace("–", "-").split():
                start, _sep, end = text.partition("-")
                spans.append([start.strip(), end.strip()])
            if spans:
                result[str(day)] = spans
        return result


class CalendarDayForm(forms.Form):
    date = forms.DateField(label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}))
    kind = forms.ChoiceField(label=_("Kind"), choices=[("holiday", _("Holiday")), ("workday", _("Adjusted workday"))])
    name = forms.CharField(label=_("Name"), max_length=100, required=False)


class CalendarLoadForm(forms.Form):
    year = forms.IntegerField(label=_("Year"), min_value=2004, max_value=2100)


class WebRequestForm(forms.Form):
    """The public support form: anyone may ask; `website` is a trap field people never see (bots fill it)."""

    name = forms.CharField(label=_("Your name"), max_length=130)
    email = forms.EmailField(label=_("Your email"), help_text=_("We answer here; reply to our email to add more."))
    phone = forms.CharField(label=_("Phone (optional)"), max_length=40, required=False)
    subject = forms.CharField(label=_("Subject"), max_length=250)
    body = forms.CharField(label=_("How can we help?"), widget=forms.Textarea(attrs={"rows": 6}))
    website = forms.CharField(required=False, widget=forms.TextInput(attrs={"tabindex": "-1", "autocomplete": "off"}))

    def clean_website(self) -> str:
        if self.cleaned_data.get("website"):
            raise forms.ValidationError(_("Leave this field empty."))
        return ""
