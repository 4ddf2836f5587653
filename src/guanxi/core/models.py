"""Users, teams, record scope, the event spine, jobs, notifications, API tokens, list views, imports,
custom fields and tags."""

from __future__ import annotations

from typing import Any, Self

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.contrib.contenttypes.fields import GenericForeignKey, GenericRelation
from django.contrib.contenttypes.models import ContentType
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

ADMINISTRATOR = "administrator"


def perm_name(model: type[models.Model], action: str) -> str:
    """`app_label.action_modelname`, the permission that guards `action` on `model`."""
    return f"{model._meta.app_label}.{action}_{model._meta.model_name}"


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A member of staff. Logs in by email; roles are groups; scope comes from teams."""

    email = models.EmailField(_("email"), unique=True)
    full_name = models.CharField(_("full name"), max_length=150)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    language = models.CharField(_("language"), max_length=10, choices=settings.LANGUAGES, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    is_staff = models.BooleanField(_("staff status"), default=False)
    date_joined = models.DateTimeField(_("joined"), default=timezone.now)
    failed_logins = models.PositiveSmallIntegerField(default=0, editable=False)
    locked_until = models.DateTimeField(null=True, blank=True, editable=False)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["full_name"]

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        ordering = ["full_name", "id"]
        indexes = [models.Index(fields=["full_name", "id"], name="user_directory_order")]
        permissions = [("view_pii", _("Can view personal data unmasked"))]

    def __str__(self) -> str:
        return self.full_name or self.email

    def get_absolute_url(self) -> str:
        return reverse("user-detail", args=[self.pk])

    @property
    def is_locked(self) -> bool:
        return self.locked_until is not None and self.locked_until > timezone.now()

    @cached_property
    def sees_everything(self) -> bool:
        """Administrators see every record; everyone else sees a scope."""
        return self.is_superuser or self.groups.filter(name=ADMINISTRATOR).exists()

    @cached_property
    def scope_team_ids(self) -> frozenset[int]:
        """Teams whose records this user sees: teams they belong to, and every team below one they manage."""
        links = list(Team.objects.values_list("id", "parent_id", "manager_id"))
        children: dict[int, list[int]] = {}
        for team_id, parent_id, _manager in links:
            if parent_id:
                children.setdefault(parent_id, []).append(team_id)
        scope = set(self.teams.values_list("id", flat=True))
        below: set[int] = set()
        stack = [team_id for team_id, _parent, manager_id in links if manager_id == self.pk]
        while stack:
            team_id = stack.pop()
            if team_id not in below:
                below.add(team_id)
                stack.extend(children.get(team_id, []))
        scope |= below
        return frozenset(scope)

    @cached_property
    def role_names(self) -> list[str]:
        return sorted(self.groups.values_list("name", flat=True))


class Team(models.Model):
    """A group of staff. Teams nest; a manager sees their team and every team below it."""

    name = models.CharField(_("name"), max_length=120, unique=True)
    parent = models.ForeignKey(
        "self", verbose_name=_("parent team"), null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    manager = models.ForeignKey(
        User, verbose_name=_("manager"), null=True, blank=True, on_delete=models.SET_NULL, related_name="managed_teams"
    )
    members = models.ManyToManyField(User, verbose_name=_("members"), blank=True, related_name="teams")
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("team")
        verbose_name_plural = _("teams")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("team-detail", args=[self.pk])


class RoleGrant(models.Model):
    """A default permission that has been given to a role once, so an administrator's later removal sticks."""

    group = models.ForeignKey("auth.Group", on_delete=models.CASCADE, related_name="+")
    permission = models.ForeignKey("auth.Permission", on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["group", "permission"], name="role_grant_once")]

    def __str__(self) -> str:
        return f"{self.group_id}:{self.permission_id}"


