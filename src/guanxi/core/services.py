"""Every write in core: one function per business action, one transaction, one event."""

from __future__ import annotations

import csv
import hashlib
import re
import secrets
import unicodedata
import uuid
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import F, Q
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext as _

from . import customfields
from .events import field_changes, record_event, snapshot
from .models import (
    ApiToken,
    CustomField,
    Event,
    FieldRule,
    ImportBatch,
    ImportTemplate,
    Job,
    ListLayout,
    Notification,
    SavedView,
    Tag,
    Team,
    User,
)
from .roles import ROLES

USER_FIELDS = ("email", "full_name", "phone", "language", "is_active")
TEAM_FIELDS = ("name", "parent_id", "manager_id")
TOKEN_PREFIX = "gx"


def _clean_email(email: str) -> str:
    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationError({"email": _("Enter a valid email address.")}) from None
    return email


def _check_roles(roles: list[str]) -> list[Group]:
    unknown = sorted(set(roles) - set(ROLES))
    if unknown:
        raise ValidationError({"roles": _("Unknown role: %(roles)s.") % {"roles": ", ".join(unknown)}})
    return list(Group.objects.filter(name__in=roles))


# --- users ------------------------------------------------------------------------------------


@transaction.atomic
def user_create(
    *,
    email: str,
    full_name: str,
    password: str | None,
    actor: Any,
    phone: str = "",
    language: str = "",
    roles: list[str] | None = None,
    teams: list[Team] | None = None,
    is_superuser: bool = False,
) -> User:
    """Create a member of staff with roles and teams; the password is checked against the password rules."""
    email = _clean_email(email)
    if User.objects.filter(email=email).exists():
        raise ValidationError({"email": _("A user with this email already exists.")})
    if not (full_name or "").strip():
        raise ValidationError({"full_name": _("This field is required.")})
    groups = _check_roles(roles or [])
    user = User(email=email, full_name=full_name.strip(), phone=phone.strip(), language=language)
    user.is_superuser = user.is_staff = is_superuser
    if password:
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise ValidationError({"password": exc.messages}) from None
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.save()
    user.groups.set(groups)
    if teams:
        user.teams.set(teams)
    record_event(
        obj=user,
        action="created",
        actor=actor,
        data={"roles": sorted(roles or []), "teams": [t.pk for t in teams or []]},
    )
    return user


@transaction.atomic
def user_update(
    *, user: User, actor: Any, roles: list[str] | None = None, teams: list[Team] | None = None, **fields: Any
) -> User:
    """Change a user's profile, roles or teams; records what changed."""
    unknown = set(fields) - set(USER_FIELDS)
    if unknown:
        raise ValidationError({sorted(unknown)[0]: _("This field cannot be changed.")})
    if "email" in fields:
        fields["email"] = _clean_email(fields["email"])
        if User.objects.filter(email=fields["email"]).exclude(pk=user.pk).exists():
            raise ValidationError({"email": _("A user with this email already exists.")})
    if "full_name" in fields and not (fields["full_name"] or "").strip():
        raise ValidationError({"full_name": _("This field is required.")})
    if fields.get("is_active") is False and user == actor:
        raise ValidationError({"is_active": _("You cannot deactivate your own account.")})
    before = snapshot(user, USER_FIELDS)
    for name, value in fields.items():
        setattr(user, name, value)
    user.save()
    changes = field_changes(user, before, USER_FIELDS)
    if roles is not None:
        old = sorted(user.groups.values_list("name", flat=True))
        user.groups.set(_check_roles(roles))
        if old != sorted(roles):
            changes["roles"] = [old, sorted(roles)]
    if teams is not None:
        old_teams = sorted(user.teams.values_list("id", flat=True))
        user.teams.set(teams)
        if old_teams != sorted(t.pk for t in teams):
            changes["teams"] = [old_teams, sorted(t.pk for t in teams)]
    if changes:
        record_event(obj=user, action="updated", actor=actor, changes=changes)
    for cached in ("sees_everything", "scope_team_ids", "role_names"):
        user.__dict__.pop(cached, None)
    return user


@transaction.atomic
def user_set_language(*, user: User, language: str) -> User:
    """Remember the user's interface language."""
    if language not in dict(settings.LANGUAGES):
        raise ValidationError({"language": _("Unsupported language.")})
    if user.language != language:
        before = user.language
        user.language = language
        user.save(update_fields=["language"])
        record_event(obj=user, action="updated", actor=user, changes={"language": [before, language]})
    return user


@transaction.atomic
def user_change_password(*, user: User, old_password: str, new_password: str) -> User:
    """Change one's own password after proving the old one."""
    if not user.check_password(old_password):
        raise ValidationError({"old_password": _("Your old password was entered incorrectly.")})
    try:
        validate_password(new_password, user)
    except ValidationError as exc:
        raise ValidationError({"new_password": exc.messages}) from None
    user.set_password(new_password)
    user.save(update_fields=["password"])
    record_event(obj=user, action="password_changed", actor=user)
    return user


@transaction.atomic
def user_set_password(*, user: User, password: str, actor: Any) -> User:
    """An administrator sets a user's password (checked against the password rules)."""
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise ValidationError({"password": exc.messages}) from None
    user.set_password(password)
    user.save(update_fields=["password"])
    record_event(obj=user, action="password_changed", actor=actor)
    return user


@transaction.atomic
def user_unlock(*, user: User, actor: Any) -> User:
    """Lift a login lockout before it expires."""
    User.objects.filter(pk=user.pk).update(failed_logins=0, locked_until=None)
    user.refresh_from_db(fields=["failed_logins", "locked_until"])
    record_event(obj=user, action="unlocked", actor=actor)
    return user


