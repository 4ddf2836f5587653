"""Core endpoints: me, users, teams, roles, tokens, jobs, audit events, notifications."""

from datetime import date, datetime
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import paginate

from guanxi.api.pagination import PageNumbers
from guanxi.api.schemas import InputSchema

from . import jobs, selectors, services
from .customfields import record_type_get
from .http import AuthedRequest
from .listviews import ListSpec, list_export_start, list_query_parse, list_rows, list_spec_named, list_specs
from .models import ApiToken, CustomField, SavedView, Tag, Team, User
from .pii import pii_log_views, pii_value

router = Router()


def require_perm(request: AuthedRequest, perm: str) -> None:
    if not request.user.has_perm(perm):
        raise PermissionDenied


def log_user_pii(request: AuthedRequest, users: list[Any]) -> None:
    pii_log_views(user=request.user, records=users, fields=["email", "phone"], channel="api")


# --- schemas ----------------------------------------------------------------------------------


class UserOut(Schema):
    id: int
    email: str
    full_name: str
    phone: str
    language: str
    is_active: bool
    roles: list[str]
    date_joined: datetime

    @staticmethod
    def resolve_email(obj: User, context: dict[str, Any]) -> str:
        viewer = context["request"].user
        return obj.email if obj.pk == viewer.pk else pii_value(obj.email, kind="email", user=viewer)

    @staticmethod
    def resolve_phone(obj: User, context: dict[str, Any]) -> str:
        viewer = context["request"].user
        return obj.phone if obj.pk == viewer.pk else pii_value(obj.phone, kind="phone", user=viewer)

    @staticmethod
    def resolve_roles(obj: User) -> list[str]:
        return sorted(g.name for g in obj.groups.all())


class UserIn(InputSchema):
    email: str
    full_name: str
    password: str | None = None
    phone: str = ""
    language: str = ""
    roles: list[str] = []
    team_ids: list[int] = []


class UserPatch(InputSchema):
    email: str | None = None
    full_name: str | None = None
    phone: str | None = None
    language: str | None = None
    is_active: bool | None = None
    roles: list[str] | None = None
    team_ids: list[int] | None = None


class MePatch(InputSchema):
    language: str


class UserFilters(Schema):
    q: str = ""
    role: str = ""
    team: int | None = None
    active: bool | None = None


class TeamOut(Schema):
    id: int
    name: str
    parent_id: int | None
    manager_id: int | None
    member_ids: list[int]

    @staticmethod
    def resolve_member_ids(obj: Team) -> list[int]:
        return [m.pk for m in obj.members.all()]


class TeamIn(InputSchema):
    name: str
    parent_id: int | None = None
    manager_id: int | None = None
    member_ids: list[int] = []


class TeamPatch(InputSchema):
    name: str | None = None
    parent_id: int | None = None
    manager_id: int | None = None
    member_ids: list[int] | None = None


class RoleOut(Schema):
    name: str
    permissions: list[str]

    @staticmethod
    def resolve_permissions(obj: Any) -> list[str]:
        return sorted(f"{p.content_type.app_label}.{p.codename}" for p in obj.permissions.all())


class TokenOut(Schema):
    id: int
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


class TokenCreated(TokenOut):
    token: str = Field(description="The secret. Shown this once; store it now.")


class TokenIn(InputSchema):
    name: str
    expires_at: datetime | None = None


class JobOut(Schema):
    id: int
    kind: str
    state: str
    done: int
    total: int | None
    percent: int
    message: str
    result: Any = None
    error: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class EventOut(Schema):
    id: int
    occurred_at: datetime
    actor_id: int | None
    actor_label: str
    object_type: str
    object_id: int
    object_repr: str
    action: str
    changes: dict[str, Any]
    data: dict[str, Any]

    @staticmethod
    def resolve_object_type(obj: Any) -> str:
        return obj.content_type.model

    @staticmethod
    def resolve_changes(obj: Any, context: dict[str, Any]) -> dict[str, Any]:
        return obj.changes_for(context["request"].user)


class EventFilters(Schema):
    actor: int | None = None
    object_type: str = ""
    object_id: int | None = None
    action: str = ""
    date_from: date | None = None
    date_to: date | None = None


