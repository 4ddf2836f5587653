"""The built-in actions. Every write goes through the owning app's service, so it records its own event
(marked with the rule chain, which is how a rule's own change cannot retrigger it)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import models, transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from guanxi.core.models import ADMINISTRATOR, Notification, Tag, Team, User
from guanxi.core.services import notification_send, tag_name_clean

from .conditions import TEXT, _typed, field_info
from .engine import Action, Config, RunContext, action_register, model_of, placeholders_check, placeholders_fill
from .engine import updater_for as _updater
from .models import Rule

TASK_MODELS = {"customers.contact", "customers.account", "customers.lead"}


def _text(config: Config, key: str, *, required: bool = True, limit: int = 2000) -> str:
    value = str(config.get(key) or "").strip()
    if required and not value:
        raise ValidationError(_("“%(setting)s” is required.") % {"setting": key})
    if len(value) > limit:
        raise ValidationError(_("“%(setting)s” is too long.") % {"setting": key})
    return value


def _needs_updater(model: str) -> None:
    if _updater(model) is None:
        raise ValidationError(_("Records of this kind cannot be changed by a rule."))


def _user(value: Any, *, setting: str) -> User:
    user = User.objects.filter(pk=value, is_active=True).first() if str(value or "").isdigit() else None
    if user is None:
        raise ValidationError(
            _("“%(setting)s”: the user %(user)s does not exist or is inactive.") % {"setting": setting, "user": value}
        )
    return user


def _update(ctx: RunContext, **changes: Any) -> Any:
    assert ctx.record is not None
    fn = _updater(ctx.record._meta.label_lower)
    if fn is None:
        raise ValidationError(_("Records of this kind cannot be changed by a rule."))
    return fn(record=ctx.record, actor=ctx.actor, **changes)


# --- set a field --------------------------------------------------------------------------------


def _set_field_validate(config: Config, model_label: str) -> Config:
    _needs_updater(model_label)
    model = model_of(model_label)
    name = _text(config, "field")
    info = field_info(model, name) if model else None
    if info is None or "." in name.removeprefix("custom."):
        raise ValidationError(_("The field “%(field)s” does not exist (or was deleted).") % {"field": name})
    value = config.get("value")
    try:
        _typed(info.kind if info.kind != "list" else TEXT, value)
    except ValueError:
        raise ValidationError(
            _("“%(value)s” is not a valid value for “%(field)s”.") % {"value": value, "field": name}
        ) from None
    if info.choices and value not in (None, "") and str(value) not in info.choices:
        raise ValidationError(
            _("“%(value)s” is not one of the choices of “%(field)s” (%(choices)s).")
            % {"value": value, "field": name, "choices": ", ".join(info.choices)}
        )
    return {"field": name, "value": value}


def _set_field_plan(ctx: RunContext, config: Config) -> str:
    return _("Set “%(field)s” of %(record)s to “%(value)s”.") % {
        "field": config["field"],
        "record": ctx.record,
        "value": config["value"],
    }


def _set_field(ctx: RunContext, config: Config) -> str:
    name, value = config["field"], config["value"]
    if name.startswith("custom."):
        _update(ctx, custom={name.removeprefix("custom."): value})
    else:
        _update(ctx, **{name: value})
    return _set_field_plan(ctx, config)


# --- assign -------------------------------------------------------------------------------------


def _assign_validate(config: Config, model_label: str) -> Config:
    _needs_updater(model_label)
    strategy = config.get("strategy") or "round_robin"
    if strategy not in {"round_robin", "least_loaded"}:
        raise ValidationError(_("Choose round robin or least loaded."))
    team_id = str(config.get("team") or "")
    team = Team.objects.filter(pk=int(team_id)).first() if team_id.isdigit() else None
    if team is None:
        raise ValidationError(_("“team”: the team %(team)s does not exist.") % {"team": config.get("team")})
    return {"strategy": strategy, "team": team.pk}


def _candidates(config: Config) -> list[User]:
    team = Team.objects.filter(pk=config["team"]).first()
    if team is None:
        raise ValidationError(_("“team”: the team %(team)s does not exist.") % {"team": config["team"]})
    members = list(team.members.filter(is_active=True).order_by("id"))
    if not members:
        raise ValidationError(_("The team “%(team)s” has no active members to assign to.") % {"team": team})
    return members


def _pick(ctx: RunContext, config: Config, *, claim: bool) -> User:
    members = _candidates(config)
    assert ctx.record is not None
    if config["strategy"] == "least_loaded":
        model: type[models.Model] = type(ctx.record)
        rows = model._base_manager.filter(owner__in=members)
        if any(f.name == "archived_at" for f in model._meta.concrete_fields):
            rows = rows.filter(archived_at__isnull=True)
        loads = dict(rows.values("owner").annotate(n=Count("pk")).values_list("owner", "n"))
        return min(members, key=lambda u: (loads.get(u.pk, 0), u.pk))
    # round robin: the pointer lives on the rule, locked so two workers never hand out the same turn
    rule = Rule.objects.select_for_update().get(pk=ctx.rule.pk) if claim else ctx.rule
    turn = int((rule.state or {}).get("round_robin", 0))
    chosen = members[turn % len(members)]
    if claim:
        rule.state = {**(rule.state or {}), "round_robin": turn + 1}
        Rule.objects.filter(pk=rule.pk).update(state=rule.state)
    return chosen


def _assign_plan(ctx: RunContext, config: Config) -> str:
    return _("Assign %(record)s to %(user)s.") % {"record": ctx.record, "user": _pick(ctx, config, claim=False)}


def _assign(ctx: RunContext, config: Config) -> str:
    user = _pick(ctx, config, claim=True)
    _update(ctx, owner=user)
    return _("Assign %(record)s to %(user)s.") % {"record": ctx.record, "user": user}


# --- create a task ------------------------------------------------------------------------------


def _task_validate(config: Config, model_label: str) -> Config:
    if model_label not in TASK_MODELS:
        raise ValidationError(_("A follow-up task can be created for a contact, account or lead."))
    subject = _text(config, "subject", limit=200)
    placeholders_check(subject, model_label, setting="subject")
    try:
        days = int(config.get("due_in_days", 1))
    except (TypeError, ValueError):
        raise ValidationError(_("“due_in_days” must be a whole number.")) from None
    assignee = config.get("assignee") or "owner"
    if assignee != "owner":
        assignee = _user(assignee, setting="assignee").pk
    return {"subject": subject, "due_in_days": max(0, days), "assignee": assignee}


def _task_assignee(ctx: RunContext, config: Config) -> User | None:
    if config["assignee"] == "owner":
        return getattr(ctx.record, "owner", None)
    return _user(config["assignee"], setting="assignee")


def _task_plan(ctx: RunContext, config: Config) -> str:
    return _("Create the task “%(subject)s” due in %(days)s days for %(user)s.") % {
        "subject": placeholders_fill(config["subject"], ctx),
        "days": config["due_in_days"],
        "user": _task_assignee(ctx, config) or "-",
    }


def _task(ctx: RunContext, config: Config) -> str:
    from guanxi.customers.services import interaction_log

    about: Any = ctx.record
    interaction_log(
        actor=ctx.actor,
        about=about,
        kind="task",
        subject=placeholders_fill(config["subject"], ctx)[:200],
        due_at=timezone.now() + timedelta(days=config["due_in_days"]),
        assignee=_task_assignee(ctx, config),
    )
    return _task_plan(ctx, config)


# --- notifications and email --------------------------------------------------------------------


def _recipients_validate(config: Config, model_label: str) -> Any:
    to = config.get("to") or "owner"
    if to in {"owner", "administrators"}:
        if to == "owner" and not model_label:
            raise ValidationError(_("This trigger has no record, so there is no owner to tell."))
        return to
    return _user(to, setting="to").pk


def _recipients(ctx: RunContext, to: Any) -> list[User]:
    if to == "owner":
        owner = getattr(ctx.record, "owner", None)
        return [owner] if owner is not None and owner.is_active else []
    if to == "administrators":
        return list(
            User.objects.filter(Q(groups__name=ADMINISTRATOR) | Q(is_superuser=True), is_active=True).distinct()
        )
    return [_user(to, setting="to")]


def _notify_validate(config: Config, model_label: str) -> Config:
    message = _text(config, "message", limit=200)
    placeholders_check(message, model_label, setting="message")
    return {"to": _recipients_validate(config, model_label), "message": message}


def _notify_plan(ctx: RunContext, config: Config) -> str:
    people = ", ".join(str(u) for u in _recipients(ctx, config["to"])) or "-"
    return _("Notify %(people)s: “%(message)s”.") % {
        "people": people,
        "message": placeholders_fill(config["message"], ctx),
    }


def _notify(ctx: RunContext, config: Config) -> str:
    raw = placeholders_fill(config["message"], ctx)[:200]
    while len(text := raw.replace("%", "%%")) > 200:  # a title holds 200 characters, "%" stored as "%%"
        raw = raw[:-1]
    people = _recipients(ctx, config["to"])
    done = _("Notify %(people)s: “%(message)s”.") % {
        "people": ", ".join(str(u) for u in people) or "-",
        "message": placeholders_fill(config["message"], ctx),
    }
    if ctx.later is not None and ctx.event is not None:
        # batch path: one row per (recipient, event) however many rules notify, inserted with the batch
        seen = ctx.later.setdefault("notified", set())
        people = [u for u in people if u.pk not in seen]
        seen.update(u.pk for u in people)
    if not people:
        return done
    record: Any = ctx.record
    url = record.get_absolute_url() if hasattr(record, "get_absolute_url") else ""
    for user in people:
        if ctx.later is not None and ctx.event is not None:
            ctx.later.setdefault("notifications", []).append(
                Notification(recipient=user, title=text, url=url, event=ctx.event)
            )
        else:
            notification_send(recipient=user, title=text, url=url, event=ctx.event)
    return done


def _email_validate(config: Config, model_label: str) -> Config:
    to = config.get("to") or "record"
    if to == "record":
        model = model_of(model_label) if model_label else None
        if model is None or field_info(model, "email") is None:
            raise ValidationError(_("This kind of record has no email address; send to its owner instead."))
    elif to == "contact":
        model = model_of(model_label) if model_label else None
        if model is None or field_info(model, "contact.email") is None:
            raise ValidationError(_("This kind of record has no contact to write to; send to its owner instead."))
    else:
        to = _recipients_validate({"to": to}, model_label)
    subject = _text(config, "subject", limit=200)
    body = _text(config, "body", limit=10000)
    placeholders_check(subject, model_label, setting="subject")
    placeholders_check(body, model_label, setting="body")
    return {"to": to, "subject": subject, "body": body}


def _email_addresses(ctx: RunContext, config: Config) -> list[str]:
    if config["to"] == "record":
        address = getattr(ctx.record, "email", "")
        return [address] if address else []
    if config["to"] == "contact":
        contact = getattr(ctx.record, "contact", None)
        return [contact.email] if contact is not None and contact.email else []
    return [u.email for u in _recipients(ctx, config["to"]) if u.email]


def _email_plan(ctx: RunContext, config: Config) -> str:
    return _("Email “%(subject)s” to %(to)s.") % {
        "subject": placeholders_fill(config["subject"], ctx),
        "to": ", ".join(_email_addresses(ctx, config)) or "-",
    }


def _email(ctx: RunContext, config: Config) -> str:
    addresses = _email_addresses(ctx, config)
    if not addresses:
        raise ValidationError(_("There is no email address to send to."))
    subject, body = placeholders_fill(config["subject"], ctx), placeholders_fill(config["body"], ctx)
    # sent once the run commits: a rolled-back run sends nothing
    transaction.on_commit(lambda: send_mail(subject, body, None, addresses, fail_silently=False))
    return _email_plan(ctx, config)


# --- tags and webhooks --------------------------------------------------------------------------


def _tag_validate(config: Config, model_label: str) -> Config:
    _needs_updater(model_label)
    model = model_of(model_label)
    if model is None or field_info(model, "tags") is None or not hasattr(model, "tags"):
        raise ValidationError(_("This kind of record has no tags."))
    return {"tag": tag_name_clean(config.get("tag"), field="tag")[0]}


def _tag_plan(ctx: RunContext, config: Config) -> str:
    return _("Add the tag “%(tag)s” to %(record)s.") % {"tag": config["tag"], "record": ctx.record}


def _tag(ctx: RunContext, config: Config) -> str:
    assert ctx.record is not None
    current: list[Tag] = list(ctx.record.tags.all())  # type: ignore[attr-defined]
    key = tag_name_clean(config["tag"], field="tag")[1]
    if key not in {t.name_key for t in current}:  # already tagged: nothing to do, nothing recorded
        _update(ctx, tags=[*(t.name for t in current), config["tag"]])
    return _tag_plan(ctx, config)


def _webhook_validate(config: Config, model_label: str) -> Config:
    from django.core.validators import URLValidator

    url = _text(config, "url", limit=500)
    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError:
        raise ValidationError(_("“url”: “%(url)s” is not a web address.") % {"url": url}) from None
    return {"url": url, "secret": str(config.get("secret") or "")}


def _webhook_plan(ctx: RunContext, config: Config) -> str:
    return _("POST the record as signed JSON to %(url)s.") % {"url": config["url"]}


def _webhook(ctx: RunContext, config: Config) -> str:
    from .webhooks import rule_call_queue

    assert ctx.run is not None
    rule_call_queue(run=ctx.run, url=config["url"], secret=config["secret"], record=ctx.record, event=ctx.event)
    return _webhook_plan(ctx, config)


def register() -> None:
    action_register(Action("set_field", gettext_lazy("Set a field"), _set_field_validate, _set_field_plan, _set_field))
    action_register(Action("assign", gettext_lazy("Assign to a team member"), _assign_validate, _assign_plan, _assign))
    action_register(
        Action(
            "create_task",
            gettext_lazy("Create a follow-up task"),
            _task_validate,
            _task_plan,
            _task,
            changes_record=False,
        )
    )
    action_register(
        Action(
            "notify",
            gettext_lazy("Send an in-app notification"),
            _notify_validate,
            _notify_plan,
            _notify,
            needs_record=False,
            changes_record=False,
            defers_writes=True,
        )
    )
    action_register(
        Action(
            "send_email",
            gettext_lazy("Send an email"),
            _email_validate,
            _email_plan,
            _email,
            needs_record=False,
            changes_record=False,
        )
    )
    action_register(Action("add_tag", gettext_lazy("Add a tag"), _tag_validate, _tag_plan, _tag))
    action_register(
        Action(
            "call_webhook",
            gettext_lazy("Call a webhook"),
            _webhook_validate,
            _webhook_plan,
            _webhook,
            needs_record=False,
            needs_run_row=True,
            changes_record=False,
        )
    )
