"""Who may open core's pages and API endpoints (walked by tests/test_access.py)."""

from __future__ import annotations

import itertools
from typing import Any

from django.conf import settings

from guanxi.core.imports import imports_dir
from guanxi.core.models import ImportBatch, ImportTemplate, Job
from guanxi.core.services import custom_field_create, tag_create, token_create

from ..access import ADMIN_ONLY, SIGNED_IN, STAFF, Case
from ..factories import TeamFactory, UserFactory

AUDITORS = frozenset(["administrator", "manager", "analyst"])
IMPORTERS = frozenset(["administrator", "manager", "sales", "service"])
_seq = itertools.count()

# Pages with a behaviour of their own that the walker cannot express; each has its own tests.
UNWALKED = {
    "login": "tests/core/test_auth.py: signed-in visitors are redirected, failures lock the account",
    "logout": "tests/core/test_auth.py: POST only, ends the session",
}


def import_batch(owner: Any, state: str = ImportBatch.State.UPLOADED) -> ImportBatch:
    """An import of a one-row contact CSV in the given state, made directly (the walker also uses role-less users)."""
    name = f"access-{next(_seq)}.csv"
    (imports_dir() / name).write_text("姓名,手机\n张伟,13800138000\n", encoding="utf-8")
    return ImportBatch.objects.create(
        owner=owner,
        team=owner.teams.first(),
        record_type="customers.contact",
        file_name=name,
        file_format="csv",
        stored_name=name,
        encoding="utf-8",
        headers=["姓名", "手机"],
        mapping={"姓名": "full_name", "手机": "phone"},
        state=state,
        total_rows=1,
        good_rows=1,
    )


def _outsider() -> Any:
    return UserFactory(roles=["sales"], teams=[TeamFactory()])


def own_import(world: dict[str, Any], user: Any) -> dict[str, Any]:
    return {"pk": import_batch(user).pk}


def outsiders_import(world: dict[str, Any], user: Any) -> dict[str, Any]:
    return {"pk": import_batch(_outsider()).pk}


def own_checked_import(world: dict[str, Any], user: Any) -> dict[str, Any]:
    return {"pk": import_batch(user, ImportBatch.State.CHECKED).pk}


def outsiders_checked_import(world: dict[str, Any], user: Any) -> dict[str, Any]:
    return {"pk": import_batch(_outsider(), ImportBatch.State.CHECKED).pk}


def own_done_import(world: dict[str, Any], user: Any) -> dict[str, Any]:
    return {"pk": import_batch(user, ImportBatch.State.DONE).pk}


def outsiders_done_import(world: dict[str, Any], user: Any) -> dict[str, Any]:
    return {"pk": import_batch(_outsider(), ImportBatch.State.DONE).pk}


def _api(args: Any) -> Any:
    return lambda world, user: {"import_id": args(world, user)["pk"]}


def own_template(world: dict[str, Any], user: Any) -> dict[str, Any]:
    template = ImportTemplate.objects.create(owner=user, record_type="customers.contact", name=f"t{next(_seq)}")
    return {"template_id": template.pk}


def outsiders_template(world: dict[str, Any], user: Any) -> dict[str, Any]:
    template = ImportTemplate.objects.create(owner=_outsider(), record_type="customers.contact", name=f"t{next(_seq)}")
    return {"template_id": template.pk}


def own_job(world: dict[str, Any], user: Any) -> dict[str, Any]:
    return {"pk": Job.objects.create(kind="core.audit_export", owner=user).pk}


def own_job_api(world: dict[str, Any], user: Any) -> dict[str, Any]:
    return {"job_id": own_job(world, user)["pk"]}


def outsiders_job(world: dict[str, Any], user: Any) -> dict[str, Any]:
    """A job owned by someone in a team nobody else in the world belongs to."""
    outsider = UserFactory(roles=["sales"], teams=[TeamFactory()])
    return {"pk": Job.objects.create(kind="core.audit_export", owner=outsider, team=outsider.teams.first()).pk}


def outsiders_job_api(world: dict[str, Any], user: Any) -> dict[str, Any]:
    return {"job_id": outsiders_job(world, user)["pk"]}


def finished_export(world: dict[str, Any], user: Any) -> dict[str, Any]:
    job = Job.objects.create(kind="core.audit_export", owner=user, state=Job.State.SUCCEEDED)
    folder = settings.VAR_DIR / "exports"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"audit-{job.pk}.csv").write_text("id\n")
    job.result = {"file": f"audit-{job.pk}.csv", "rows": 0}
    job.save()
    return {"pk": job.pk}


def own_token(world: dict[str, Any], user: Any) -> dict[str, Any]:
    return {"pk": token_create(user=user, name="walker")[0].pk}


