"""Every automation write: rules (with their versions), switching on/off, import/export, webhook
subscriptions and inbound endpoints. One transaction and one event each."""

from __future__ import annotations

import secrets
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils.text import slugify
from django.utils.translation import gettext as _

from guanxi.core.events import record_event

from .conditions import conditions_check
from .engine import index_invalidate, model_of, rule_definition_check, trigger_get
from .models import InboundWebhook, Rule, RuleVersion, WebhookSubscription

RULE_FIELDS = ("name", "description", "trigger", "trigger_config", "conditions", "actions")
EXPORT_FORMAT = "guanxi.automation.rules/1"


def _name(name: Any, *, exclude: int | None = None) -> str:
    text = " ".join(str(name or "").split())
    if not text:
        raise ValidationError({"name": _("Give the rule a name.")})
    if len(text) > 150:
        raise ValidationError({"name": _("The name is too long (150 characters at most).")})
    clash = Rule.objects.filter(name=text)
    if exclude:
        clash = clash.exclude(pk=exclude)
    if clash.exists():
        raise ValidationError({"name": _("A rule named “%(name)s” already exists.") % {"name": text}})
    return text


def _clean(values: dict[str, Any], *, exclude: int | None = None) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {"description": str(values.get("description") or "").strip()}
    try:
        cleaned["name"] = _name(values.get("name"), exclude=exclude)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    try:
        config, conditions, actions = rule_definition_check(
            trigger=str(values.get("trigger") or ""),
            trigger_config=values.get("trigger_config") or {},
            conditions=values.get("conditions") or {},
            actions=values.get("actions") or [],
        )
        cleaned.update(trigger=values["trigger"], trigger_config=config, conditions=conditions, actions=actions)
    except ValidationError as exc:
        for key, messages in exc.message_dict.items():
            errors.setdefault(key, []).extend(messages)
    if errors:
        raise ValidationError(errors)
    return cleaned


@transaction.atomic
def rule_create(*, actor: Any, active: bool = False, **values: Any) -> Rule:
    """Save a new rule after checking its trigger, conditions and actions against the record's fields."""
    cleaned = _clean(values)
    rule = Rule.objects.create(**cleaned, active=bool(active), created_by=actor, updated_by=actor)
    record_event(obj=rule, action="created", actor=actor, changes={k: [None, v] for k, v in cleaned.items() if v})
    transaction.on_commit(index_invalidate)
    return rule