class AuditExportIn(InputSchema):
    actor: int | None = None
    object_type: str = ""
    action: str = ""
    date_from: date | None = None
    date_to: date | None = None


class NotificationOut(Schema):
    id: int
    text: str
    url: str
    created_at: datetime
    read_at: datetime | None


class MarkReadIn(InputSchema):
    ids: list[int] | None = None


class Count(Schema):
    count: int


# --- me ---------------------------------------------------------------------------------------


@router.get("/me", response=UserOut, tags=["users"])
def me(request: AuthedRequest) -> Any:
    return request.user


@router.patch("/me", response=UserOut, tags=["users"])
def me_update(request: AuthedRequest, body: MePatch) -> Any:
    return services.user_set_language(user=request.user, language=body.language)


# --- users ------------------------------------------------------------------------------------


def _teams(ids: list[int] | None) -> list[Team] | None:
    if ids is None:
        return None
    teams = list(Team.objects.filter(pk__in=ids))
    if len(teams) != len(set(ids)):
        raise ValidationError({"team_ids": _("Unknown team.")})
    return teams


@router.get("/users", response=list[UserOut], tags=["users"])
@paginate(PageNumbers, on_page=log_user_pii)
def users_list(request: AuthedRequest, filters: Query[UserFilters]) -> Any:
    require_perm(request, "core.view_user")
    return selectors.users_filtered(user=request.user, **filters.dict())


@router.get("/users/{user_id}", response=UserOut, tags=["users"])
def user_detail(request: AuthedRequest, user_id: int) -> Any:
    require_perm(request, "core.view_user")
    user = get_object_or_404(selectors.users_visible_to(request.user), pk=user_id)
    log_user_pii(request, [user])
    return user


@router.post("/users", response={201: UserOut}, tags=["users"])
def user_create(request: AuthedRequest, body: UserIn) -> Any:
    require_perm(request, "core.add_user")
    data = body.dict()
    teams = _teams(data.pop("team_ids"))
    return Status(201, services.user_create(actor=request.user, teams=teams, **data))


@router.patch("/users/{user_id}", response=UserOut, tags=["users"])
def user_update(request: AuthedRequest, user_id: int, body: UserPatch) -> Any:
    require_perm(request, "core.change_user")
    user = get_object_or_404(selectors.users_visible_to(request.user), pk=user_id)
    data = body.dict(exclude_unset=True)
    teams = _teams(data.pop("team_ids", None))
    roles = data.pop("roles", None)
    return services.user_update(user=user, actor=request.user, roles=roles, teams=teams, **data)


# --- teams ------------------------------------------------------------------------------------


def _team_refs(data: dict[str, Any]) -> dict[str, Any]:
    """Turn parent_id/manager_id into objects, naming the field when one does not exist."""
    out: dict[str, Any] = {}
    if "name" in data:
        out["name"] = data["name"]
    if "parent_id" in data:
        out["parent"] = Team.objects.filter(pk=data["parent_id"]).first() if data["parent_id"] else None
        if data["parent_id"] and out["parent"] is None:
            raise ValidationError({"parent_id": _("Unknown team.")})
    if "manager_id" in data:
        out["manager"] = User.objects.filter(pk=data["manager_id"]).first() if data["manager_id"] else None
        if data["manager_id"] and out["manager"] is None:
            raise ValidationError({"manager_id": _("Unknown user.")})
    return out


def _members(ids: list[int] | None) -> list[User] | None:
    if ids is None:
        return None
    members = list(User.objects.filter(pk__in=ids))
    if len(members) != len(set(ids)):
        raise ValidationError({"member_ids": _("Unknown user.")})
    return members


@router.get("/teams", response=list[TeamOut], tags=["teams"])
@paginate(PageNumbers)
def teams_list(request: AuthedRequest) -> Any:
    require_perm(request, "core.view_team")
    return selectors.teams_visible_to(request.user).prefetch_related("members")


@router.get("/teams/{team_id}", response=TeamOut, tags=["teams"])
def team_detail(request: AuthedRequest, team_id: int) -> Any:
    require_perm(request, "core.view_team")
    return get_object_or_404(selectors.teams_visible_to(request.user), pk=team_id)


