"""Every read in core, scoped to the user who asks."""

from __future__ import annotations

from datetime import date, datetime, time
from functools import cached_property
from typing import Any

from django.contrib.auth.models import Group
from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from .customfields import RecordType, record_types, required_builtin_fields
from .models import (
    ApiToken,
    CustomField,
    Event,
    FieldRule,
    ImportBatch,
    ImportTemplate,
    Job,
    Notification,
    SavedView,
    Tag,
    Team,
    User,
)
from .pii import can_view_pii

COUNT_CAP = 10_000  # a long list's total stops here ("more than 10,000"): counting 100k open tickets cost 300 ms


class CappedRows:
    """A queryset paged with a total that stops at `cap`: `count()` reads at most `cap + 1` rows and `capped`
    says more exist, so the page reads "of more than 10,000" and the API answers `count_capped: true`."""

    def __init__(self, rows: QuerySet[Any], cap: int | None = None) -> None:
        self.rows = rows
        self.cap = COUNT_CAP if cap is None else cap
        self.ordered = rows.ordered

    @cached_property
    def _counted(self) -> int:
        return self.rows.order_by().values("pk")[: self.cap + 1].count()

    def count(self) -> int:
        return min(self._counted, self.cap)

    @property
    def capped(self) -> bool:
        return self._counted > self.cap

    def all(self) -> CappedRows:
        return self

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, key: Any) -> Any:
        return self.rows[key]


def users_visible_to(user: Any) -> QuerySet[User]:
    """The staff directory: every colleague, for whoever may view users."""
    if not user.is_authenticated or not user.has_perm("core.view_user"):
        return User.objects.none()
    return User.objects.prefetch_related("groups")


def users_filtered(
    *, user: Any, q: str = "", role: str = "", team: int | None = None, active: bool | None = None
) -> QuerySet[User]:
    """The directory filtered by name (and email with view_pii), role, team and active flag, by name."""
    users = users_visible_to(user)
    if q:
        # searching by e-mail fragments would reveal masked addresses, so only with view_pii
        matches = Q(full_name__icontains=q) | (Q(email__icontains=q) if can_view_pii(user) else Q(pk__in=[]))
        users = users.filter(matches)
    if role:  # membership tests as subqueries: no join, so no duplicates and no DISTINCT over the directory
        users = users.filter(pk__in=User.groups.through.objects.filter(group__name=role).values("user_id"))
    if team:
        users = users.filter(pk__in=Team.members.through.objects.filter(team_id=team).values("user_id"))
    if active is not None:
        users = users.filter(is_active=active)
    return users.order_by("full_name", "id")


def teams_visible_to(user: Any) -> QuerySet[Team]:
    if not user.is_authenticated or not user.has_perm("core.view_team"):
        return Team.objects.none()
    # a correlated count is computed for the rows of the page only, not grouped over every membership
    members = (
        Team.members.through.objects.filter(team_id=OuterRef("pk"))
        .order_by()
        .values("team_id")
        .annotate(n=Count("*"))
        .values("n")  # type: ignore[misc]  # django-stubs cannot see annotations in .values()
    )
    return Team.objects.select_related("parent", "manager").annotate(
        member_count=Coalesce(Subquery(members, output_field=IntegerField()), 0)
    )


def roles_with_permissions() -> QuerySet[Group]:
    return Group.objects.prefetch_related("permissions__content_type").annotate(user_count=Count("user"))


def jobs_visible_to(user: Any) -> QuerySet[Job]:
    return Job.objects.visible_to(user).select_related("owner")


def tokens_of(user: Any) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=user)


def notifications_for(user: Any) -> QuerySet[Notification]:
    return Notification.objects.filter(recipient=user)


def unread_count(user: Any) -> int:
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()


def _day_bound(value: date | datetime | None, end: bool) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value
    return timezone.make_aware(datetime.combine(value, time.max if end else time.min))