def _summary(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    return [key for key in RULE_FIELDS if before.get(key) != after.get(key)]


@transaction.atomic
def rule_update(*, rule: Rule, actor: Any, **values: Any) -> Rule:
    """Change a rule; the definition it had is kept as a version (who, when, what changed)."""
    rule = Rule.objects.select_for_update().get(pk=rule.pk)
    before = rule.definition()
    merged = {**before, **{k: v for k, v in values.items() if k in RULE_FIELDS}}
    cleaned = _clean(merged, exclude=rule.pk)
    changed = _summary(before, cleaned)
    if not changed:
        return rule
    RuleVersion.objects.create(
        rule=rule, version=rule.version, definition=before, changed_by=actor, summary=", ".join(changed)
    )
    for key, value in cleaned.items():
        setattr(rule, key, value)
    rule.version += 1
    rule.updated_by = actor
    rule.save()
    record_event(obj=rule, action="updated", actor=actor, changes={k: [before.get(k), cleaned.get(k)] for k in changed})
    transaction.on_commit(index_invalidate)
    return rule


@transaction.atomic
def rule_set_active(*, rule: Rule, active: bool, actor: Any) -> Rule:
    """Switch a rule on or off. Switching on checks the rule again: a field, user, team or survey deleted
    since it was saved is refused here with the setting it concerns."""
    if active and trigger_get(rule.trigger) is None:
        raise ValidationError({"active": _("The trigger “%(kind)s” is not available.") % {"kind": rule.trigger}})
    fields = ["active", "updated_by", "updated_at"]
    if active:
        # a field or user deleted since the save is caught here; loaded definitions get their defaults
        cleaned = _clean(rule.definition(), exclude=rule.pk)
        for key in ("trigger_config", "conditions", "actions"):
            setattr(rule, key, cleaned[key])
        fields += ["trigger_config", "conditions", "actions"]
    if rule.active == active:
        return rule
    rule.active = active
    rule.updated_by = actor
    rule.save(update_fields=fields)
    record_event(obj=rule, action="status_changed", actor=actor, changes={"active": [not active, active]})
    transaction.on_commit(index_invalidate)
    return rule


@transaction.atomic
def rule_delete(*, rule: Rule, actor: Any) -> None:
    """Remove a rule with its versions and run log."""
    record_event(obj=rule, action="deleted", actor=actor, changes={"name": [rule.name, None]})
    rule.delete()
    transaction.on_commit(index_invalidate)


@transaction.atomic
def rule_restore_version(*, rule: Rule, version: RuleVersion, actor: Any) -> Rule:
    """Make an earlier version the current definition (itself kept as a new version)."""
    if version.rule_id != rule.pk:
        raise ValidationError({"version": _("That version belongs to another rule.")})
    return rule_update(rule=rule, actor=actor, **version.definition)


def rules_export(rules: Any) -> dict[str, Any]:
    """The rules as portable JSON (no ids, no run history); `rules_import` reads it back."""
    return {"format": EXPORT_FORMAT, "rules": [{**r.definition(), "active": r.active} for r in rules]}


@transaction.atomic
def rules_import(*, data: Any, actor: Any, replace: bool = False) -> list[Rule]:
    """Create (or with `replace`, update same-named) rules from an export; all or none.

    Errors name the rule and the field: {"rules[2] “Welcome”.actions": [...]}; a rule whose trigger or action
    is not available here (an app not installed) is refused like any other invalid rule. Imported rules start
    switched off unless the export said on.
    """
    if not isinstance(data, dict) or data.get("format") != EXPORT_FORMAT or not isinstance(data.get("rules"), list):
        raise ValidationError({"file": _("This is not a Guanxi rules export (format %(f)s).") % {"f": EXPORT_FORMAT}})
    errors: dict[str, list[str]] = {}
    made: list[Rule] = []
    seen: set[str] = set()
    for n, item in enumerate(data["rules"], start=1):
        label = _("rule %(n)s “%(name)s”") % {"n": n, "name": (item or {}).get("name", "")}
        if not isinstance(item, dict):
            errors[label] = [_("Each rule must be an object.")]
            continue
        if item.get("name") in seen:
            errors[f"{label}.name"] = [_("This name appears twice in the file.")]
            continue
        seen.add(str(item.get("name")))
        existing = Rule.objects.filter(name=" ".join(str(item.get("name") or "").split())).first()
        try:
            with transaction.atomic():
                if existing is not None and replace:
                    rule = rule_update(rule=existing, actor=actor, **item)
                elif existing is not None:
                    raise ValidationError({"name": _("A rule with this name exists; choose “replace”.")})
                else:
                    values: dict[str, Any] = {k: item.get(k) for k in RULE_FIELDS}
                    rule = rule_create(actor=actor, **values)
                if item.get("active"):
                    rule = rule_set_active(rule=rule, active=True, actor=actor)
                made.append(rule)
        except ValidationError as exc:
            for key, messages in exc.message_dict.items():
                errors.setdefault(f"{label}.{key}", []).extend(messages)
    if errors:
        raise ValidationError(errors)
    return made


# --- webhooks -------------------------------------------------------------------------------------


def _subscription_clean(values: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {}
    name = " ".join(str(values.get("name") or "").split())
    if not name:
        errors["name"] = [_("Give the subscription a name.")]
    cleaned["name"] = name[:150]
    url = str(values.get("url") or "").strip()
    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError:
        errors["url"] = [_("Enter a web address starting with http:// or https://.")]
    cleaned["url"] = url
    types = values.get("event_types") or []
    if isinstance(types, str):
        types = [t.strip() for t in types.replace("\n", ",").split(",") if t.strip()]
    bad = [t for t in types if t != "*" and len(t.split(".")) != 3]
    if not types or bad:
        errors["event_types"] = [
            _("List event types as app.model.action, e.g. customers.lead.created or customers.lead.*.")
        ]
    cleaned["event_types"] = types
    conditions = values.get("conditions") or {}
    if conditions and not errors.get("event_types"):
        models = {".".join(t.split(".")[:2]) for t in types}
        model = model_of(models.pop()) if len(models) == 1 and "*" not in types else None
        if model is None:
            errors["conditions"] = [_("Filter conditions need the event types to be about one kind of record.")]
        else:
            try:
                cleaned["conditions"] = conditions_check(conditions, model)
            except ValidationError as exc:
                errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    return cleaned


@transaction.atomic
def subscription_create(*, actor: Any, secret: str = "", **values: Any) -> WebhookSubscription:
    """Subscribe a URL to event types; it receives signed JSON. The secret is generated unless given."""
    cleaned = _subscription_clean(values)
    sub = WebhookSubscription.objects.create(**cleaned, secret=secret or secrets.token_urlsafe(32), created_by=actor)
    record_event(obj=sub, action="created", actor=actor, changes={"url": [None, sub.url]})
    return sub


@transaction.atomic
def subscription_update(*, subscription: WebhookSubscription, actor: Any, **values: Any) -> WebhookSubscription:
    """Change a subscription; switching it back on clears its failure count."""
    sub = subscription
    current = {"name": sub.name, "url": sub.url, "event_types": sub.event_types, "conditions": sub.conditions}
    cleaned = _subscription_clean({**current, **{k: v for k, v in values.items() if k in current}})
    changes = {k: [current[k], v] for k, v in cleaned.items() if current.get(k) != v}
    for key, value in cleaned.items():
        setattr(sub, key, value)
    if "active" in values and bool(values["active"]) != sub.active:
        changes["active"] = [sub.active, bool(values["active"])]
        sub.active = bool(values["active"])
        if sub.active:
            sub.failure_count, sub.disabled_at = 0, None
    sub.save()
    if changes:
        record_event(obj=sub, action="updated", actor=actor, changes=changes)
    return sub


@transaction.atomic
def subscription_delete(*, subscription: WebhookSubscription, actor: Any) -> None:
    """Remove a subscription and its delivery log."""
    record_event(obj=subscription, action="deleted", actor=actor, changes={"url": [subscription.url, None]})
    subscription.delete()


def _inbound_clean(values: dict[str, Any], *, exclude: int | None = None) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    name = " ".join(str(values.get("name") or "").split())
    if not name:
        errors["name"] = [_("Give the endpoint a name.")]
    slug = slugify(values.get("slug") or name)[:60]
    if not slug:
        errors["slug"] = [_("Use letters, digits and hyphens for the address.")]
    elif InboundWebhook.objects.filter(slug=slug).exclude(pk=exclude or 0).exists():
        errors["slug"] = [_("Another endpoint uses the address “%(slug)s”.") % {"slug": slug}]
    target = values.get("target") or InboundWebhook.Target.LEAD_CREATE
    if target not in InboundWebhook.Target.values:
        errors["target"] = [_("Unknown target action “%(target)s”.") % {"target": target}]
    mapping = values.get("field_mapping") or {}
    if not isinstance(mapping, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in mapping.items()):
        errors["field_mapping"] = [_("The mapping is an object of payload key → field name.")]
    if errors:
        raise ValidationError(errors)
    return {"name": name[:150], "slug": slug, "target": target, "field_mapping": mapping}


@transaction.atomic
def inbound_create(*, actor: Any, **values: Any) -> InboundWebhook:
    """Open an inbound endpoint with its own secret; posts act as the creating administrator."""
    cleaned = _inbound_clean(values)
    hook = InboundWebhook.objects.create(**cleaned, secret=secrets.token_urlsafe(32), run_as=actor)
    record_event(obj=hook, action="created", actor=actor, changes={"slug": [None, hook.slug]})
    return hook


@transaction.atomic
def inbound_update(*, hook: InboundWebhook, actor: Any, **values: Any) -> InboundWebhook:
    """Change an endpoint (name, address, target, mapping, on/off)."""
    current = {"name": hook.name, "slug": hook.slug, "target": hook.target, "field_mapping": hook.field_mapping}
    cleaned = _inbound_clean({**current, **{k: v for k, v in values.items() if k in current}}, exclude=hook.pk)
    changes = {k: [current[k], v] for k, v in cleaned.items() if current[k] != v}
    for key, value in cleaned.items():
        setattr(hook, key, value)
    if "active" in values and bool(values["active"]) != hook.active:
        changes["active"] = [hook.active, bool(values["active"])]
        hook.active = bool(values["active"])
    hook.save()
    if changes:
        record_event(obj=hook, action="updated", actor=actor, changes=changes)
    return hook


@transaction.atomic
def inbound_delete(*, hook: InboundWebhook, actor: Any) -> None:
    """Close an inbound endpoint."""
    record_event(obj=hook, action="deleted", actor=actor, changes={"slug": [hook.slug, None]})
    hook.delete()