@router.post("/teams", response={201: TeamOut}, tags=["teams"])
def team_create(request: AuthedRequest, body: TeamIn) -> Any:
    require_perm(request, "core.add_team")
    data = body.dict()
    return Status(
        201, services.team_create(actor=request.user, members=_members(data["member_ids"]), **_team_refs(data))
    )


@router.patch("/teams/{team_id}", response=TeamOut, tags=["teams"])
def team_update(request: AuthedRequest, team_id: int, body: TeamPatch) -> Any:
    require_perm(request, "core.change_team")
    team = get_object_or_404(selectors.teams_visible_to(request.user), pk=team_id)
    data = body.dict(exclude_unset=True)
    members = _members(data.get("member_ids"))
    return services.team_update(team=team, actor=request.user, members=members, **_team_refs(data))


@router.get("/roles", response=list[RoleOut], tags=["roles"])
@paginate(PageNumbers)
def roles_list(request: AuthedRequest) -> Any:
    require_perm(request, "auth.view_group")
    return selectors.roles_with_permissions().order_by("name")


# --- tokens -----------------------------------------------------------------------------------


@router.get("/tokens", response=list[TokenOut], tags=["tokens"])
@paginate(PageNumbers)
def tokens_list(request: AuthedRequest) -> Any:
    return selectors.tokens_of(request.user)


@router.post("/tokens", response={201: TokenCreated}, tags=["tokens"])
def token_create(request: AuthedRequest, body: TokenIn) -> Any:
    token, plaintext = services.token_create(user=request.user, name=body.name, expires_at=body.expires_at)
    token.token = plaintext  # type: ignore[attr-defined]
    return Status(201, token)


@router.delete("/tokens/{token_id}", response=TokenOut, tags=["tokens"])
def token_revoke(request: AuthedRequest, token_id: int) -> Any:
    token: ApiToken = get_object_or_404(selectors.tokens_of(request.user), pk=token_id)
    return services.token_revoke(token=token, actor=request.user)


# --- jobs -------------------------------------------------------------------------------------


@router.get("/jobs", response=list[JobOut], tags=["jobs"])
@paginate(PageNumbers)
def jobs_list(request: AuthedRequest) -> Any:
    require_perm(request, "core.view_job")
    return selectors.jobs_visible_to(request.user)


@router.get("/jobs/{job_id}", response=JobOut, tags=["jobs"])
def job_detail(request: AuthedRequest, job_id: int) -> Any:
    require_perm(request, "core.view_job")
    return get_object_or_404(selectors.jobs_visible_to(request.user), pk=job_id)


# --- audit ------------------------------------------------------------------------------------


@router.get("/events", response=list[EventOut], tags=["audit"])
@paginate(PageNumbers)
def events_list(request: AuthedRequest, filters: Query[EventFilters]) -> Any:
    require_perm(request, "core.view_event")
    return selectors.events_filtered(user=request.user, **filters.dict())


@router.post("/events/export", response={202: JobOut}, tags=["audit"])
def events_export(request: AuthedRequest, body: AuditExportIn) -> Any:
    require_perm(request, "core.view_event")
    require_perm(request, "core.add_job")
    params = {k: (v.isoformat() if isinstance(v, date) else v) for k, v in body.dict().items() if v}
    return Status(202, jobs.job_start(kind="core.audit_export", actor=request.user, params=params))


# --- notifications ----------------------------------------------------------------------------


@router.get("/notifications", response=list[NotificationOut], tags=["notifications"])
@paginate(PageNumbers)
def notifications_list(request: AuthedRequest) -> Any:
    return selectors.notifications_for(request.user)


@router.post("/notifications/read", response=Count, tags=["notifications"])
def notifications_read(request: AuthedRequest, body: MarkReadIn) -> Any:
    return {"count": services.notifications_mark_read(recipient=request.user, ids=body.ids)}


# --- list views: what every record list's endpoints share -------------------------------------


class ListBulkIn(InputSchema):
    action: str = Field(description="reassign, archive or unarchive")
    ids: list[int]
    owner_id: int | None = None
    team_id: int | None = None


class ListExportIn(InputSchema):
    query: str = Field("", description="The list's query string: filters, sort and `cols`, as in the page's URL.")
    format: str = Field("csv", description="csv or xlsx")