class Share(models.Model):
    """One record shared explicitly with one user, beyond the usual owner/team scope."""

    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE)
    object_id = models.PositiveBigIntegerField()
    record = GenericForeignKey("content_type", "object_id")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="shares")
    can_change = models.BooleanField(_("may change"), default=False)
    granted_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("share")
        verbose_name_plural = _("shares")
        constraints = [models.UniqueConstraint(fields=["content_type", "object_id", "user"], name="share_once")]
        indexes = [models.Index(fields=["user", "content_type", "object_id"])]

    def __str__(self) -> str:
        return f"{self.content_type_id}:{self.object_id} → {self.user_id}"


class ScopedQuerySet(models.QuerySet):
    """The one record scope: every owned model's list, detail, search, export and report goes through it."""

    def visible_to(self, user: Any, action: str = "view") -> Self:
        """Rows the user may `action`: model permission first, then owner / team / shares / all."""
        if not user.is_authenticated or not user.is_active or not user.has_perm(perm_name(self.model, action)):
            return self.none()
        if user.sees_everything:
            return self
        # `pk IN (the user's shares)` rather than a correlated EXISTS: PostgreSQL hashes the few shared ids once
        # instead of probing the share table for every row outside the owner/team branches (large lists, reports)
        shares = Share.objects.filter(content_type=ContentType.objects.get_for_model(self.model), user=user)
        if action != "view":
            shares = shares.filter(can_change=True)
        return self.filter(Q(owner=user) | Q(team_id__in=user.scope_team_ids) | Q(pk__in=shares.values("object_id")))