@transaction.atomic
def login_failed(*, user: User) -> User:
    """Count a failed login; at the limit, lock the account and record it."""
    User.objects.filter(pk=user.pk).update(failed_logins=F("failed_logins") + 1)
    user.refresh_from_db(fields=["failed_logins", "locked_until"])
    if user.failed_logins >= settings.LOGIN_MAX_FAILURES:
        user.locked_until = timezone.now() + timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES)
        user.failed_logins = 0
        user.save(update_fields=["locked_until", "failed_logins"])
        record_event(obj=user, action="locked", actor=None, data={"until": user.locked_until.isoformat()})
    return user


def login_succeeded(*, user: User) -> None:
    """Clear the failure count after a good login."""
    if user.failed_logins or user.locked_until:
        User.objects.filter(pk=user.pk).update(failed_logins=0, locked_until=None)


# --- teams ------------------------------------------------------------------------------------


def _check_team(team: Team) -> None:
    if not (team.name or "").strip():
        raise ValidationError({"name": _("This field is required.")})
    if Team.objects.filter(name=team.name).exclude(pk=team.pk).exists():
        raise ValidationError({"name": _("A team with this name already exists.")})
    ancestor = team.parent
    while ancestor is not None:
        if ancestor.pk == team.pk:
            raise ValidationError({"parent": _("A team cannot sit below itself.")})
        ancestor = ancestor.parent


@transaction.atomic
def team_create(
    *,
    name: str,
    actor: Any,
    parent: Team | None = None,
    manager: User | None = None,
    members: list[User] | None = None,
) -> Team:
    """Create a team, optionally below a parent team, with a manager and members."""
    team = Team(name=(name or "").strip(), parent=parent, manager=manager)
    _check_team(team)
    team.save()
    if members:
        team.members.set(members)
    record_event(obj=team, action="created", actor=actor, data={"members": [m.pk for m in members or []]})
    return team


@transaction.atomic
def team_update(*, team: Team, actor: Any, members: list[User] | None = None, **fields: Any) -> Team:
    """Rename, re-parent, change the manager or the members of a team."""
    before = snapshot(team, TEAM_FIELDS)
    for name, value in fields.items():
        if name not in {"name", "parent", "manager"}:
            raise ValidationError({name: _("This field cannot be changed.")})
        setattr(team, name, value.strip() if name == "name" else value)
    _check_team(team)
    team.save()
    changes = field_changes(team, before, TEAM_FIELDS)
    if members is not None:
        old = sorted(team.members.values_list("id", flat=True))
        team.members.set(members)
        if old != sorted(m.pk for m in members):
            changes["members"] = [old, sorted(m.pk for m in members)]
    if changes:
        record_event(obj=team, action="updated", actor=actor, changes=changes)
    return team


@transaction.atomic
def role_set_permissions(*, role: Group, permissions: list[Any], actor: Any) -> Group:
    """Replace the permissions a role carries; records which were added and removed."""
    if role.name not in ROLES:
        raise ValidationError({"role": _("Unknown role: %(roles)s.") % {"roles": role.name}})
    before = {f"{p.content_type.app_label}.{p.codename}" for p in role.permissions.select_related("content_type")}
    role.permissions.set(permissions)
    after = {f"{p.content_type.app_label}.{p.codename}" for p in role.permissions.select_related("content_type")}
    if before != after:
        record_event(obj=role, action="updated", actor=actor, changes={"permissions": [sorted(before), sorted(after)]})
    return role


# --- API tokens -------------------------------------------------------------------------------


def token_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@transaction.atomic
def token_create(*, user: User, name: str, expires_at: datetime | None = None) -> tuple[ApiToken, str]:
    """Issue a personal API token; returns the row and the plaintext, which is never stored."""
    if not (name or "").strip():
        raise ValidationError({"name": _("This field is required.")})
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError({"expires_at": _("The expiry must be in the future.")})
    prefix = secrets.token_hex(4)
    secret = secrets.token_urlsafe(32)
    plaintext = f"{TOKEN_PREFIX}_{prefix}_{secret}"
    token = ApiToken.objects.create(
        user=user, name=name.strip(), prefix=prefix, digest=token_digest(plaintext), expires_at=expires_at
    )
    record_event(obj=token, action="created", actor=user, data={"user": user.pk})
    return token, plaintext


@transaction.atomic
def token_revoke(*, token: ApiToken, actor: Any) -> ApiToken:
    """Revoke a token at once; requests that carry it are refused from now on."""
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        record_event(obj=token, action="revoked", actor=actor)
    return token


def token_authenticate(plaintext: str) -> tuple[ApiToken | None, str]:
    """The token a bearer string names and, when unusable, why (`invalid`, `revoked`, `expired`)."""
    parts = (plaintext or "").split("_", 2)
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX:
        return None, "invalid"
    token = ApiToken.objects.select_related("user").filter(prefix=parts[1]).first()
    if token is None or not secrets.compare_digest(token.digest, token_digest(plaintext)):
        return None, "invalid"
    if token.revoked_at is not None:
        return None, "revoked"
    if token.expires_at is not None and token.expires_at <= timezone.now():
        return None, "expired"
    if not token.user.is_active:
        return None, "invalid"
    if token.last_used_at is None or timezone.now() - token.last_used_at > timedelta(minutes=1):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
    return token, ""


# --- notifications ----------------------------------------------------------------------------


def notification_send(
    *, recipient: User, title: str, params: dict[str, Any] | None = None, url: str = "", event: Event | None = None
) -> Notification:
    """Put a message in the user's notification list; once per event when an event is given.

    `title` is an untranslated message (mark it with gettext_noop) shown in the reader's language.
    """
    if event is not None:
        notification, _created = Notification.objects.get_or_create(
            recipient=recipient, event=event, defaults={"title": title, "params": params or {}, "url": url}
        )
        return notification
    return Notification.objects.create(recipient=recipient, title=title, params=params or {}, url=url)