class SavedViewOut(Schema):
    id: int
    list_name: str
    name: str
    query: str
    owner_id: int
    shared: bool
    team_id: int | None
    is_default: bool
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_shared(obj: SavedView) -> bool:
        return obj.is_shared


class SavedViewIn(InputSchema):
    list_name: str
    name: str
    query: str = ""
    shared: bool = False
    is_default: bool = False


class SavedViewPatch(InputSchema):
    name: str | None = None
    query: str | None = None
    shared: bool | None = None
    is_default: bool | None = None


class SavedViewFilters(Schema):
    list_name: str = ""


def list_endpoint_rows(request: AuthedRequest, spec: ListSpec) -> Any:
    """A list endpoint's rows: the same query string as the page (filters, `sort`), refused with 422 when bad."""
    require_perm(request, spec.permission)
    return list_rows(list_query_parse(spec, request.GET, request.user), request.user)


def list_endpoint_bulk(request: AuthedRequest, spec: ListSpec, body: ListBulkIn) -> dict[str, int]:
    """Run a bulk action of a list on the given ids, all or none."""
    require_perm(request, spec.permission)
    action = next((a for a in spec.bulk_actions if a.key == body.action), None)
    if action is None:
        raise ValidationError({"action": _("Unknown action.")})
    require_perm(request, action.permission)
    options: dict[str, Any] = {}
    if "owner" in action.options and body.owner_id is not None:
        options["owner"] = selectors.users_visible_to(request.user).filter(pk=body.owner_id).first()
        if options["owner"] is None:
            raise ValidationError({"owner_id": _("Unknown user.")})
    if "team" in action.options and body.team_id is not None:
        options["team"] = Team.objects.filter(pk=body.team_id).first()
        if options["team"] is None:
            raise ValidationError({"team_id": _("Unknown team.")})
    return {"count": action.run(ids=body.ids, actor=request.user, **options)}


def list_endpoint_export(request: AuthedRequest, spec: ListSpec, body: ListExportIn) -> Any:
    """Start the export of a list view as a job."""
    require_perm(request, "core.add_job")
    job = list_export_start(spec=spec, query=body.query, file_format=body.format, actor=request.user)
    return Status(202, job)


@router.get("/saved-views", response=list[SavedViewOut], tags=["lists"])
@paginate(PageNumbers)
def saved_views_list(request: AuthedRequest, filters: Query[SavedViewFilters]) -> Any:
    names = [n for n, spec in list_specs().items() if request.user.has_perm(spec.permission)]
    if filters.list_name:
        spec = list_spec_named(filters.list_name)
        if spec is None:
            raise ValidationError({"list_name": _("Unknown list.")})
        require_perm(request, spec.permission)
        names = [spec.name]
    if not names:
        raise PermissionDenied
    views = [selectors.saved_views_for(request.user, name) for name in names]
    rows = views[0]
    for more in views[1:]:
        rows = rows | more
    return rows.order_by("list_name", "name", "id")


def _view_spec(request: AuthedRequest, list_name: str) -> ListSpec:
    spec = list_spec_named(list_name)
    if spec is None:
        raise ValidationError({"list_name": _("Unknown list.")})
    require_perm(request, spec.permission)
    return spec


@router.post("/saved-views", response={201: SavedViewOut}, tags=["lists"])
def saved_view_create(request: AuthedRequest, body: SavedViewIn) -> Any:
    spec = _view_spec(request, body.list_name)
    data = body.dict()
    data.pop("list_name")
    return Status(201, services.saved_view_create(owner=request.user, list_name=spec.name, **data))


@router.patch("/saved-views/{view_id}", response=SavedViewOut, tags=["lists"])
def saved_view_update(request: AuthedRequest, view_id: int, body: SavedViewPatch) -> Any:
    view = get_object_or_404(SavedView.objects.filter(owner=request.user), pk=view_id)
    _view_spec(request, view.list_name)
    return services.saved_view_update(view=view, actor=request.user, **body.dict(exclude_unset=True))


@router.delete("/saved-views/{view_id}", response={204: None}, tags=["lists"])
def saved_view_delete(request: AuthedRequest, view_id: int) -> Any:
    view = get_object_or_404(SavedView.objects.filter(owner=request.user), pk=view_id)
    _view_spec(request, view.list_name)
    services.saved_view_delete(view=view, actor=request.user)
    return Status(204, None)