def events_filtered(
    *,
    user: Any,
    actor: int | None = None,
    object_type: str = "",
    object_id: int | None = None,
    action: str = "",
    date_from: date | str | None = None,
    date_to: date | str | None = None,
) -> QuerySet[Event]:
    """Audit rows the user may read, filtered by actor, object type, action and date range.

    Records of personal data being viewed (`pii_viewed`) are many; they are listed only when asked for by action.
    """
    events = Event.objects.visible_to(user)
    if action != "pii_viewed":
        events = events.exclude(action="pii_viewed")
    if actor:
        events = events.filter(actor_id=actor)
    if object_type:
        events = events.filter(content_type__model=object_type)
    if object_id:
        events = events.filter(object_id=object_id)
    if action:
        events = events.filter(action=action)
    if isinstance(date_from, str):
        date_from = date.fromisoformat(date_from) if date_from else None
    if isinstance(date_to, str):
        date_to = date.fromisoformat(date_to) if date_to else None
    if start := _day_bound(date_from, end=False):
        events = events.filter(occurred_at__gte=start)
    if stop := _day_bound(date_to, end=True):
        events = events.filter(occurred_at__lte=stop)
    return events.select_related("actor", "content_type")


def object_history(obj: Any) -> QuerySet[Event]:
    """The history panel of one record the caller has already found in scope."""
    return (
        Event.objects.for_object(obj)
        .exclude(action="pii_viewed")
        .select_related("actor", "content_type")
        .order_by("-id")
    )


def saved_views_for(user: Any, list_name: str) -> QuerySet[SavedView]:
    """The views of a list the user may use: their own, and those shared with a team in their scope."""
    if not user.is_authenticated:
        return SavedView.objects.none()
    shared = Q(team_id__in=user.scope_team_ids) & ~Q(team=None)
    return SavedView.objects.filter(Q(owner=user) | shared, list_name=list_name).select_related("owner", "team")


def saved_view_default(user: Any, list_name: str) -> SavedView | None:
    """The view a list opens with: the user's own default, else the newest default shared with their team."""
    views = saved_views_for(user, list_name).filter(is_default=True)
    return views.filter(owner=user).first() or views.order_by("-updated_at", "-id").first()


def imports_visible_to(user: Any) -> QuerySet[ImportBatch]:
    """Imports the user may see (their own, their teams', all for administrators), newest first."""
    return ImportBatch.objects.visible_to(user).select_related("owner", "job", "template").order_by("-id")


def import_templates_for(user: Any, record_type: str = "") -> QuerySet[ImportTemplate]:
    """The user's own templates and the shared ones."""
    if not user.is_authenticated or not user.has_perm("core.view_importtemplate"):
        return ImportTemplate.objects.none()
    templates = ImportTemplate.objects.filter(Q(owner=user) | Q(owner__isnull=True))
    return templates.filter(record_type=record_type) if record_type else templates


def import_templates_editable_by(user: Any) -> QuerySet[ImportTemplate]:
    """Templates the user may change or delete: their own, and shared ones for administrators."""
    if not user.is_authenticated or not user.has_perm("core.view_importtemplate"):
        return ImportTemplate.objects.none()
    templates = ImportTemplate.objects.all()
    return templates if user.sees_everything else templates.filter(owner=user)


def custom_fields(record_type: str | None = None, *, active_only: bool = False) -> QuerySet[CustomField]:
    """Custom-field definitions (all record types unless one is named), in display order.

    Definitions are not personal data; the caller checks the permission."""
    rows = CustomField.objects.order_by("record_type", "position", "id")
    if record_type:
        rows = rows.filter(record_type=record_type)
    if active_only:
        rows = rows.filter(active=True)
    return rows


def custom_fields_by_type() -> list[tuple[RecordType, list[CustomField], list[str]]]:
    """Each registered record type with its custom fields and the labels of its required built-in fields."""
    fields = list(custom_fields())
    rules = set(FieldRule.objects.filter(required=True).values_list("record_type", "field"))
    return [
        (
            rt,
            [cf for cf in fields if cf.record_type == rt.key],
            [str(label) for name, label in rt.builtin_fields.items() if (rt.key, name) in rules],
        )
        for rt in record_types()
    ]


def required_fields_of(record_type: str) -> list[str]:
    """The built-in fields of a record type the administrator made required."""
    return required_builtin_fields(record_type)


def tags_all(q: str = "") -> QuerySet[Tag]:
    """Every tag, by name (tags are shared labels, not records with an owner)."""
    rows = Tag.objects.order_by("name_key")
    if q.strip():
        rows = rows.filter(name_key__contains=q.strip().casefold())
    return rows