def notifications_send_many(*, notifications: list[Notification]) -> None:
    """Put many messages at once (a batch of automation runs); once per (recipient, event): one already there stays."""
    Notification.objects.bulk_create(notifications, ignore_conflicts=True, batch_size=500)


def notifications_mark_read(*, recipient: User, ids: list[int] | None = None) -> int:
    """Mark the given notifications (or all) of this user as read; returns how many changed."""
    unread = Notification.objects.filter(recipient=recipient, read_at__isnull=True)
    if ids is not None:
        unread = unread.filter(pk__in=ids)
    return unread.update(read_at=timezone.now())


# --- list views -------------------------------------------------------------------------------

SAVED_VIEW_TRACKED = ("name", "query", "team_id", "is_default")


def _view_query(list_name: str, query: str, owner: User) -> str:
    """A saved view's query string, checked against its list and put in canonical form."""
    from django.http import QueryDict

    from .listviews import list_query_parse, list_spec_named

    spec = list_spec_named(list_name)
    if spec is None:
        raise ValidationError({"list_name": _("Unknown list.")})
    try:
        return list_query_parse(spec, QueryDict(query or ""), owner).view_query()
    except ValidationError as exc:
        messages = [f"{name}: {m}" for name, ms in exc.message_dict.items() for m in ms]
        raise ValidationError({"query": messages}) from None


def _view_name(name: str, *, owner: User, list_name: str, exclude: int | None = None) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise ValidationError({"name": _("Give the view a name.")})
    if len(name) > 100:
        raise ValidationError({"name": _("Use at most 100 characters.")})
    taken = SavedView.objects.filter(owner=owner, list_name=list_name, name=name).exclude(pk=exclude or 0)
    if taken.exists():
        raise ValidationError({"name": _("You already have a view with this name on this list.")})
    return name


def _share_team(owner: User, shared: bool) -> Team | None:
    if not shared:
        return None
    team = owner.teams.order_by("id").first()
    if team is None:
        raise ValidationError({"shared": _("You are in no team, so there is nobody to share this view with.")})
    return team


def _only_default(view: SavedView) -> None:
    if view.is_default:
        others = SavedView.objects.filter(owner=view.owner_id, list_name=view.list_name, is_default=True)
        others.exclude(pk=view.pk).update(is_default=False)


@transaction.atomic
def saved_view_create(
    *, owner: User, list_name: str, name: str, query: str, shared: bool = False, is_default: bool = False
) -> SavedView:
    """Save a list view under a name, private or shared with the owner's (first) team; one default per list."""
    query = _view_query(list_name, query, owner)
    view = SavedView(
        owner=owner,
        list_name=list_name,
        name=_view_name(name, owner=owner, list_name=list_name),
        query=query,
        team=_share_team(owner, shared),
        is_default=is_default,
    )
    if is_default:
        SavedView.objects.filter(owner=owner, list_name=list_name, is_default=True).update(is_default=False)
    view.save()
    changes = {k: [None, getattr(view, k)] for k in SAVED_VIEW_TRACKED if getattr(view, k) not in ("", None, False)}
    record_event(obj=view, action="created", actor=owner, changes=changes, data={"list": list_name})
    return view


@transaction.atomic
def saved_view_update(
    *,
    view: SavedView,
    actor: User,
    name: str | None = None,
    query: str | None = None,
    shared: bool | None = None,
    is_default: bool | None = None,
) -> SavedView:
    """Rename a view, replace its filters, share or unshare it, or make it the default; only its owner may."""
    if view.owner_id != actor.pk:
        raise ValidationError({"owner": _("Only the owner of a view can change it.")})
    before = snapshot(view, SAVED_VIEW_TRACKED)
    if name is not None:
        view.name = _view_name(name, owner=actor, list_name=view.list_name, exclude=view.pk)
    if query is not None:
        view.query = _view_query(view.list_name, query, actor)
    if shared is not None and shared != view.is_shared:
        view.team = _share_team(actor, shared)
    if is_default is not None:
        view.is_default = is_default
    _only_default(view)
    view.save()
    changes = field_changes(view, before, SAVED_VIEW_TRACKED)
    if changes:
        record_event(obj=view, action="updated", actor=actor, changes=changes)
    return view


@transaction.atomic
def saved_view_delete(*, view: SavedView, actor: User) -> None:
    """Delete a saved view; only its owner may."""
    if view.owner_id != actor.pk:
        raise ValidationError({"owner": _("Only the owner of a view can delete it.")})
    record_event(obj=view, action="deleted", actor=actor, data={"list": view.list_name, "name": view.name})
    view.delete()


def list_layout_set(*, user: User, list_name: str, columns: list[str]) -> ListLayout:
    """Remember which columns (in order) a user wants on a list.

    A display preference, like the language: it changes no record anyone else sees, so it records no event.
    """
    from .listviews import list_spec_named

    spec = list_spec_named(list_name)
    if spec is None:
        raise ValidationError({"list_name": _("Unknown list.")})
    known = spec.all_columns()
    unknown = [c for c in columns if c not in known]
    if unknown:
        raise ValidationError({"cols": _("Unknown column: %(names)s.") % {"names": ", ".join(unknown)}})
    if not columns:
        raise ValidationError({"cols": _("Choose at least one column.")})
    layout, _created = ListLayout.objects.update_or_create(
        user=user, list_name=list_name, defaults={"columns": list(dict.fromkeys(columns))}
    )
    return layout


# --- imports ----------------------------------------------------------------------------------

