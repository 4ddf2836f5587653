"""Forms of the feedback pages; the services do the checking that matters."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Channel, FeedbackTopic, Kind, Sentiment, Severity, Survey

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
