"""Core pages: sign-in, password, notifications, tokens, jobs, users, teams, roles and the audit log."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpResponse, QueryDict
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from . import jobs, selectors, services
from .customfields import record_type_get
from .forms import (
    AuditFilterForm,
    BulkActionForm,
    CustomFieldForm,
    FieldRulesForm,
    ImportMappingForm,
    ImportRunForm,
    ImportUploadForm,
    ListExportForm,
    LoginForm,
    PasswordChangeForm,
    RolePermissionsForm,
    SavedViewForm,
    TagForm,
    TeamForm,
    TokenForm,
    UserForm,
    apply_service_errors,
)
from .http import AuthedRequest
from .jobs import KIND_LABELS
from .listviews import ListQuery, ListSpec, list_export_start, list_form, list_query_parse, list_rows, list_spec_named
from .models import ImportBatch, SavedView
from .pii import pii_log_views
from .roles import ROLES

View = Callable[..., HttpResponseBase]
PAGE_SIZE = 50


def staff_perm(perm: str) -> Callable[[View], View]:
    """Sign-in first (redirect), then the permission (403)."""

    def decorate(view: View) -> View:
        @login_required
        @wraps(view)
        def guarded(request: AuthedRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not request.user.has_perm(perm):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return guarded

    return decorate


def page_of(request: AuthedRequest, rows: Any) -> Any:
    return Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))


class LoginView(auth_views.LoginView):
    form_class = LoginForm
    template_name = "core/login.html"
    redirect_authenticated_user = True

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        user = form.get_user()
        if user.language:
            response.set_cookie(settings.LANGUAGE_COOKIE_NAME, user.language, max_age=365 * 24 * 3600)
        return response


@login_required
def password_change(request: AuthedRequest) -> HttpResponse:
    form = PasswordChangeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.user_change_password(
                user=request.user,
                old_password=form.cleaned_data["old_password"],
                new_password=form.cleaned_data["new_password"],
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            update_session_auth_hash(request, request.user)
            messages.success(request, _("Your password has been changed."))
            return redirect("home")
    return render(request, "core/password_change.html", {"form": form})


# --- notifications ----------------------------------------------------------------------------


@login_required
def notification_list(request: AuthedRequest) -> HttpResponse:
    page = page_of(request, selectors.notifications_for(request.user))
    return render(request, "core/notification_list.html", {"page": page})


@login_required
@require_POST
def notifications_read(request: AuthedRequest) -> HttpResponse:
    ids = [int(i) for i in request.POST.getlist("id") if i.isdigit()] or None
    services.notifications_mark_read(recipient=request.user, ids=ids)
    return redirect(request.POST.get("next") or "notification-list")


# --- API tokens -------------------------------------------------------------------------------


@login_required
def token_list(request: AuthedRequest) -> HttpResponse:
    form = TokenForm(request.POST or None)
    created = None
    if request.method == "POST" and form.is_valid():
        try:
            _token, created = services.token_create(
                user=request.user, name=form.cleaned_data["name"], expires_at=form.cleaned_data["expires_at"]
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            form = TokenForm()
    context = {"form": form, "created": created, "tokens": selectors.tokens_of(request.user)}
    return render(request, "core/token_list.html", context)


@login_required
@require_POST
def token_revoke(request: AuthedRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(selectors.tokens_of(request.user), pk=pk)
    services.token_revoke(token=token, actor=request.user)
    messages.success(request, _("The token has been revoked."))
    return redirect("token-list")


# --- jobs -------------------------------------------------------------------------------------


@staff_perm("core.view_job")
def job_list(request: AuthedRequest) -> HttpResponse:
    page = page_of(request, selectors.jobs_visible_to(request.user))
    return render(request, "core/job_list.html", {"page": page, "kind_labels": KIND_LABELS})


@staff_perm("core.view_job")
def job_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(selectors.jobs_visible_to(request.user), pk=pk)
    template = "core/_job_progress.html" if request.htmx else "core/job_detail.html"
    context = {
        "job": job,
        "kind_label": KIND_LABELS.get(job.kind, job.kind),
        "can_open_result": jobs.job_result_allowed(job, request.user),
    }
    return render(request, template, context)


@staff_perm("core.view_job")
def job_download(request: AuthedRequest, pk: int) -> HttpResponseBase:
    job = get_object_or_404(selectors.jobs_visible_to(request.user), pk=pk)
    if not jobs.job_result_allowed(job, request.user):
        raise PermissionDenied
    name = (job.result or {}).get("file") if isinstance(job.result, dict) else None
    path = settings.VAR_DIR / "exports" / str(name or "")
    if not name or not path.is_file() or path.parent != settings.VAR_DIR / "exports":
        raise Http404
    return FileResponse(open(path, "rb"), as_attachment=True, filename=name)


# --- users ------------------------------------------------------------------------------------


@staff_perm("core.change_user")
def user_list(request: AuthedRequest) -> HttpResponse:
    q = request.GET.get("q", "").strip()
    role = request.GET.get("role", "")
    rows = selectors.users_filtered(user=request.user, q=q, role=role).prefetch_related("teams")
    page = page_of(request, rows)
    pii_log_views(user=request.user, records=page.object_list, fields=["email", "phone"], channel="page")
    return render(request, "core/user_list.html", {"page": page, "q": q, "role": role, "roles": ROLES})


@staff_perm("core.change_user")
def user_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    user = get_object_or_404(selectors.users_visible_to(request.user).prefetch_related("teams"), pk=pk)
    pii_log_views(user=request.user, records=[user], fields=["email", "phone"], channel="page")
    history = page_of(request, selectors.object_history(user))
    return render(request, "core/user_detail.html", {"subject": user, "history": history, "roles": ROLES})


@staff_perm("core.add_user")
def user_create(request: AuthedRequest) -> HttpResponse:
    form = UserForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user = services.user_create(
                email=data["email"],
                full_name=data["full_name"],
                password=data["password"] or None,
                phone=data["phone"],
                language=data["language"],
                roles=list(data["roles"]),
                teams=list(data["teams"]),
                actor=request.user,
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("User %(name)s created.") % {"name": user})
            return redirect(user)
    return render(request, "core/form.html", {"form": form, "title": _("New user"), "back": "user-list"})


@staff_perm("core.change_user")
def user_edit(request: AuthedRequest, pk: int) -> HttpResponse:
    user = get_object_or_404(selectors.users_visible_to(request.user), pk=pk)
    initial = {
        "email": user.email,
        "full_name": user.full_name,
        "phone": user.phone,
        "language": user.language,
        "is_active": user.is_active,
        "roles": user.role_names,
        "teams": list(user.teams.all()),
    }
    form = UserForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        password = data.pop("password")
        try:
            services.user_update(
                user=user, actor=request.user, roles=list(data.pop("roles")), teams=list(data.pop("teams")), **data
            )
            if password:
                services.user_set_password(user=user, password=password, actor=request.user)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("Changes saved."))
            return redirect(user)
    return render(request, "core/form.html", {"form": form, "title": user, "back": "user-list"})


@staff_perm("core.change_user")
@require_POST
def user_unlock(request: AuthedRequest, pk: int) -> HttpResponse:
    user = get_object_or_404(selectors.users_visible_to(request.user), pk=pk)
    services.user_unlock(user=user, actor=request.user)
    messages.success(request, _("The account is unlocked."))
    return redirect(user)


# --- teams ------------------------------------------------------------------------------------


@staff_perm("core.change_team")
def team_list(request: AuthedRequest) -> HttpResponse:
    teams = selectors.teams_visible_to(request.user).order_by("name")
    return render(request, "core/team_list.html", {"page": page_of(request, teams)})


@staff_perm("core.change_team")
def team_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    team = get_object_or_404(selectors.teams_visible_to(request.user), pk=pk)
    history = page_of(request, selectors.object_history(team))
    members = team.members.order_by("full_name")
    return render(request, "core/team_detail.html", {"team": team, "members": members, "history": history})


@staff_perm("core.add_team")
def team_create(request: AuthedRequest) -> HttpResponse:
    form = TeamForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        try:
            team = services.team_create(actor=request.user, members=list(data.pop("members")), **data)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("Team %(name)s created.") % {"name": team})
            return redirect(team)
    return render(request, "core/form.html", {"form": form, "title": _("New team"), "back": "team-list"})


@staff_perm("core.change_team")
def team_edit(request: AuthedRequest, pk: int) -> HttpResponse:
    team = get_object_or_404(selectors.teams_visible_to(request.user), pk=pk)
    initial = {"name": team.name, "parent": team.parent, "manager": team.manager, "members": list(team.members.all())}
    form = TeamForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        try:
            services.team_update(team=team, actor=request.user, members=list(data.pop("members")), **data)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("Changes saved."))
            return redirect(team)
    return render(request, "core/form.html", {"form": form, "title": team, "back": "team-list"})


# --- roles ------------------------------------------------------------------------------------


@staff_perm("auth.change_group")
def role_list(request: AuthedRequest) -> HttpResponse:
    roles = [(g, ROLES.get(g.name, g.name)) for g in selectors.roles_with_permissions().order_by("id")]
    return render(request, "core/role_list.html", {"roles": roles})


@staff_perm("auth.change_group")
def role_edit(request: AuthedRequest, name: str) -> HttpResponse:
    role = get_object_or_404(Group, name=name)
    form = RolePermissionsForm(request.POST or None, initial={"permissions": list(role.permissions.all())})
    if request.method == "POST" and form.is_valid():
        try:
            services.role_set_permissions(
                role=role, permissions=list(form.cleaned_data["permissions"]), actor=request.user
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("Changes saved."))
            return redirect("role-list")
    title = ROLES.get(role.name, role.name)
    return render(request, "core/form.html", {"form": form, "title": title, "back": "role-list"})


# --- audit ------------------------------------------------------------------------------------


@staff_perm("core.view_event")
def audit_log(request: AuthedRequest) -> HttpResponse:
    form = AuditFilterForm(request.GET or None)
    filters = form.filters()
    if request.method == "POST":
        form = AuditFilterForm(request.POST)
        job = jobs.job_start(kind="core.audit_export", actor=request.user, params=_json_filters(form.filters()))
        return redirect(job)
    page = page_of(request, selectors.events_filtered(user=request.user, **filters))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "core/audit_log.html", {"form": form, "page": page, "query": query.urlencode()})


def _json_filters(filters: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in filters.items()}


# --- list views -------------------------------------------------------------------------------


def list_page(request: AuthedRequest, spec: ListSpec, template: str) -> HttpResponse:
    """A list page: the view in the query string (or the user's default saved view), one page of its rows,
    the filter panel, column choice, saved views, export and the bulk bar."""
    params = request.GET
    if not params:
        default = selectors.saved_view_default(request.user, spec.name)
        if default is not None:
            return redirect(f"{request.path}?{default.query}&view={default.pk}")
    errors: dict[str, list[str]] = {}
    try:
        query = list_query_parse(spec, params, request.user)
    except ValidationError as exc:
        errors = exc.message_dict
        query = list_query_parse(spec, {}, request.user)
        rows = spec.rows(request.user, "", False).none()
    else:
        rows = list_rows(query, request.user)
    page = page_of(request, rows)
    if query.pii_fields:
        pii_log_views(user=request.user, records=page.object_list, fields=query.pii_fields, channel="page")
    views = list(selectors.saved_views_for(request.user, spec.name))
    active = next((v for v in views if str(v.pk) == params.get("view")), None)
    bulk = spec.bulk_for(request.user, archived=query.archived)
    context = {
        "spec": spec,
        "lv": query,
        "filter_form": list_form(spec, params, request.user),
        "errors": errors,
        "page": page,
        "q": query.q,
        "query": query.urlencode(),
        "view_query": query.view_query(),
        "headers": [
            {
                "column": c,
                "sort": query.sort_query(c) if c.sort else "",
                "state": ("desc" if query.descending else "asc") if query.sort == c.key else "",
            }
            for c in query.columns
        ],
        "column_choice": _column_choice(spec, query),
        "saved_views": views,
        "active_view": active,
        "bulk_actions": bulk,
        "bulk_form": BulkActionForm() if bulk else None,
        "needs_owner": any("owner" in a.options for a in bulk),
        "can_list_archived": bool(spec.archive_permission and request.user.has_perm(spec.archive_permission)),
        "filter_count": len([k for k in query.raw if k in query.values]),
    }
    return render(request, template, context, status=400 if errors else 200)


def _column_choice(spec: ListSpec, query: ListQuery) -> list[tuple[Any, bool]]:
    """Every column of the list, the shown ones first in their order, each with whether it is shown."""
    shown = [c.key for c in query.columns]
    every = spec.all_columns()
    rest = [c for key, c in every.items() if key not in shown]
    return [(every[key], True) for key in shown] + [(c, False) for c in rest]


def _form_errors(form: Any) -> str:
    return " ".join(str(m) for ms in form.errors.values() for m in ms)


def _spec_for(request: AuthedRequest, list_name: str) -> ListSpec:
    spec = list_spec_named(list_name)
    if spec is None:
        raise Http404
    if not request.user.has_perm(spec.permission):
        raise PermissionDenied
    return spec


def _back(request: AuthedRequest, spec: ListSpec, query: str = "") -> HttpResponse:
    url = reverse(spec.url_name)
    return redirect(f"{url}?{query}" if query else url)


@login_required
@require_POST
def list_columns(request: AuthedRequest, list_name: str) -> HttpResponse:
    spec = _spec_for(request, list_name)
    try:
        services.list_layout_set(user=request.user, list_name=spec.name, columns=request.POST.getlist("cols"))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    query = QueryDict(request.POST.get("query", ""), mutable=True)
    query.pop("cols", None)  # the list now shows the columns just remembered
    return _back(request, spec, query.urlencode())


@login_required
@require_POST
def saved_view_create(request: AuthedRequest, list_name: str) -> HttpResponse:
    spec = _spec_for(request, list_name)
    form = SavedViewForm(request.POST)
    if not form.is_valid():
        messages.error(request, _form_errors(form))
        return _back(request, spec, request.POST.get("query", ""))
    data = form.cleaned_data
    try:
        view = services.saved_view_create(
            owner=request.user,
            list_name=spec.name,
            name=data["name"],
            query=data["query"],
            shared=data["shared"],
            is_default=data["is_default"],
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return _back(request, spec, data["query"])
    messages.success(request, _("View “%(name)s” saved.") % {"name": view.name})
    return _back(request, spec, f"{view.query}&view={view.pk}")


@login_required
@require_POST
def saved_view_update(request: AuthedRequest, pk: int) -> HttpResponse:
    view = get_object_or_404(SavedView.objects.filter(owner=request.user), pk=pk)
    spec = _spec_for(request, view.list_name)
    form = SavedViewForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.saved_view_update(
                view=view,
                actor=request.user,
                name=data["name"],
                query=data["query"] if data["replace_query"] else None,
                shared=data["shared"],
                is_default=data["is_default"],
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("Changes saved."))
    else:
        messages.error(request, _form_errors(form))
    view.refresh_from_db()
    return _back(request, spec, f"{view.query}&view={view.pk}")


@login_required
@require_POST
def saved_view_delete(request: AuthedRequest, pk: int) -> HttpResponse:
    view = get_object_or_404(SavedView.objects.filter(owner=request.user), pk=pk)
    spec = _spec_for(request, view.list_name)
    services.saved_view_delete(view=view, actor=request.user)
    messages.success(request, _("View “%(name)s” deleted.") % {"name": view.name})
    return _back(request, spec, "view=0")


@login_required
@require_POST
def list_export(request: AuthedRequest, list_name: str) -> HttpResponse:
    spec = _spec_for(request, list_name)
    form = ListExportForm(request.POST)
    if form.is_valid():
        try:
            job = list_export_start(
                spec=spec, query=form.cleaned_data["query"], file_format=form.cleaned_data["format"], actor=request.user
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            return redirect(job)
    else:
        messages.error(request, _form_errors(form))
    return _back(request, spec, request.POST.get("query", ""))


@login_required
@require_POST
def list_bulk(request: AuthedRequest, list_name: str) -> HttpResponse:
    spec = _spec_for(request, list_name)
    form = BulkActionForm(request.POST)
    back = request.POST.get("query", "")
    if not form.is_valid():
        messages.error(request, _form_errors(form))
        return _back(request, spec, back)
    action = next((a for a in spec.bulk_actions if a.key == form.cleaned_data["action"]), None)
    if action is None:
        messages.error(request, _("Choose an action."))
        return _back(request, spec, back)
    if not request.user.has_perm(action.permission):
        raise PermissionDenied
    ids = [int(i) for i in request.POST.getlist("ids") if i.isdigit()]
    options = {name: form.cleaned_data[name] for name in action.options}
    try:
        count = action.run(ids=ids, actor=request.user, **options)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request, _("%(action)s: %(count)s records changed.") % {"action": action.label, "count": count}
        )
    return _back(request, spec, back)


# --- imports ----------------------------------------------------------------------------------


@staff_perm("core.view_importbatch")
def import_list(request: AuthedRequest) -> HttpResponse:
    page = page_of(request, selectors.imports_visible_to(request.user))
    return render(request, "core/import_list.html", {"page": page, "type_labels": _import_labels()})


def _import_labels() -> dict[str, Any]:
    from .imports import import_types

    return {name: kind.label for name, kind in import_types().items()}


@staff_perm("core.add_importbatch")
def import_create(request: AuthedRequest) -> HttpResponse:
    form = ImportUploadForm(request.POST or None, request.FILES or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            batch = services.import_upload(
                actor=request.user,
                record_type=data["record_type"],
                upload=data["file"],
                template=data["template"],
                sheet=data["sheet"],
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            return redirect(batch)
    return render(request, "core/import_create.html", {"form": form})


def _import_context(request: AuthedRequest, batch: ImportBatch) -> dict[str, Any]:
    from .imports import import_types

    kind = import_types()[batch.record_type]
    targets = kind.targets()
    context: dict[str, Any] = {
        "batch": batch,
        "type_label": kind.label,
        "targets": targets,
        "can_undo": services.import_may_undo(batch, request.user),
        "can_act": batch.owner_id == request.user.pk or request.user.sees_everything,
        "can_open_errors": bool(batch.job and jobs.job_result_allowed(batch.job, request.user)),
    }
    if batch.state == ImportBatch.State.UPLOADED:
        context["mapping_form"] = ImportMappingForm(batch=batch, targets=targets)
        context["columns"] = [
            (context["mapping_form"][f"col_{i}"], [row[i] if i < len(row) else "" for row in batch.samples])
            for i in range(len(batch.headers))
        ]
    if batch.state == ImportBatch.State.CHECKED:
        context["run_form"] = ImportRunForm(initial={"skip_bad_rows": "1" if batch.skip_bad_rows else "0"})
        context["problems"] = Paginator(batch.problems, PAGE_SIZE).get_page(request.GET.get("page"))
        context["duplicates"] = Paginator(batch.duplicates, PAGE_SIZE).get_page(request.GET.get("dpage"))
    return context


@staff_perm("core.view_importbatch")
def import_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    batch = get_object_or_404(selectors.imports_visible_to(request.user), pk=pk)
    template = "core/_import_state.html" if request.htmx else "core/import_detail.html"
    return render(request, template, _import_context(request, batch))


def _own_import(request: AuthedRequest, pk: int) -> ImportBatch:
    batch = get_object_or_404(selectors.imports_visible_to(request.user), pk=pk)
    if batch.owner_id != request.user.pk and not request.user.sees_everything:
        raise PermissionDenied
    return batch


@staff_perm("core.add_importbatch")
@require_POST
def import_map(request: AuthedRequest, pk: int) -> HttpResponse:
    """Save the column mapping and start the dry run."""
    from .imports import import_types

    batch = _own_import(request, pk)
    form = ImportMappingForm(request.POST, batch=batch, targets=import_types()[batch.record_type].targets())
    if form.is_valid():
        try:
            services.import_map(batch=batch, actor=request.user, mapping=form.mapping())
            services.import_check_start(batch=batch, actor=request.user)
        except ValidationError as exc:
            for messages_ in exc.message_dict.values():
                for message in messages_:
                    messages.error(request, message)
    return redirect(batch)


@staff_perm("core.add_importbatch")
@require_POST
def import_run(request: AuthedRequest, pk: int) -> HttpResponse:
    """Confirm the checked file: start the import job."""
    batch = _own_import(request, pk)
    form = ImportRunForm(request.POST)
    skip = form.cleaned_data["skip_bad_rows"] if form.is_valid() else None
    try:
        services.import_run_start(batch=batch, actor=request.user, skip_bad_rows=skip)
    except ValidationError as exc:
        for messages_ in exc.message_dict.values():
            for message in messages_:
                messages.error(request, message)
    return redirect(batch)


@staff_perm("core.add_importbatch")
@require_POST
def import_undo(request: AuthedRequest, pk: int) -> HttpResponse:
    batch = get_object_or_404(selectors.imports_visible_to(request.user), pk=pk)
    try:
        batch = services.import_undo(batch=batch, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(m for ms in exc.message_dict.values() for m in ms))
    else:
        messages.success(
            request,
            _("Import undone: %(removed)s records removed, %(kept)s kept because they were changed since.")
            % {"removed": batch.removed_count, "kept": batch.kept_count},
        )
    return redirect(batch)


# --- custom fields and required-field rules ---------------------------------------------------


@staff_perm("core.change_customfield")
def custom_field_list(request: AuthedRequest) -> HttpResponse:
    return render(request, "core/custom_field_list.html", {"groups": selectors.custom_fields_by_type()})


@staff_perm("core.add_customfield")
def custom_field_create(request: AuthedRequest) -> HttpResponse:
    form = CustomFieldForm(request.POST or None, initial={"record_type": request.GET.get("record_type", "")})
    if request.method == "POST" and form.is_valid():
        try:
            field = services.custom_field_create(actor=request.user, **form.definition())
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("Custom field %(name)s created.") % {"name": field})
            return redirect("custom-field-list")
    title = _("New custom field")
    return render(request, "core/form.html", {"form": form, "title": title, "back": "custom-field-list"})


@staff_perm("core.change_customfield")
def custom_field_edit(request: AuthedRequest, pk: int) -> HttpResponse:
    field = get_object_or_404(selectors.custom_fields(), pk=pk)
    initial: dict[str, Any] = {
        name: getattr(field, name)
        for name in ("record_type", "key", "label", "label_en", "kind", "required", "unique", "help_text")
    }
    initial.update(position=field.position, active=field.active, **(field.rules or {}))
    initial["choices"] = "\n".join(
        c["value"] if c["label"] == c["value"] else f"{c['value']} | {c['label']}" for c in field.choices or []
    )
    form = CustomFieldForm(request.POST or None, initial=initial, editing=True)
    if request.method == "POST" and form.is_valid():
        data = form.definition()
        for fixed in ("record_type", "key", "kind"):
            data.pop(fixed)
        try:
            services.custom_field_update(field=field, actor=request.user, **data)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("Changes saved."))
            return redirect("custom-field-list")
    return render(request, "core/form.html", {"form": form, "title": field, "back": "custom-field-list"})


@require_POST
@staff_perm("core.change_customfield")
def custom_field_deactivate(request: AuthedRequest, pk: int) -> HttpResponse:
    field = get_object_or_404(selectors.custom_fields(), pk=pk)
    services.custom_field_deactivate(field=field, actor=request.user)
    messages.success(request, _("%(name)s is deactivated; its values are kept.") % {"name": field})
    return redirect("custom-field-list")


@staff_perm("core.change_fieldrule")
def field_rules_edit(request: AuthedRequest, record_type: str) -> HttpResponse:
    try:
        kind = record_type_get(record_type)
    except ValidationError:
        raise Http404 from None
    initial = {"required": selectors.required_fields_of(kind.key)}
    form = FieldRulesForm(request.POST or None, initial=initial, record_type=kind)
    if request.method == "POST" and form.is_valid():
        try:
            services.field_rules_set(record_type=kind.key, required=form.cleaned_data["required"], actor=request.user)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("Changes saved."))
            return redirect("custom-field-list")
    title = _("Required fields: %(type)s") % {"type": kind.label}
    return render(request, "core/form.html", {"form": form, "title": title, "back": "custom-field-list"})


# --- tags -------------------------------------------------------------------------------------


@staff_perm("core.change_tag")
def tag_list(request: AuthedRequest) -> HttpResponse:
    form = TagForm(request.POST or None)
    if request.method == "POST":
        if not request.user.has_perm("core.add_tag"):
            raise PermissionDenied
        if form.is_valid():
            try:
                tag = services.tag_create(actor=request.user, **form.cleaned_data)
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, _("Tag %(name)s created.") % {"name": tag})
                return redirect("tag-list")
    q = request.GET.get("q", "").strip()
    context = {"form": form, "page": page_of(request, selectors.tags_all(q)), "q": q}
    return render(request, "core/tag_list.html", context)


@staff_perm("core.change_tag")
def tag_edit(request: AuthedRequest, pk: int) -> HttpResponse:
    tag = get_object_or_404(selectors.tags_all(), pk=pk)
    form = TagForm(request.POST or None, initial={"name": tag.name, "colour": tag.colour})
    if request.method == "POST" and form.is_valid():
        try:
            services.tag_update(tag=tag, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("Changes saved."))
            return redirect("tag-list")
    return render(request, "core/form.html", {"form": form, "title": tag, "back": "tag-list"})


@require_POST
@staff_perm("core.delete_tag")
def tag_delete(request: AuthedRequest, pk: int) -> HttpResponse:
    tag = get_object_or_404(selectors.tags_all(), pk=pk)
    services.tag_delete(tag=tag, actor=request.user)
    messages.success(request, _("Tag %(name)s deleted.") % {"name": tag})
    return redirect("tag-list")