IMPORT_REPORT_LIMIT = 20_000  # problems and duplicates kept for the report; counts are always complete
IMPORT_SAMPLES = 5


def _import_kind(record_type: str, actor: Any) -> Any:
    from .imports import import_types

    kind = import_types().get(record_type)
    if kind is None:
        raise ValidationError({"record_type": _("Choose what the file holds: contacts, accounts or leads.")})
    if not actor.has_perm("core.add_importbatch") or not actor.has_perm(kind.permission):
        raise PermissionDenied
    return kind


def _template_for(*, actor: Any, record_type: str, headers: list[str]) -> ImportTemplate | None:
    """The actor's (or a shared) template for this type that knows most of the file's headers, if any."""
    best, best_score = None, 0
    for template in ImportTemplate.objects.filter(Q(owner=actor) | Q(owner__isnull=True), record_type=record_type):
        score = sum(1 for h in headers if template.mapping.get(h))
        if score > best_score or (score == best_score and best is not None and template.owner_id == actor.pk):
            best, best_score = template, score
    return best if best_score * 2 >= max(1, len(headers)) else None


def import_mapping_check(*, kind: Any, headers: list[str], mapping: dict[str, str]) -> dict[str, str]:
    """A mapping the file and the record type accept: known headers, known targets, no target twice."""
    targets = kind.targets()
    cleaned: dict[str, str] = {}
    errors: dict[str, list[str]] = {}
    used: dict[str, str] = {}
    for header in headers:
        target = (mapping.get(header) or "").strip()
        if target and target not in targets:
            errors.setdefault("mapping", []).append(
                _("“%(target)s” is not a field you can import into.") % {"target": target[:60]}
            )
            continue
        if target and target in used:
            errors.setdefault("mapping", []).append(
                _("Columns “%(first)s” and “%(second)s” both go to %(field)s; choose one.")
                % {"first": used[target], "second": header, "field": targets[target]}
            )
            continue
        if target:
            used[target] = header
        cleaned[header] = target
    unknown = sorted(set(mapping) - set(headers))
    if unknown:
        errors.setdefault("mapping", []).append(
            _("The file has no column named “%(column)s”.") % {"column": unknown[0][:60]}
        )
    if not used and not errors:
        errors["mapping"] = [_("Choose a field for at least one column.")]
    if errors:
        raise ValidationError(errors)
    return cleaned


def import_upload(
    *,
    actor: Any,
    record_type: str,
    upload: Any,
    template: ImportTemplate | None = None,
    mapping: dict[str, str] | None = None,
    sheet: str = "",
) -> ImportBatch:
    """Store an uploaded file, read its header row and a few samples, and propose a column mapping.

    Nothing is imported yet. A file that cannot be read (too big, no header row, unknown format, a
    wrong encoding) is refused with a message on `file`, and not kept.
    """
    from .imports import FORMULA_MARK, file_format, imports_dir, max_bytes, propose_mapping, read_table

    kind = _import_kind(record_type, actor)
    name = Path(str(getattr(upload, "name", "") or "upload")).name[:200]
    size = int(getattr(upload, "size", 0) or 0)
    limit = max_bytes()
    if size > limit:
        raise ValidationError(
            {
                "file": _("The file is %(size)s; the limit is %(limit)s. Split it into smaller files.")
                % {"size": filesizeformat(size), "limit": filesizeformat(limit)}
            }
        )
    fmt = file_format(name)
    stored = f"{uuid.uuid4().hex}.{fmt}"
    path = imports_dir() / stored
    with path.open("wb") as out:
        for chunk in upload.chunks() if hasattr(upload, "chunks") else [upload.read()]:
            out.write(chunk)
    try:
        table = read_table(path, fmt=fmt, sheet=sheet)
        samples: list[list[str]] = []
        for _number, cells in table.rows():
            samples.append([c.removeprefix(FORMULA_MARK) for c in cells[: len(table.headers)]])
            if len(samples) >= IMPORT_SAMPLES:
                break
        if template is not None and (template.record_type != record_type or template.owner_id not in (None, actor.pk)):
            raise ValidationError({"template": _("This template is for another record type or another user.")})
        template = template or _template_for(actor=actor, record_type=record_type, headers=table.headers)
        proposed = propose_mapping(kind=kind, headers=table.headers, template=template.mapping if template else None)
        if mapping:
            proposed = import_mapping_check(kind=kind, headers=table.headers, mapping={**proposed, **mapping})
        with transaction.atomic():
            batch = ImportBatch.objects.create(
                owner=actor,
                team=actor.teams.order_by("id").first(),
                record_type=record_type,
                file_name=name,
                file_format=fmt,
                file_size=path.stat().st_size,
                stored_name=stored,
                encoding=table.encoding,
                sheet=table.sheet,
                headers=table.headers,
                samples=samples,
                mapping=proposed,
                template=template,
            )
            record_event(obj=batch, action="created", actor=actor, data={"record_type": record_type, "file": name})
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return batch


@transaction.atomic
def import_map(
    *, batch: ImportBatch, actor: Any, mapping: dict[str, str], skip_bad_rows: bool | None = None
) -> ImportBatch:
    """Set the column mapping (and the bad-row choice) of an import that has not run; the dry run is redone."""
    kind = _import_kind(batch.record_type, actor)
    _import_editable(batch)
    batch.mapping = import_mapping_check(kind=kind, headers=batch.headers, mapping=mapping)
    if skip_bad_rows is not None:
        batch.skip_bad_rows = skip_bad_rows
    batch.state = ImportBatch.State.UPLOADED
    batch.save(update_fields=["mapping", "skip_bad_rows", "state"])
    return batch


