"""Core pages: sign-in, password, notifications, tokens, jobs, users, teams, roles, the audit log, custom fields
and tags."""

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
from django.http import FileResponse, Http404, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from . import jobs, selectors, services
from .customfields import record_type_get
from .forms import (
    AuditFilterForm,
    CustomFieldForm,
    FieldRulesForm,
    LoginForm,
    PasswordChangeForm,
    RolePermissionsForm,
    TagForm,
    TeamForm,
    TokenForm,
    UserForm,
    apply_service_errors,
)
from .http import AuthedRequest
from .jobs import KIND_LABELS
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