# --- imports ----------------------------------------------------------------------------------


class ImportProblemOut(Schema):
    row: int
    field: str
    message: str


class ImportDuplicateOut(Schema):
    row: int
    field: str
    value: str
    record_id: int | None = None
    record_label: str = ""
    same_file_row: int | None = None


class ImportOut(Schema):
    id: int
    record_type: str
    file_name: str
    file_format: str
    encoding: str
    sheet: str
    state: str
    headers: list[str]
    mapping: dict[str, str]
    samples: list[list[str]]
    template_id: int | None
    skip_bad_rows: bool
    total_rows: int
    good_rows: int
    bad_rows: int
    duplicate_rows: int
    created_count: int
    skipped_count: int
    removed_count: int
    kept_count: int
    problems: list[ImportProblemOut]
    duplicates: list[ImportDuplicateOut]
    error: str
    job_id: int | None
    owner_id: int | None
    created_at: datetime
    finished_at: datetime | None

    @staticmethod
    def resolve_problems(obj: Any) -> list[dict[str, Any]]:
        return [{"row": r, "field": f, "message": m} for r, f, m in obj.problems]

    @staticmethod
    def resolve_duplicates(obj: Any, context: dict[str, Any]) -> list[dict[str, Any]]:
        viewer = context["request"].user
        return [
            {**d, "value": pii_value(d["value"], kind=d["field"], user=viewer)}
            for d in obj.duplicates
            if d.get("field") in ("phone", "email")
        ]


class ImportRunIn(InputSchema):
    skip_bad_rows: bool | None = None


class ImportTemplateOut(Schema):
    id: int
    name: str
    record_type: str
    mapping: dict[str, str]
    shared: bool
    updated_at: datetime

    @staticmethod
    def resolve_shared(obj: Any) -> bool:
        return obj.owner_id is None


class ImportTemplateIn(InputSchema):
    name: str
    record_type: str
    mapping: dict[str, str]
    shared: bool = False


class ImportTemplatePatch(InputSchema):
    name: str | None = None
    mapping: dict[str, str] | None = None


def _import_params(request: AuthedRequest) -> dict[str, Any]:
    """The multipart form fields of an upload: record_type, template_id, mapping (JSON object), sheet."""
    import json

    data = request.POST
    params: dict[str, Any] = {"record_type": data.get("record_type", ""), "sheet": data.get("sheet", "")}
    if data.get("template_id"):
        try:
            template_id = int(data["template_id"])
        except ValueError:
            raise ValidationError({"template_id": _("Enter a whole number.")}) from None
        params["template"] = get_object_or_404(selectors.import_templates_for(request.user), pk=template_id)
    if data.get("mapping"):
        try:
            mapping = json.loads(data["mapping"])
        except ValueError:
            mapping = None
        if not isinstance(mapping, dict):
            raise ValidationError({"mapping": _('Send the mapping as a JSON object: {"column": "field"}.')})
        params["mapping"] = {str(k): str(v or "") for k, v in mapping.items()}
    return params


@router.post("/imports", response={201: ImportOut}, tags=["imports"])
def import_create(request: AuthedRequest) -> Any:
    """Upload a file (multipart: file, record_type, optional template_id, mapping, sheet) and get its dry run."""
    require_perm(request, "core.add_importbatch")
    params = _import_params(request)
    upload = request.FILES.get("file")
    if upload is None:
        raise ValidationError({"file": _("Choose a file to import.")})
    batch = services.import_upload(actor=request.user, upload=upload, **params)
    return Status(201, services.import_check(batch=batch, actor=request.user))


@router.get("/imports", response=list[ImportOut], tags=["imports"])
@paginate(PageNumbers)
def import_list(request: AuthedRequest) -> Any:
    require_perm(request, "core.view_importbatch")
    return selectors.imports_visible_to(request.user)


@router.get("/imports/{import_id}", response=ImportOut, tags=["imports"])
def import_detail(request: AuthedRequest, import_id: int) -> Any:
    require_perm(request, "core.view_importbatch")
    return get_object_or_404(selectors.imports_visible_to(request.user), pk=import_id)