def _import_editable(batch: ImportBatch) -> None:
    if batch.state not in (ImportBatch.State.UPLOADED, ImportBatch.State.CHECKED):
        raise ValidationError({"state": _("This import has already run; upload the file again to change it.")})


@transaction.atomic
def import_check_start(*, batch: ImportBatch, actor: Any) -> Job:
    """Queue the dry run of an uploaded file as a job (the page's way; the API runs it at once)."""
    from .jobs import job_start

    _import_kind(batch.record_type, actor)
    _import_editable(batch)
    job = job_start(kind="core.import_check", actor=actor, params={"batch": batch.pk})
    batch.state, batch.job, batch.error = ImportBatch.State.CHECKING, job, ""
    batch.save(update_fields=["state", "job", "error"])
    return job


def import_check(*, batch: ImportBatch, actor: Any, progress: Any = None) -> ImportBatch:
    """The dry run: clean every row and report every bad value and likely duplicate. Writes no records."""
    kind = _import_kind(batch.record_type, actor)
    if batch.state != ImportBatch.State.CHECKING:
        _import_editable(batch)
    ImportBatch.objects.filter(pk=batch.pk).update(state=ImportBatch.State.CHECKING)
    try:
        result = kind.check(batch, progress or (lambda done, total, message: None))
    except ValidationError as exc:
        message = " ".join(str(m) for messages in exc.message_dict.values() for m in messages)
        ImportBatch.objects.filter(pk=batch.pk).update(state=ImportBatch.State.UPLOADED, error=message[:5000])
        batch.state, batch.error = ImportBatch.State.UPLOADED, message[:5000]
        raise
    with transaction.atomic():
        batch.error = ""
        batch.total_rows, batch.good_rows, batch.bad_rows = result.total, result.good, len(result.bad_rows)
        batch.problems = [[p.row, p.field, p.message] for p in result.problems[:IMPORT_REPORT_LIMIT]]
        batch.duplicates = [vars(d) for d in result.duplicates[:IMPORT_REPORT_LIMIT]]
        batch.duplicate_rows = len({d.row for d in result.duplicates})
        batch.state = ImportBatch.State.CHECKED
        batch.checked_at = timezone.now()
        batch.save(
            update_fields=[
                "total_rows",
                "good_rows",
                "bad_rows",
                "problems",
                "duplicates",
                "duplicate_rows",
                "state",
                "checked_at",
                "error",
            ]
        )
        record_event(
            obj=batch,
            action="checked",
            actor=actor,
            data={"rows": batch.total_rows, "bad_rows": batch.bad_rows, "duplicates": batch.duplicate_rows},
        )
    return batch


@transaction.atomic
def import_run_start(*, batch: ImportBatch, actor: Any, skip_bad_rows: bool | None = None) -> Job:
    """Queue the import of a checked file as a job. With bad rows, only when the user chose to skip them."""
    from .jobs import job_start

    _import_kind(batch.record_type, actor)
    batch = ImportBatch.objects.select_for_update().get(pk=batch.pk)
    if batch.state != ImportBatch.State.CHECKED:
        raise ValidationError({"state": _("Run the dry run first; only a checked file can be imported.")})
    if skip_bad_rows is not None:
        batch.skip_bad_rows = skip_bad_rows
    if batch.bad_rows and not batch.skip_bad_rows:
        raise ValidationError(
            {
                "skip_bad_rows": _(
                    "%(count)s rows have problems. Fix them in the file and upload it again, "
                    "or choose to skip the bad rows."
                )
                % {"count": batch.bad_rows}
            }
        )
    if not batch.good_rows:
        raise ValidationError({"file": _("No row can be imported.")})
    job = job_start(kind="core.import_run", actor=actor, params={"batch": batch.pk})
    batch.state, batch.job = ImportBatch.State.IMPORTING, job
    batch.save(update_fields=["state", "skip_bad_rows", "job"])
    return job


def import_run(*, batch: ImportBatch, progress: Any) -> dict[str, Any]:
    """Write the whole file in one transaction: all of it, or (skipping bad rows) all its good rows, or nothing."""
    from .imports import cleaned_forget, import_types

    kind = import_types()[batch.record_type]
    actor = User.objects.get(pk=batch.owner_id or 0)
    try:
        with transaction.atomic():
            written = kind.write(batch, progress)
            bad = written.pop("bad_rows", [])
            batch.error_file = _import_error_file(batch, bad) if bad else ""
            batch.created_count, batch.skipped_count = written["created"], len(bad)
            batch.result = written
            batch.state, batch.finished_at = ImportBatch.State.DONE, timezone.now()
            batch.save(update_fields=["error_file", "created_count", "skipped_count", "result", "state", "finished_at"])
            _import_remember(batch, actor)
            record_event(obj=batch, action="imported", actor=actor, data={**written, "skipped": len(bad)})
    except ValidationError as exc:
        message = " ".join(str(m) for messages in exc.message_dict.values() for m in messages)
        _import_failed(batch, actor, message)
        raise
    except Exception as exc:
        _import_failed(batch, actor, f"{type(exc).__name__}: {exc}")
        raise
    finally:
        if batch.state in (ImportBatch.State.DONE, ImportBatch.State.FAILED):
            batch.stored_path.unlink(missing_ok=True)
            cleaned_forget(batch)  # the dry run's cleaned rows go with the file
    return {"batch": batch.pk, **batch.result, "file": batch.error_file} if batch.error_file else {"batch": batch.pk}


@transaction.atomic
def _import_failed(batch: ImportBatch, actor: Any, message: str) -> None:
    batch.state, batch.error, batch.finished_at = ImportBatch.State.FAILED, message[:5000], timezone.now()
    batch.save(update_fields=["state", "error", "finished_at"])
    record_event(obj=batch, action="import_failed", actor=actor, data={"error": message[:500]})


