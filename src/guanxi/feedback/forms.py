"""Forms of the feedback pages; the services do the checking that matters."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from guanxi.core.models import Tag, Team, User
from guanxi.customers.models import Account, LifecycleStage

from .models import Channel, FeedbackSettings, FeedbackTopic, Kind, Sentiment, Severity, Survey

STAFF_CHANNELS = [(c.value, c.label) for c in (Channel.PHONE, Channel.VISIT, Channel.EMAIL)]


class PublicFeedbackForm(forms.Form):
    kind = forms.ChoiceField(label=_("What kind of feedback?"), choices=Kind.choices, initial=Kind.SUGGESTION)
    text = forms.CharField(label=_("Your feedback"), widget=forms.Textarea(attrs={"rows": 5}), max_length=5000)
    name = forms.CharField(label=_("Your name"), max_length=130, required=False)
    email = forms.EmailField(
        label=_("Your email"), required=False, help_text=_("So we can tell you what we did about it.")
    )
    # the honeypot: hidden from people, filled in by bots
    website = forms.CharField(label=_("Leave this empty"), required=False)


class StaffFeedbackForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=Kind.choices)
    channel = forms.ChoiceField(label=_("Channel"), choices=STAFF_CHANNELS)
    text = forms.CharField(label=_("Feedback"), widget=forms.Textarea(attrs={"rows": 5}), max_length=5000)
    contact = forms.IntegerField(label=_("Contact id"), required=False, widget=forms.HiddenInput)
    severity = forms.ChoiceField(
        label=_("Severity"), choices=[("", _("Suggest from the text")), *Severity.choices], required=False
    )


class CorrectForm(forms.Form):
    topic = forms.ModelChoiceField(label=_("Topic"), queryset=FeedbackTopic.objects.filter(active=True))
    sentiment = forms.ChoiceField(label=_("Sentiment"), choices=Sentiment.choices)


class SurveyForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=150)
    kind = forms.ChoiceField(label=_("Kind"), choices=Survey.SurveyKind.choices)
    question = forms.CharField(
        label=_("Main question"), max_length=300, required=False, help_text=_("Leave empty for the standard question.")
    )
    questions = forms.CharField(
        label=_("Extra questions"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("One per line. Start a line with “scale:” for a 1–5 score, otherwise it is a free-text question."),
    )
    trigger = forms.ChoiceField(label=_("Send when"), choices=Survey.Trigger.choices)
    onboarding_days = forms.IntegerField(
        label=_("Days after the first order"),
        required=False,
        min_value=0,
        max_value=3650,
        initial=7,
        help_text=_("Only for “some days after a contact's first order”."),
    )
    throttle_days = forms.IntegerField(label=_("Survey one customer at most once in (days)"), min_value=0, initial=30)

    def questions_list(self) -> list[dict[str, Any]]:
        rows = []
        for line in self.cleaned_data.get("questions", "").splitlines():
            line = line.strip()
            if not line:
                continue
            if line.lower().startswith("scale:"):
                rows.append({"label": line[6:].strip(), "type": "scale", "min": 1, "max": 5})
            else:
                rows.append({"label": line, "type": "text"})
        return rows


class SurveySendForm(forms.Form):
    contact_ids = forms.CharField(label=_("Contact ids"), required=False, help_text=_("Separated by commas or spaces."))
    tag = forms.CharField(label=_("Or every contact with the tag"), required=False, max_length=60)


class RedeemForm(forms.Form):
    points = forms.IntegerField(label=_("Points"), min_value=1)
    note = forms.CharField(label=_("Redeemed for"), max_length=200)


class SettingsForm(forms.ModelForm):
    """The feedback policy; the service checks the ranges and names the field in its error."""

    class Meta:
        model = FeedbackSettings
        fields = [
            "recurring_count",
            "recurring_days",
            "default_response_hours",
            "remind_hours_before",
            "points_feedback",
            "points_survey",
            "points_adopted",
            "survey_throttle_days",
        ]


class TopicForm(forms.Form):
    key = forms.CharField(
        label=_("Key"),
        max_length=40,
        required=False,
        help_text=_(
            "Lower-case letters, digits, “-” or “_”; fixed once the topic exists (it names the training labels)."
        ),
    )
    name = forms.CharField(label=_("English name"), max_length=80)
    name_zh = forms.CharField(label=_("Chinese name"), max_length=80, required=False)


def _blank(label: object) -> list[tuple[str, object]]:
    return [("", label)]


class RoutingRuleForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    kind = forms.ChoiceField(label=_("Kind"), required=False)
    severity = forms.ChoiceField(label=_("Severity"), required=False)
    tier = forms.ChoiceField(label=_("Customer tier"), required=False)
    owner = forms.ModelChoiceField(label=_("Owner"), queryset=User.objects.none(), required=False)
    team = forms.ModelChoiceField(label=_("Team"), queryset=Team.objects.none(), required=False)
    response_hours = forms.IntegerField(label=_("Response deadline (hours)"), initial=24)
    active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        anything = _("Any")
        self.fields["kind"].choices = _blank(anything) + list(Kind.choices)  # type: ignore[attr-defined]
        self.fields["severity"].choices = _blank(anything) + list(Severity.choices)  # type: ignore[attr-defined]
        self.fields["tier"].choices = _blank(anything) + list(Account.Tier.choices)  # type: ignore[attr-defined]
        self.fields["owner"].queryset = User.objects.filter(is_active=True).order_by("full_name", "email")  # type: ignore[attr-defined]
        self.fields["team"].queryset = Team.objects.order_by("name")  # type: ignore[attr-defined]


class ScheduleForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=150)
    survey = forms.ModelChoiceField(label=_("Survey"), queryset=Survey.objects.none())
    audience_tag = forms.ModelChoiceField(label=_("Contacts with the tag"), queryset=Tag.objects.none(), required=False)
    audience_stage = forms.ChoiceField(label=_("Lifecycle stage"), required=False)
    audience_tier = forms.ChoiceField(label=_("Account tier"), required=False)
    every_days = forms.IntegerField(
        label=_("Every (days)"), initial=30, help_text=_("7 for weekly, 30 for monthly, 91 for quarterly.")
    )
    next_run_at = forms.DateTimeField(
        label=_("First run"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
    )
    active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        anyone = _("Any")
        self.fields["survey"].queryset = Survey.objects.filter(active=True)  # type: ignore[attr-defined]
        self.fields["audience_tag"].queryset = Tag.objects.order_by("name")  # type: ignore[attr-defined]
        self.fields["audience_stage"].choices = _blank(anyone) + list(LifecycleStage.choices)  # type: ignore[attr-defined]
        self.fields["audience_tier"].choices = _blank(anyone) + list(Account.Tier.choices)  # type: ignore[attr-defined]