@router.post("/imports/{import_id}/run", response={202: ImportOut}, tags=["imports"])
def import_run(request: AuthedRequest, import_id: int, body: ImportRunIn) -> Any:
    """Start the import of a checked file as a job; follow it with GET /imports/{id} or /jobs/{job_id}."""
    require_perm(request, "core.add_importbatch")
    batch = get_object_or_404(selectors.imports_visible_to(request.user), pk=import_id)
    if batch.owner_id != request.user.pk and not request.user.sees_everything:
        raise PermissionDenied
    services.import_run_start(batch=batch, actor=request.user, skip_bad_rows=body.skip_bad_rows)
    batch.refresh_from_db()
    return Status(202, batch)


@router.post("/imports/{import_id}/undo", response=ImportOut, tags=["imports"])
def import_undo(request: AuthedRequest, import_id: int) -> Any:
    """Remove the records a finished import created and nobody changed since (owner or administrator)."""
    require_perm(request, "core.add_importbatch")
    batch = get_object_or_404(selectors.imports_visible_to(request.user), pk=import_id)
    return services.import_undo(batch=batch, actor=request.user)


@router.get("/import-templates", response=list[ImportTemplateOut], tags=["imports"])
@paginate(PageNumbers)
def import_template_list(request: AuthedRequest, record_type: str = "") -> Any:
    require_perm(request, "core.view_importtemplate")
    return selectors.import_templates_for(request.user, record_type).order_by("record_type", "name", "id")


@router.post("/import-templates", response={201: ImportTemplateOut}, tags=["imports"])
def import_template_create(request: AuthedRequest, body: ImportTemplateIn) -> Any:
    require_perm(request, "core.add_importtemplate")
    return Status(201, services.import_template_save(actor=request.user, **body.dict()))


@router.patch("/import-templates/{template_id}", response=ImportTemplateOut, tags=["imports"])
def import_template_update(request: AuthedRequest, template_id: int, body: ImportTemplatePatch) -> Any:
    require_perm(request, "core.change_importtemplate")
    template = get_object_or_404(selectors.import_templates_editable_by(request.user), pk=template_id)
    return services.import_template_save(
        actor=request.user,
        template=template,
        record_type=template.record_type,
        name=body.name if body.name is not None else template.name,
        mapping=body.mapping if body.mapping is not None else template.mapping,
        shared=template.owner_id is None,
    )


@router.delete("/import-templates/{template_id}", response={204: None}, tags=["imports"])
def import_template_delete(request: AuthedRequest, template_id: int) -> Any:
    require_perm(request, "core.delete_importtemplate")
    template = get_object_or_404(selectors.import_templates_editable_by(request.user), pk=template_id)
    services.import_template_delete(template=template, actor=request.user)
    return Status(204, None)


# --- custom fields and tags -------------------------------------------------------------------


class ChoiceOut(Schema):
    value: str
    label: str


class CustomFieldOut(Schema):
    id: int
    record_type: str
    key: str
    name: str = Field(description="The name of this field in forms, imports and API errors: `custom_<key>`.")
    label: str
    label_en: str
    kind: str
    choices: list[ChoiceOut]
    required: bool
    unique: bool
    rules: dict[str, Any]
    help_text: str
    position: int
    active: bool

    @staticmethod
    def resolve_name(obj: CustomField) -> str:
        return obj.form_name


class CustomFieldIn(InputSchema):
    record_type: str
    key: str
    label: str
    kind: str
    label_en: str = ""
    choices: list[Any] = Field(
        default_factory=list, description='Strings ("gold" or "gold | Gold") or {"value", "label"} objects.'
    )
    required: bool = False
    unique: bool = False
    rules: dict[str, Any] = Field(
        default_factory=dict,
        description="text: max_length, regex; number and money: min, max; date: min, max (YYYY-MM-DD).",
    )
    help_text: str = ""
    position: int | None = None


class CustomFieldPatch(InputSchema):
    label: str | None = None
    label_en: str | None = None
    choices: list[Any] | None = None
    required: bool | None = None
    unique: bool | None = None
    rules: dict[str, Any] | None = None
    help_text: str | None = None
    position: int | None = None
    active: bool | None = None


class CustomFieldFilters(Schema):
    record_type: str = ""
    include_inactive: bool = False