def _import_error_file(batch: ImportBatch, bad: list[tuple[int, list[str], str]]) -> str:
    """The skipped rows as CSV (UTF-8 with BOM, so Excel opens it): original columns, the row number, the problem."""
    folder = Path(settings.VAR_DIR) / "exports"
    folder.mkdir(parents=True, exist_ok=True)
    name = f"import-{batch.pk}-errors.csv"
    with open(folder / name, "w", newline="", encoding="utf-8-sig") as out:
        writer = csv.writer(out)
        writer.writerow([*batch.headers, _("row"), _("error")])
        width = len(batch.headers)
        for number, cells, message in bad:
            writer.writerow([*(cells + [""] * width)[:width], number, message])
    return name


def _import_remember(batch: ImportBatch, actor: Any) -> None:
    """Keep the mapping that worked as the owner's template, so the next file with these headers maps itself."""
    mapping = {header: target for header, target in batch.mapping.items() if target}
    if batch.template is not None and batch.template.owner_id == actor.pk:
        batch.template.mapping = {**batch.template.mapping, **mapping}
        batch.template.save(update_fields=["mapping", "updated_at"])
        return
    name = _("Remembered from %(file)s") % {"file": batch.file_name}
    template, _created = ImportTemplate.objects.update_or_create(
        owner=actor, record_type=batch.record_type, name=name[:120], defaults={"mapping": mapping}
    )
    batch.template = template
    batch.save(update_fields=["template"])


def import_may_undo(batch: ImportBatch, user: Any) -> bool:
    return batch.state == ImportBatch.State.DONE and (batch.owner_id == user.pk or user.sees_everything)


@transaction.atomic
def import_undo(*, batch: ImportBatch, actor: Any) -> ImportBatch:
    """Remove the records a finished import created that nobody has changed since; report what was kept."""
    from .imports import import_types

    batch = ImportBatch.objects.select_for_update().get(pk=batch.pk)
    if batch.owner_id != actor.pk and not actor.sees_everything:
        raise PermissionDenied
    if batch.state != ImportBatch.State.DONE:
        raise ValidationError({"state": _("Only a finished import can be undone.")})
    outcome = import_types()[batch.record_type].undo(batch, actor)
    batch.removed_count, batch.kept_count = outcome["removed"], outcome["kept"]
    batch.state, batch.undone_at = ImportBatch.State.UNDONE, timezone.now()
    batch.save(update_fields=["removed_count", "kept_count", "state", "undone_at"])
    record_event(obj=batch, action="undone", actor=actor, data=outcome)
    return batch


@transaction.atomic
def import_template_save(
    *,
    actor: Any,
    record_type: str,
    name: str,
    mapping: dict[str, str],
    shared: bool = False,
    template: ImportTemplate | None = None,
) -> ImportTemplate:
    """Create or change a named header → field mapping; shared templates (for everyone) need an administrator."""
    from .imports import import_types

    kind = import_types().get(record_type)
    if kind is None:
        raise ValidationError({"record_type": _("Choose what the file holds: contacts, accounts or leads.")})
    name = " ".join((name or "").split())
    if not name:
        raise ValidationError({"name": _("Give the template a name.")})
    if shared and not actor.sees_everything:
        raise ValidationError({"shared": _("Only an administrator can share a template with everyone.")})
    targets = kind.targets()
    bad = sorted({t for t in mapping.values() if t and t not in targets})
    if bad:
        raise ValidationError({"mapping": _("“%(target)s” is not a field you can import into.") % {"target": bad[0]}})
    owner = None if shared else actor
    clash = ImportTemplate.objects.filter(owner=owner, record_type=record_type, name=name)
    if template is not None:
        clash = clash.exclude(pk=template.pk)
    if clash.exists():
        raise ValidationError({"name": _("You already have a template with this name.")})
    template = template or ImportTemplate()
    action = "updated" if template.pk else "created"
    template.owner, template.record_type, template.name = owner, record_type, name[:120]
    template.mapping = {str(k): str(v) for k, v in mapping.items() if v}
    template.save()
    record_event(obj=template, action=action, actor=actor, data={"record_type": record_type})
    return template


@transaction.atomic
def import_template_delete(*, template: ImportTemplate, actor: Any) -> None:
    """Forget a template (imports that used it keep their mapping)."""
    record_event(obj=template, action="deleted", actor=actor, data={"name": template.name})
    template.delete()


# --- custom fields ----------------------------------------------------------------------------

CUSTOM_FIELD_EDITABLE = (
    "label",
    "label_en",
    "choices",
    "required",
    "unique",
    "rules",
    "help_text",
    "position",
    "active",
)
CUSTOM_FIELD_TRACKED = ("record_type", "key", "kind", *CUSTOM_FIELD_EDITABLE)
_RULES_FOR_KIND: dict[str, set[str]] = {
    CustomField.Kind.TEXT: {"max_length", "regex"},
    CustomField.Kind.NUMBER: {"min", "max"},
    CustomField.Kind.MONEY: {"min", "max"},
    CustomField.Kind.DATE: {"min", "max"},
}
_NOT_UNIQUE = {CustomField.Kind.BOOLEAN, CustomField.Kind.MULTI_CHOICE}
_CHOICE_KINDS = {CustomField.Kind.CHOICE, CustomField.Kind.MULTI_CHOICE}