def own_token_api(world: dict[str, Any], user: Any) -> dict[str, Any]:
    return {"token_id": own_token(world, user)["pk"]}


def nobody(world: dict[str, Any], user: Any) -> dict[str, Any]:
    return {"pk": world["users"]["nobody"].pk}


def east_team(world: dict[str, Any], user: Any) -> dict[str, Any]:
    return {"pk": world["teams"]["east"].pk}


PAGES = [
    Case("home", SIGNED_IN),
    Case("healthz", SIGNED_IN, public=True),
    Case("api-docs", SIGNED_IN, public=True),
    Case("set-language", SIGNED_IN, ok=302, method="POST", body=lambda w, u: {"language": "en"}, public=True),
    Case("password-change", SIGNED_IN),
    Case("token-list", SIGNED_IN),
    Case("token-revoke", SIGNED_IN, ok=302, method="POST", args=own_token),
    Case("notification-list", SIGNED_IN),
    Case("notifications-read", SIGNED_IN, ok=302, method="POST"),
    Case("job-list", STAFF),
    Case("job-detail", STAFF, args=own_job, in_scope_only=outsiders_job),
    Case("job-download", AUDITORS, args=finished_export),  # an audit export needs view_event to open
    Case("user-list", ADMIN_ONLY),
    Case("user-create", ADMIN_ONLY),
    Case("user-detail", ADMIN_ONLY, args=nobody),
    Case("user-edit", ADMIN_ONLY, args=nobody),
    Case("user-unlock", ADMIN_ONLY, ok=302, method="POST", args=nobody),
    Case("team-list", ADMIN_ONLY),
    Case("team-create", ADMIN_ONLY),
    Case("team-detail", ADMIN_ONLY, args=east_team),
    Case("team-edit", ADMIN_ONLY, args=east_team),
    Case("role-list", ADMIN_ONLY),
    Case("role-edit", ADMIN_ONLY, args=lambda w, u: {"name": "sales"}),
    Case("audit-log", AUDITORS),
    Case("import-list", IMPORTERS),
    Case("import-create", IMPORTERS),
    Case("import-detail", IMPORTERS, args=own_import, in_scope_only=outsiders_import),
    Case(
        "import-map",
        IMPORTERS,
        ok=302,
        method="POST",
        args=own_import,
        in_scope_only=outsiders_import,
        body=lambda w, u: {"col_0": "full_name", "col_1": "phone"},
    ),
    Case(
        "import-run", IMPORTERS, ok=302, method="POST", args=own_checked_import, in_scope_only=outsiders_checked_import
    ),
    Case("import-undo", IMPORTERS, ok=302, method="POST", args=own_done_import, in_scope_only=outsiders_done_import),
]

ENDPOINTS = [
    Case("GET /me", SIGNED_IN),
    Case("PATCH /me", SIGNED_IN, body=lambda w, u: {"language": "en"}),
    Case("GET /users", STAFF),
    Case("GET /users/{user_id}", STAFF, args=lambda w, u: {"user_id": w["users"]["nobody"].pk}),
    Case(
        "POST /users",
        ADMIN_ONLY,
        ok=201,
        body=lambda w, u: {"email": f"new{next(_seq)}@example.com", "full_name": "新同事 New colleague"},
    ),
    Case(
        "PATCH /users/{user_id}",
        ADMIN_ONLY,
        args=lambda w, u: {"user_id": w["users"]["nobody"].pk},
        body=lambda w, u: {"full_name": "改名 Renamed"},
    ),
    Case("GET /teams", STAFF),
    Case("GET /teams/{team_id}", STAFF, args=lambda w, u: {"team_id": w["teams"]["east"].pk}),
    Case("POST /teams", ADMIN_ONLY, ok=201, body=lambda w, u: {"name": f"新团队 {next(_seq)}"}),
    Case(
        "PATCH /teams/{team_id}",
        ADMIN_ONLY,
        args=lambda w, u: {"team_id": w["teams"]["east"].pk},
        body=lambda w, u: {"name": f"华东 East {next(_seq)}"},
    ),
    Case("GET /roles", ADMIN_ONLY),
    Case("GET /tokens", SIGNED_IN),
    Case("POST /tokens", SIGNED_IN, ok=201, body=lambda w, u: {"name": "script"}),
    Case("DELETE /tokens/{token_id}", SIGNED_IN, args=own_token_api),
    Case("GET /jobs", STAFF),
    Case("GET /jobs/{job_id}", STAFF, args=own_job_api, in_scope_only=outsiders_job_api),
    Case("GET /events", AUDITORS),
    Case("POST /events/export", AUDITORS, ok=202, body=lambda w, u: {}),
    Case("GET /notifications", SIGNED_IN),
    Case("POST /notifications/read", SIGNED_IN, body=lambda w, u: {}),
    Case("GET /imports", IMPORTERS),
    # the walker sends JSON, not a multipart file: allowed roles pass the permission gate and are told to choose a file
    Case("POST /imports", IMPORTERS, ok=422, body=lambda w, u: {}),
    Case("GET /imports/{import_id}", IMPORTERS, args=_api(own_import), in_scope_only=_api(outsiders_import)),
    Case(
        "POST /imports/{import_id}/run",
        IMPORTERS,
        ok=202,
        args=_api(own_checked_import),
        in_scope_only=_api(outsiders_checked_import),
        body=lambda w, u: {},
    ),
    Case(
        "POST /imports/{import_id}/undo",
        IMPORTERS,
        args=_api(own_done_import),
        in_scope_only=_api(outsiders_done_import),
    ),
    Case("GET /import-templates", IMPORTERS),
    Case(
        "POST /import-templates",
        IMPORTERS,
        ok=201,
        body=lambda w, u: {"name": f"Outlook {next(_seq)}", "record_type": "customers.contact", "mapping": {}},
    ),
    Case(
        "PATCH /import-templates/{template_id}",
        IMPORTERS,
        args=own_template,
        in_scope_only=outsiders_template,
        body=lambda w, u: {"name": f"改名 {next(_seq)}"},
    ),
    Case(
        "DELETE /import-templates/{template_id}", IMPORTERS, ok=204, args=own_template, in_scope_only=outsiders_template
    ),
]


