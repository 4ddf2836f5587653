"""What feedback offers automation rules: the "start a survey" action, registered through the engine's action
registry (the engine knows nothing of surveys). Imported from `FeedbackConfig.ready()` when automation is installed."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from guanxi.automation.engine import Action, Config, RunContext, action_register

from .models import Survey
from .services import survey_invite
from .triggers import _customer

KINDS = ("csat", "nps", "ces")


def _survey_validate(config: Config, model_label: str) -> Config:
    """A survey by id, or by kind ("csat"): the active survey of that kind when the rule runs."""
    chosen = str(config.get("survey") or "csat").strip()
    if chosen in KINDS:
        return {"survey": chosen}
    if not chosen.isdigit() or not Survey.objects.filter(pk=int(chosen)).exists():
        raise ValidationError(_("“survey”: the survey %(survey)s does not exist.") % {"survey": chosen})
    return {"survey": int(chosen)}


def _survey(config: Config) -> Survey:
    chosen = config["survey"]
    rows = Survey.objects.filter(active=True)
    found = rows.filter(kind=chosen).order_by("id").first() if chosen in KINDS else rows.filter(pk=chosen).first()
    if found is None:
        raise ValidationError(
            _("“survey”: there is no active survey “%(survey)s”; add or switch one on under Surveys.")
            % {"survey": chosen}
        )
    return found


def _contact(ctx: RunContext) -> Any:
    contact = _customer(ctx.record) if ctx.record is not None else None
    if contact is None:
        raise ValidationError(_("This record names no customer to send a survey to."))
    return contact


def _plan(ctx: RunContext, config: Config) -> str:
    survey, contact = _survey(config), _contact(ctx)
    return _("Send the survey “%(survey)s” to %(contact)s.") % {"survey": survey.name, "contact": contact}


def _start(ctx: RunContext, config: Config) -> str:
    survey, contact = _survey(config), _contact(ctx)
    invitation = survey_invite(
        survey=survey,
        contact=contact,
        actor=ctx.actor,
        source_event_id=ctx.event.pk if ctx.event is not None else None,
        team=getattr(ctx.record, "team", None),
        agent=getattr(ctx.record, "owner", None),
    )
    if invitation is None:
        return _("The survey “%(survey)s” was not sent to %(contact)s (surveyed recently, or no email).") % {
            "survey": survey.name,
            "contact": contact,
        }
    return _plan(ctx, config)


def register() -> None:
    action_register(
        Action(
            "feedback.survey_start",
            gettext_lazy("Start a survey"),
            _survey_validate,
            _plan,
            _start,
            changes_record=False,
            help=gettext_lazy("Emails the record's customer a survey: the active one of a kind (CSAT, NPS, CES)."),
        )
    )