def _clean_choices(raw: Any, errors: dict[str, list[str]]) -> list[dict[str, str]]:
    """Choices as `[{"value", "label"}]`, from dicts, plain strings or "value | label" lines."""
    if isinstance(raw, str):
        raw = [line for line in raw.splitlines() if line.strip()]
    if not isinstance(raw, list | tuple):
        errors.setdefault("choices", []).append(_("Enter the choices as a list."))
        return []
    choices: list[dict[str, str]] = []
    for item in raw:
        if isinstance(item, dict):
            value, label = str(item.get("value") or "").strip(), str(item.get("label") or "").strip()
        else:
            value, _bar, label = str(item).partition("|")
            value, label = value.strip(), label.strip()
        if not value:
            continue
        if len(value) > 100 or len(label) > 100:
            errors.setdefault("choices", []).append(_("A choice has at most 100 characters."))
            continue
        if any(c["value"].casefold() == value.casefold() for c in choices):
            errors.setdefault("choices", []).append(_("The choice “%(value)s” is listed twice.") % {"value": value})
            continue
        choices.append({"value": value, "label": label or value})
    return choices


def _clean_rules(kind: str, raw: Any, errors: dict[str, list[str]]) -> dict[str, Any]:
    if raw in (None, ""):
        return {}
    if not isinstance(raw, dict):
        errors.setdefault("rules", []).append(_("Enter the rules as an object."))
        return {}
    rules = {k: v for k, v in raw.items() if v not in (None, "")}
    unknown = sorted(set(rules) - _RULES_FOR_KIND.get(kind, set()))
    if unknown:
        errors.setdefault("rules", []).append(
            _("These rules do not apply to this kind of field: %(rules)s.") % {"rules": ", ".join(unknown)}
        )
        return {}
    try:
        if kind == CustomField.Kind.TEXT:
            if "max_length" in rules:
                rules["max_length"] = int(rules["max_length"])
                if not 1 <= rules["max_length"] <= customfields.MAX_TEXT:
                    raise ValueError
            if "regex" in rules:
                re.compile(str(rules["regex"]))
                rules["regex"] = str(rules["regex"])
        elif kind == CustomField.Kind.DATE:
            for name in ("min", "max"):
                if name in rules:
                    rules[name] = date.fromisoformat(str(rules[name])).isoformat()
        else:
            for name in ("min", "max"):
                if name in rules:
                    rules[name] = str(Decimal(str(rules[name])))
    except (ValueError, ArithmeticError, re.error):
        errors.setdefault("rules", []).append(_("A rule's value is not valid for this kind of field."))
        return {}
    if "min" in rules and "max" in rules:
        parse = date.fromisoformat if kind == CustomField.Kind.DATE else Decimal
        if parse(rules["min"]) > parse(rules["max"]):  # type: ignore[operator]
            errors.setdefault("rules", []).append(_("The minimum is above the maximum."))
    return rules


def _custom_field_check(cf: CustomField, errors: dict[str, list[str]]) -> None:
    cf.label = " ".join(str(cf.label or "").split())
    cf.label_en = " ".join(str(cf.label_en or "").split())
    cf.help_text = " ".join(str(cf.help_text or "").split())
    if not cf.label:
        errors.setdefault("label", []).append(_("This field is required."))
    if cf.kind not in CustomField.Kind.values:
        errors.setdefault("kind", []).append(_("Unknown kind of field."))
        return
    cf.choices = _clean_choices(cf.choices or [], errors) if cf.kind in _CHOICE_KINDS else []
    if cf.kind in _CHOICE_KINDS and not cf.choices and "choices" not in errors:
        errors.setdefault("choices", []).append(_("A choice field needs at least one choice."))
    cf.rules = _clean_rules(cf.kind, cf.rules, errors)
    if cf.unique and cf.kind in _NOT_UNIQUE:
        errors.setdefault("unique", []).append(_("This kind of field cannot be unique."))
    for name, limit in (("label", 100), ("label_en", 100), ("help_text", 255)):
        if len(getattr(cf, name)) > limit:
            errors.setdefault(name, []).append(_("At most %(max)s characters.") % {"max": limit})


@transaction.atomic
def custom_field_create(
    *,
    actor: Any,
    record_type: str,
    key: str,
    label: str,
    kind: str,
    label_en: str = "",
    choices: Any = None,
    required: bool = False,
    unique: bool = False,
    rules: dict[str, Any] | None = None,
    help_text: str = "",
    position: int | None = None,
) -> CustomField:
    """Define a custom field on a record type; the key (a slug) is unique per type and never changes."""
    errors: dict[str, list[str]] = {}
    customfields.record_type_get(record_type)
    key = (key or "").strip().lower()
    if not customfields.KEY_PATTERN.fullmatch(key) or "__" in key or key in customfields.reserved_keys():
        errors.setdefault("key", []).append(
            _("Use lower-case letters, digits and single underscores, starting with a letter (at most 40).")
        )
    elif CustomField.objects.filter(record_type=record_type, key=key).exists():
        errors.setdefault("key", []).append(_("This record type already has a field with this key."))
    if position is None:
        last = CustomField.objects.filter(record_type=record_type).order_by("-position").first()
        position = (last.position + 10) if last else 10
    cf = CustomField(
        record_type=record_type,
        key=key,
        label=label,
        label_en=label_en,
        kind=kind,
        choices=choices or [],
        required=required,
        unique=unique,
        rules=rules or {},
        help_text=help_text,
        position=position,
    )
    _custom_field_check(cf, errors)
    if errors:
        raise ValidationError(errors)
    cf.save()
    record_event(
        obj=cf, action="created", actor=actor, changes={n: [None, getattr(cf, n)] for n in CUSTOM_FIELD_TRACKED}
    )
    return cf