# --- custom fields, required-field rules and tags ----------------------------------------------

TAGGERS = frozenset(["administrator", "manager", "sales", "service"])


def a_field(world: dict[str, Any], user: Any) -> dict[str, Any]:
    field = custom_field_create(
        actor=None, record_type="contact", key=f"level_{next(_seq)}", label="会员等级", kind="choice", choices=["gold"]
    )
    return {"pk": field.pk}


def a_tag(world: dict[str, Any], user: Any) -> dict[str, Any]:
    return {"pk": tag_create(name=f"重点客户 {next(_seq)}", actor=None).pk}


def _new_field(world: dict[str, Any], user: Any) -> dict[str, Any]:
    return {"record_type": "account", "key": f"annual_{next(_seq)}", "label": "年采购额", "kind": "money"}


PAGES += [
    Case("custom-field-list", ADMIN_ONLY),
    Case("custom-field-create", ADMIN_ONLY),
    Case("custom-field-create", ADMIN_ONLY, ok=302, method="POST", body=_new_field),
    Case("custom-field-edit", ADMIN_ONLY, args=a_field),
    Case("custom-field-deactivate", ADMIN_ONLY, ok=302, method="POST", args=a_field),
    Case("field-rules-edit", ADMIN_ONLY, args=lambda w, u: {"record_type": "contact"}),
    Case(
        "field-rules-edit",
        ADMIN_ONLY,
        ok=302,
        method="POST",
        args=lambda w, u: {"record_type": "account"},
        body=lambda w, u: {"required": ["industry"]},
    ),
    Case("tag-list", ADMIN_ONLY),
    Case(
        "tag-list", ADMIN_ONLY, ok=302, method="POST", body=lambda w, u: {"name": f"VIP {next(_seq)}", "colour": "red"}
    ),
    Case("tag-edit", ADMIN_ONLY, args=a_tag),
    Case("tag-delete", ADMIN_ONLY, ok=302, method="POST", args=a_tag),
]


def _api(args: Any, key: str) -> Any:
    return lambda world, user: {key: args(world, user)["pk"]}


ENDPOINTS += [
    Case("GET /custom-fields", STAFF),
    Case("GET /custom-fields/{field_id}", STAFF, args=_api(a_field, "field_id")),
    Case("POST /custom-fields", ADMIN_ONLY, ok=201, body=_new_field),
    Case(
        "PATCH /custom-fields/{field_id}",
        ADMIN_ONLY,
        args=_api(a_field, "field_id"),
        body=lambda w, u: {"label_en": "Membership level"},
    ),
    Case("DELETE /custom-fields/{field_id}", ADMIN_ONLY, args=_api(a_field, "field_id")),
    Case("GET /tags", STAFF),
    Case("POST /tags", TAGGERS, ok=201, body=lambda w, u: {"name": f"老客户 {next(_seq)}"}),
    Case("PATCH /tags/{tag_id}", ADMIN_ONLY, args=_api(a_tag, "tag_id"), body=lambda w, u: {"colour": "green"}),
    Case("DELETE /tags/{tag_id}", ADMIN_ONLY, ok=204, args=_api(a_tag, "tag_id")),
]