class TagOut(Schema):
    id: int
    name: str
    colour: str


class TagIn(InputSchema):
    name: str
    colour: str = Tag.Colour.BLUE


class TagPatch(InputSchema):
    name: str | None = None
    colour: str | None = None


class TagFilters(Schema):
    q: str = ""


CUSTOM_FIELDS_DOC = """The custom fields administrators defined, so a client learns the record schema at run time.

Each record type (`account`, `contact`, `lead`, and those later apps register) carries its values in
`custom: {key: value}` on its endpoints. Values by `kind`: text, url, email (normalised), phone (E.164),
choice (a choice `value`) as strings; number as a JSON number; money as a string with two decimals
("1234.50"); date as "YYYY-MM-DD"; multi_choice as a list of choice values; boolean as true/false;
user as a user id. A bad value is refused with 422 and `fields: {"custom_<key>": [...]}`. New or
changed fields take effect at once: no restart, no migration. Lists filter with `cf_<key>=value`."""


@router.get("/custom-fields", response=list[CustomFieldOut], tags=["custom fields"], description=CUSTOM_FIELDS_DOC)
def custom_fields_list(request: AuthedRequest, filters: Query[CustomFieldFilters]) -> Any:
    require_perm(request, "core.view_customfield")
    if filters.record_type:
        record_type_get(filters.record_type)
    return selectors.custom_fields(filters.record_type or None, active_only=not filters.include_inactive)


@router.get("/custom-fields/{field_id}", response=CustomFieldOut, tags=["custom fields"])
def custom_field_detail(request: AuthedRequest, field_id: int) -> Any:
    require_perm(request, "core.view_customfield")
    return get_object_or_404(selectors.custom_fields(), pk=field_id)


@router.post("/custom-fields", response={201: CustomFieldOut}, tags=["custom fields"])
def custom_field_create(request: AuthedRequest, body: CustomFieldIn) -> Any:
    require_perm(request, "core.add_customfield")
    return Status(201, services.custom_field_create(actor=request.user, **body.dict()))


@router.patch("/custom-fields/{field_id}", response=CustomFieldOut, tags=["custom fields"])
def custom_field_update(request: AuthedRequest, field_id: int, body: CustomFieldPatch) -> Any:
    require_perm(request, "core.change_customfield")
    field = get_object_or_404(selectors.custom_fields(), pk=field_id)
    return services.custom_field_update(field=field, actor=request.user, **body.dict(exclude_unset=True))


@router.delete(
    "/custom-fields/{field_id}",
    response=CustomFieldOut,
    tags=["custom fields"],
    description="Deactivates the field: it leaves forms, pages, filters and the API; stored values are kept.",
)
def custom_field_deactivate(request: AuthedRequest, field_id: int) -> Any:
    require_perm(request, "core.change_customfield")
    field = get_object_or_404(selectors.custom_fields(), pk=field_id)
    return services.custom_field_deactivate(field=field, actor=request.user)


@router.get("/tags", response=list[TagOut], tags=["tags"])
@paginate(PageNumbers)
def tags_list(request: AuthedRequest, filters: Query[TagFilters]) -> Any:
    require_perm(request, "core.view_tag")
    return selectors.tags_all(filters.q)


@router.post("/tags", response={201: TagOut}, tags=["tags"])
def tag_create(request: AuthedRequest, body: TagIn) -> Any:
    require_perm(request, "core.add_tag")
    return Status(201, services.tag_create(actor=request.user, **body.dict()))


@router.patch("/tags/{tag_id}", response=TagOut, tags=["tags"])
def tag_update(request: AuthedRequest, tag_id: int, body: TagPatch) -> Any:
    require_perm(request, "core.change_tag")
    tag = get_object_or_404(selectors.tags_all(), pk=tag_id)
    return services.tag_update(tag=tag, actor=request.user, **body.dict(exclude_unset=True))


@router.delete("/tags/{tag_id}", response={204: None}, tags=["tags"])
def tag_delete(request: AuthedRequest, tag_id: int) -> Any:
    require_perm(request, "core.delete_tag")
    tag = get_object_or_404(selectors.tags_all(), pk=tag_id)
    services.tag_delete(tag=tag, actor=request.user)
    return Status(204, None)