class OwnedModel(models.Model):
    """Base for every record that has an owner: owner, team, explicit shares and the scoped manager."""

    owner = models.ForeignKey(
        User, verbose_name=_("owner"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    team = models.ForeignKey(
        Team, verbose_name=_("team"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    shares = GenericRelation(Share)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        abstract = True


# --- the event spine --------------------------------------------------------------------------


class EventQuerySet(models.QuerySet):
    def undispatched(self) -> Self:
        return self.filter(dispatched_at__isnull=True).order_by("id")

    def for_object(self, obj: models.Model) -> Self:
        return self.filter(content_type=ContentType.objects.get_for_model(obj), object_id=obj.pk)

    def visible_to(self, user: Any) -> Self:
        """Audit rows the user may read: administrators all; others with the permission, their scope's actors."""
        if not user.is_authenticated or not user.has_perm("core.view_event"):
            return self.none()
        if user.sees_everything:
            return self
        colleagues = User.objects.filter(Q(pk=user.pk) | Q(teams__in=user.scope_team_ids)).values("pk")
        return self.filter(actor__in=colleagues)


class Event(models.Model):
    """One change to one record: the audit trail, the timeline, the automation trigger and the process log."""

    occurred_at = models.DateTimeField(_("when"), default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        User, verbose_name=_("actor"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=200, blank=True)
    content_type = models.ForeignKey(ContentType, verbose_name=_("object type"), on_delete=models.PROTECT)
    object_id = models.PositiveBigIntegerField(_("object id"))
    object_repr = models.CharField(_("object"), max_length=200)
    action = models.CharField(_("action"), max_length=40, db_index=True)
    changes = models.JSONField(_("changes"), default=dict, blank=True, encoder=DjangoJSONEncoder)
    data = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    dispatch_attempts = models.PositiveSmallIntegerField(default=0)
    dispatch_after = models.DateTimeField(null=True, blank=True)
    dispatch_error = models.TextField(blank=True)

    objects = EventQuerySet.as_manager()

    class Meta:
        verbose_name = _("event")
        verbose_name_plural = _("events")
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["content_type", "object_id", "id"], name="event_object"),
            models.Index(fields=["actor", "id"], name="event_actor"),
            models.Index(fields=["id"], condition=Q(dispatched_at__isnull=True), name="event_undispatched"),
        ]

    def __str__(self) -> str:
        return f"{self.object_repr} {self.action}"

    def changes_for(self, user: Any) -> dict[str, Any]:
        """The before/after values as this viewer may see them (personal data masked without view_pii)."""
        from .pii import mask_changes

        label = f"{self.content_type.app_label}.{self.content_type.model}"
        return mask_changes(self.changes, model_label=label, user=user)


# --- jobs -------------------------------------------------------------------------------------


class Job(OwnedModel):
    """Long work run by a worker: its state and progress are what the progress bar shows."""

    class State(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")

    kind = models.CharField(_("kind"), max_length=60)
    state = models.CharField(_("state"), max_length=12, choices=State.choices, default=State.QUEUED)
    done = models.PositiveIntegerField(_("done"), default=0)
    total = models.PositiveIntegerField(_("total"), null=True, blank=True)
    message = models.CharField(_("message"), max_length=255, blank=True)
    params = models.JSONField(default=dict, blank=True)
    result = models.JSONField(null=True, blank=True)
    error = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        verbose_name = _("job")
        verbose_name_plural = _("jobs")
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk}"

    def get_absolute_url(self) -> str:
        return reverse("job-detail", args=[self.pk])

    @property
    def is_finished(self) -> bool:
        return self.state in {self.State.SUCCEEDED, self.State.FAILED}

    @property
    def percent(self) -> int:
        if self.state == self.State.SUCCEEDED:
            return 100
        if not self.total:
            return 0
        return min(100, int(self.done * 100 / self.total))


# --- notifications ----------------------------------------------------------------------------


class Notification(models.Model):
    """An in-app message to one user. The text is stored untranslated and shown in the reader's language."""

    recipient = models.ForeignKey(User, on_delete=models.CASCADE, related_name="notifications")
    event = models.ForeignKey(Event, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    title = models.CharField(max_length=200)
    params = models.JSONField(default=dict, blank=True)
    url = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["recipient", "event"], name="notification_once_per_event"),
        ]
        indexes = [models.Index(fields=["recipient", "read_at"])]

    def __str__(self) -> str:
        return self.text

    @property
    def text(self) -> str:
        from django.utils.translation import gettext

        try:
            return gettext(self.title) % self.params
        except (KeyError, TypeError, ValueError):
            return gettext(self.title)


# --- API tokens -------------------------------------------------------------------------------


class ApiToken(models.Model):
    """A personal API token. Only a SHA-256 digest is stored; the secret is shown once."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(max_length=12, unique=True)
    digest = models.CharField(max_length=64)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_usable(self) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > timezone.now())


# --- list views -------------------------------------------------------------------------------


class ListLayout(models.Model):
    """The columns (in order) one user chose for one list; used when a list's query names none."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="list_layouts")
    list_name = models.CharField(max_length=60)
    columns = models.JSONField(default=list)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "list_name"], name="list_layout_once")]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.list_name}"


class SavedView(models.Model):
    """A named list view (filters, sort and columns as a query string), private or shared with a team."""

    owner = models.ForeignKey(User, verbose_name=_("owner"), on_delete=models.CASCADE, related_name="saved_views")
    list_name = models.CharField(_("list"), max_length=60)
    name = models.CharField(_("name"), max_length=100)
    query = models.CharField(_("filters, sort and columns"), max_length=2000, blank=True)
    team = models.ForeignKey(
        Team,
        verbose_name=_("shared with team"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("Empty: only you see this view."),
    )
    is_default = models.BooleanField(_("default"), default=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("saved view")
        verbose_name_plural = _("saved views")
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "list_name", "name"], name="saved_view_name_once"),
            models.UniqueConstraint(
                fields=["owner", "list_name"], condition=Q(is_default=True), name="saved_view_one_default"
            ),
        ]
        indexes = [models.Index(fields=["team", "list_name"], name="saved_view_team")]

    def __str__(self) -> str:
        return self.name

    @property
    def is_shared(self) -> bool:
        return self.team_id is not None


# --- imports ----------------------------------------------------------------------------------