@transaction.atomic
def custom_field_update(*, field: CustomField, actor: Any, **changes: Any) -> CustomField:
    """Change a custom field's label, choices, rules, flags or position; its key, type and kind stay."""
    fixed = sorted(set(changes) - set(CUSTOM_FIELD_EDITABLE))
    if fixed:
        raise ValidationError({name: _("This field cannot be changed.") for name in fixed})
    before = snapshot(field, CUSTOM_FIELD_TRACKED)
    for name, value in changes.items():
        setattr(field, name, value)
    errors: dict[str, list[str]] = {}
    _custom_field_check(field, errors)
    if errors:
        field.refresh_from_db()
        raise ValidationError(errors)
    field.save()
    diff = field_changes(field, before, CUSTOM_FIELD_TRACKED)
    if diff:
        record_event(obj=field, action="updated", actor=actor, changes=diff)
    return field


@transaction.atomic
def custom_field_deactivate(*, field: CustomField, actor: Any) -> CustomField:
    """Hide a custom field from forms, pages, filters and the API; stored values stay for a later reactivation."""
    if field.active:
        field.active = False
        field.save(update_fields=["active", "updated_at"])
        record_event(obj=field, action="deactivated", actor=actor, changes={"active": [True, False]})
    return field


@transaction.atomic
def field_rules_set(*, record_type: str, required: list[str], actor: Any) -> list[str]:
    """Make exactly these built-in fields of a record type required; records each rule that changed."""
    kind = customfields.record_type_get(record_type)
    unknown = sorted(set(required) - set(kind.builtin_fields))
    if unknown:
        raise ValidationError(
            {"required": _("These fields cannot be made required: %(f)s.") % {"f": ", ".join(unknown)}}
        )
    for name in kind.builtin_fields:
        wanted = name in required
        rule = FieldRule.objects.filter(record_type=record_type, field=name).first()
        if rule is None and not wanted:
            continue
        if rule is None:
            rule = FieldRule.objects.create(record_type=record_type, field=name, required=True)
            record_event(obj=rule, action="created", actor=actor, changes={"required": [None, True]})
        elif rule.required != wanted:
            rule.required = wanted
            rule.save(update_fields=["required"])
            record_event(obj=rule, action="updated", actor=actor, changes={"required": [not wanted, wanted]})
    return customfields.required_builtin_fields(record_type)


# --- tags -------------------------------------------------------------------------------------

TAG_NAME_MAX = 50


def tag_name_clean(name: Any, *, field: str = "name") -> tuple[str, str]:
    """A tag's display name and its case-insensitive key, or a ValidationError under `field`."""
    text = " ".join(unicodedata.normalize("NFKC", str(name or "")).split())
    if not text:
        raise ValidationError({field: _("Enter a tag name.")})
    if len(text) > TAG_NAME_MAX or any(sep in text for sep in ",，、"):
        raise ValidationError(
            {field: _("“%(name)s”: a tag name has at most 50 characters and no commas.") % {"name": text[:60]}}
        )
    return text, text.casefold()


def _tag_colour(colour: str, errors: dict[str, list[str]]) -> str:
    if colour not in Tag.Colour.values:
        errors.setdefault("colour", []).append(_("Unknown colour."))
    return colour


@transaction.atomic
def tag_create(*, name: str, actor: Any, colour: str = Tag.Colour.BLUE) -> Tag:
    """Create a tag; its name is unique whatever its case."""
    text, key = tag_name_clean(name)
    errors: dict[str, list[str]] = {}
    _tag_colour(colour, errors)
    if Tag.objects.filter(name_key=key).exists():
        errors.setdefault("name", []).append(_("A tag with this name already exists."))
    if errors:
        raise ValidationError(errors)
    tag = Tag.objects.create(name=text, name_key=key, colour=colour)
    record_event(obj=tag, action="created", actor=actor, changes={"name": [None, tag.name], "colour": [None, colour]})
    return tag


@transaction.atomic
def tag_update(*, tag: Tag, actor: Any, name: str | None = None, colour: str | None = None) -> Tag:
    """Rename a tag or change its colour; records keep it."""
    before = snapshot(tag, ("name", "colour"))
    errors: dict[str, list[str]] = {}
    if name is not None:
        tag.name, tag.name_key = tag_name_clean(name)
        if Tag.objects.filter(name_key=tag.name_key).exclude(pk=tag.pk).exists():
            errors.setdefault("name", []).append(_("A tag with this name already exists."))
    if colour is not None:
        tag.colour = _tag_colour(colour, errors)
    if errors:
        tag.refresh_from_db()
        raise ValidationError(errors)
    tag.save()
    changes = field_changes(tag, before, ("name", "colour"))
    if changes:
        record_event(obj=tag, action="updated", actor=actor, changes=changes)
    return tag


@transaction.atomic
def tag_delete(*, tag: Tag, actor: Any) -> None:
    """Delete a tag and take it off every record."""
    record_event(obj=tag, action="deleted", actor=actor, changes={"name": [tag.name, None]})
    tag.delete()


def tags_resolve(*, names: Any, actor: Any, field: str = "tags") -> list[Tag]:
    """The tags with these names (comma-separated text or a list), creating the missing ones.

    Call inside the caller's transaction: a tag created here goes away with a refused change.
    """
    if isinstance(names, str):
        names = [n for n in re.split(r"[,，、]", names)]
    wanted: dict[str, str] = {}
    for raw in names or []:
        if not str(raw or "").strip():
            continue
        text, key = tag_name_clean(raw, field=field)
        wanted.setdefault(key, text)
    existing = {tag.name_key: tag for tag in Tag.objects.filter(name_key__in=wanted)}
    tags = []
    for key, text in wanted.items():
        tag = existing.get(key)
        if tag is None:
            tag = Tag.objects.create(name=text, name_key=key)
            record_event(obj=tag, action="created", actor=actor, changes={"name": [None, text]})
        tags.append(tag)
    return sorted(tags, key=lambda t: t.name_key)