class ImportTemplate(models.Model):
    """A remembered column mapping for one record type: the owner's own, or shared with everyone (no owner)."""

    owner = models.ForeignKey(
        User, verbose_name=_("owner"), null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    record_type = models.CharField(_("record type"), max_length=60)
    name = models.CharField(_("name"), max_length=120)
    mapping = models.JSONField(_("mapping"), default=dict)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("import template")
        verbose_name_plural = _("import templates")
        ordering = ["record_type", "name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "record_type", "name"], name="import_template_name_once"),
        ]

    def __str__(self) -> str:
        return self.name


class ImportBatch(OwnedModel):
    """One uploaded file on its way in: mapping, dry-run report, the job that writes it, and its undo."""

    class State(models.TextChoices):
        UPLOADED = "uploaded", pgettext_lazy("import state", "Uploaded")
        CHECKING = "checking", pgettext_lazy("import state", "Checking")
        CHECKED = "checked", pgettext_lazy("import state", "Checked")
        IMPORTING = "importing", pgettext_lazy("import state", "Importing")
        DONE = "done", pgettext_lazy("import state", "Done")
        FAILED = "failed", pgettext_lazy("import state", "Failed")
        UNDONE = "undone", pgettext_lazy("import state", "Undone")

    record_type = models.CharField(_("record type"), max_length=60)
    file_name = models.CharField(_("file name"), max_length=255)
    file_format = models.CharField(_("format"), max_length=8)
    file_size = models.PositiveBigIntegerField(_("size"), default=0)
    stored_name = models.CharField(max_length=255, blank=True, editable=False)
    encoding = models.CharField(_("encoding"), max_length=20, blank=True)
    sheet = models.CharField(_("sheet"), max_length=100, blank=True)
    headers = models.JSONField(default=list, blank=True)
    samples = models.JSONField(default=list, blank=True)
    mapping = models.JSONField(_("mapping"), default=dict, blank=True)
    template = models.ForeignKey(
        ImportTemplate, verbose_name=_("template"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    skip_bad_rows = models.BooleanField(_("skip bad rows"), default=False)
    state = models.CharField(_("state"), max_length=12, choices=State.choices, default=State.UPLOADED)
    total_rows = models.PositiveIntegerField(_("rows"), default=0)
    good_rows = models.PositiveIntegerField(_("good rows"), default=0)
    bad_rows = models.PositiveIntegerField(_("bad rows"), default=0)
    duplicate_rows = models.PositiveIntegerField(_("likely duplicates"), default=0)
    created_count = models.PositiveIntegerField(_("records created"), default=0)
    skipped_count = models.PositiveIntegerField(_("rows skipped"), default=0)
    removed_count = models.PositiveIntegerField(_("records removed by undo"), default=0)
    kept_count = models.PositiveIntegerField(_("records kept by undo"), default=0)
    problems = models.JSONField(default=list, blank=True)  # [[row, field, message], …], capped
    duplicates = models.JSONField(default=list, blank=True)  # [{row, field, value, record…}, …], capped
    result = models.JSONField(default=dict, blank=True)
    error = models.TextField(_("error"), blank=True)
    error_file = models.CharField(_("error file"), max_length=255, blank=True)
    job = models.ForeignKey(Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    checked_at = models.DateTimeField(_("checked"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    undone_at = models.DateTimeField(_("undone"), null=True, blank=True)

    class Meta:
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.file_name} #{self.pk}"

    def get_absolute_url(self) -> str:
        return reverse("import-detail", args=[self.pk])

    @property
    def stored_path(self) -> Any:
        from .imports import imports_dir

        return imports_dir() / self.stored_name

    @property
    def is_busy(self) -> bool:
        return self.state in {self.State.CHECKING, self.State.IMPORTING}


# --- custom fields, required-field rules and tags ----------------------------------------------


class CustomField(models.Model):
    """An administrator-defined field of one record type; values live in that record's `custom` JSON column."""

    class Kind(models.TextChoices):
        TEXT = "text", pgettext_lazy("field kind", "Text")
        NUMBER = "number", pgettext_lazy("field kind", "Number")
        MONEY = "money", pgettext_lazy("field kind", "Money")
        DATE = "date", pgettext_lazy("field kind", "Date")
        CHOICE = "choice", pgettext_lazy("field kind", "Choice")
        MULTI_CHOICE = "multi_choice", pgettext_lazy("field kind", "Multiple choice")
        BOOLEAN = "boolean", pgettext_lazy("field kind", "Yes / no")
        USER = "user", pgettext_lazy("field kind", "User")
        URL = "url", pgettext_lazy("field kind", "Web address")
        EMAIL = "email", pgettext_lazy("field kind", "Email")
        PHONE = "phone", pgettext_lazy("field kind", "Phone")

    record_type = models.CharField(_("record type"), max_length=40)
    key = models.CharField(_("key"), max_length=40)
    label = models.CharField(_("label"), max_length=100)
    label_en = models.CharField(_("English label"), max_length=100, blank=True)
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    choices = models.JSONField(_("choices"), default=list, blank=True)
    required = models.BooleanField(_("required"), default=False)
    unique = models.BooleanField(_("unique"), default=False)
    rules = models.JSONField(_("rules"), default=dict, blank=True)
    help_text = models.CharField(_("help text"), max_length=255, blank=True)
    position = models.PositiveIntegerField(_("position"), default=100)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("custom field")
        verbose_name_plural = _("custom fields")
        ordering = ["record_type", "position", "id"]
        constraints = [models.UniqueConstraint(fields=["record_type", "key"], name="custom_field_key_once")]

    def __str__(self) -> str:
        return self.display_label

    @property
    def display_label(self) -> str:
        """The English label for English readers when there is one; the label otherwise."""
        from django.utils.translation import get_language

        if self.label_en and (get_language() or "").startswith("en"):
            return self.label_en
        return self.label

    @property
    def form_name(self) -> str:
        """The one name of this field in forms, API errors and imports: `custom_<key>`."""
        return f"custom_{self.key}"

    def choice_label(self, value: Any) -> str:
        for choice in self.choices or []:
            if choice.get("value") == value:
                return str(choice.get("label") or value)
        return str(value)


class FieldRule(models.Model):
    """A rule on a built-in field of a record type; for now: the field is required on create and update."""

    record_type = models.CharField(_("record type"), max_length=40)
    field = models.CharField(_("field"), max_length=60)
    required = models.BooleanField(_("required"), default=True)

    class Meta:
        verbose_name = _("field rule")
        verbose_name_plural = _("field rules")
        ordering = ["record_type", "field"]
        constraints = [models.UniqueConstraint(fields=["record_type", "field"], name="field_rule_once")]

    def __str__(self) -> str:
        return f"{self.record_type}.{self.field}"


class Tag(models.Model):
    """A label put on customer records; the name is unique whatever its case."""

    class Colour(models.TextChoices):
        BLUE = "blue", pgettext_lazy("colour", "Blue")
        AZURE = "azure", pgettext_lazy("colour", "Azure")
        INDIGO = "indigo", pgettext_lazy("colour", "Indigo")
        PURPLE = "purple", pgettext_lazy("colour", "Purple")
        PINK = "pink", pgettext_lazy("colour", "Pink")
        RED = "red", pgettext_lazy("colour", "Red")
        ORANGE = "orange", pgettext_lazy("colour", "Orange")
        YELLOW = "yellow", pgettext_lazy("colour", "Yellow")
        LIME = "lime", pgettext_lazy("colour", "Lime")
        GREEN = "green", pgettext_lazy("colour", "Green")
        TEAL = "teal", pgettext_lazy("colour", "Teal")
        CYAN = "cyan", pgettext_lazy("colour", "Cyan")

    name = models.CharField(_("name"), max_length=50)
    name_key = models.CharField(max_length=50, unique=True, editable=False)
    colour = models.CharField(_("colour"), max_length=10, choices=Colour.choices, default=Colour.BLUE)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        ordering = ["name_key"]

    def __str__(self) -> str:
        return self.name
