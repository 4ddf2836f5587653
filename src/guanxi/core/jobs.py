"""Jobs: long work on a worker with progress the UI can show.

An app registers a kind with `@job_kind("app.name")`; the function receives the Job and a
`progress(done, total, message)` callable and returns a JSON-able result. `job_start` queues it.
"""

from __future__ import annotations

import csv
import json
import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from .events import record_event
from .models import Event, Job, User

log = logging.getLogger(__name__)

Progress = Callable[[int, int | None, str], None]
JobFunction = Callable[[Job, Progress], Any]
_kinds: dict[str, JobFunction] = {}
KIND_LABELS: dict[str, str] = {}
KIND_PERMISSIONS: dict[str, str] = {}


def job_kind(name: str, label: str, permission: str = "") -> Callable[[JobFunction], JobFunction]:
    """Register a job function under `name`; `label` is its untranslated display name.

    `permission`, when given, is needed to start the job and to open its result (for example an
    export of data that only some roles may read), on top of seeing the job itself.
    """

    def register(fn: JobFunction) -> JobFunction:
        _kinds[name] = fn
        KIND_LABELS[name] = label
        KIND_PERMISSIONS[name] = permission
        return fn

    return register


def job_result_allowed(job: Job, user: Any) -> bool:
    """Whether this user may open the job's result file.

    A result was produced with its owner's view of the data, so only the owner (or an administrator)
    opens it, and only while they still hold the kind's permission.
    """
    permission = KIND_PERMISSIONS.get(job.kind, "")
    if permission and not user.has_perm(permission):
        return False
    return job.owner_id == user.pk or user.sees_everything


def job_kinds() -> dict[str, JobFunction]:
    return dict(_kinds)


@transaction.atomic
def job_start(*, kind: str, actor: User | None, params: dict[str, Any] | None = None) -> Job:
    """Queue a job of a registered kind for the worker; it starts once this transaction commits.

    `actor=None` is the system (a beat schedule): no permission check, no owner, seen by administrators.
    """
    from django.core.exceptions import ValidationError

    if kind not in _kinds:
        raise ValidationError({"kind": _("Unknown job kind.")})
    if actor is not None and (
        not actor.has_perm("core.add_job") or (KIND_PERMISSIONS[kind] and not actor.has_perm(KIND_PERMISSIONS[kind]))
    ):
        from django.core.exceptions import PermissionDenied

        raise PermissionDenied
    team = actor.teams.order_by("id").first() if actor else None  # the same "first team" customer records take
    job = Job.objects.create(kind=kind, owner=actor, team=team, params=params or {})
    record_event(obj=job, action="created", actor=actor, data={"kind": kind})
    from .tasks import job_run

    transaction.on_commit(lambda: job_run.delay(job.pk))
    return job


def job_progress(job: Job, done: int, total: int | None = None, message: str = "") -> None:
    """Save progress at once (outside any transaction), so readers see it while the job runs."""
    job.done, job.message = done, message[:255]
    if total is not None:
        job.total = total
    Job.objects.filter(pk=job.pk).update(done=job.done, total=job.total, message=job.message)


def job_execute(job_id: int) -> Job | None:
    """Run a queued job to its end state; safe to call twice (a finished or running job is left alone)."""
    claimed = Job.objects.filter(pk=job_id, state=Job.State.QUEUED).update(
        state=Job.State.RUNNING, started_at=timezone.now()
    )
    job = Job.objects.filter(pk=job_id).first()
    if job is None or not claimed:
        return job
    fn = _kinds[job.kind]

    def progress(done: int, total: int | None = None, message: str = "") -> None:
        job_progress(job, done, total, message)

    try:
        result = fn(job, progress)
    except Exception as exc:  # the job's failure is its result; the worker carries on
        log.exception("job %s failed", job.pk)
        _job_finish(job, state=Job.State.FAILED, error=f"{type(exc).__name__}: {exc}")
    else:
        _job_finish(job, state=Job.State.SUCCEEDED, result=result)
    return job


@transaction.atomic
def _job_finish(job: Job, *, state: str, result: Any = None, error: str = "") -> None:
    job.state, job.result, job.error, job.finished_at = state, result, error[:5000], timezone.now()
    if state == Job.State.SUCCEEDED and job.total is not None:
        job.done = job.total
    job.save(update_fields=["state", "result", "error", "finished_at", "done"])
    record_event(obj=job, action="status_changed", actor=None, changes={"state": [Job.State.RUNNING, state]})


@transaction.atomic
def jobs_reap_stale(*, older_than_hours: int = 24) -> int:
    """Fail jobs stuck in `running` (their worker died) so their owners are not left waiting."""
    cutoff = timezone.now() - timedelta(hours=older_than_hours)
    stale = list(Job.objects.filter(state=Job.State.RUNNING, started_at__lt=cutoff))
    for job in stale:
        _job_finish(job, state=Job.State.FAILED, error=_("The worker stopped before the job finished."))
    return len(stale)


# --- core's own job kinds ---------------------------------------------------------------------


@job_kind("core.audit_export", gettext_noop("Audit log export"), permission="core.view_event")
def audit_export(job: Job, progress: Progress) -> dict[str, Any]:
    """Write the audit rows the job's owner may see, filtered as asked, to a CSV file."""
    from .selectors import events_filtered

    owner = User.objects.get(pk=job.owner_id or 0)
    rows = events_filtered(user=owner, **job.params).select_related("actor", "content_type")
    total = rows.count()
    progress(0, total, "")
    folder = settings.VAR_DIR / "exports"
    folder.mkdir(parents=True, exist_ok=True)
    name = f"audit-{job.pk}.csv"
    written = 0
    with open(folder / name, "w", newline="", encoding="utf-8-sig") as out:
        writer = csv.writer(out)
        writer.writerow(["id", "occurred_at", "actor", "object_type", "object_id", "object", "action", "changes"])
        for event in rows.iterator(chunk_size=2000):
            writer.writerow(_audit_row(event, owner))
            written += 1
            if written % 1000 == 0:
                progress(written, total, "")
    return {"file": name, "rows": written}


def _audit_row(event: Event, viewer: User) -> list[Any]:
    return [
        event.pk,
        event.occurred_at.isoformat(),
        str(event.actor) if event.actor else event.actor_label,
        event.content_type.model,
        event.object_id,
        event.object_repr,
        event.action,
        json.dumps(event.changes_for(viewer), ensure_ascii=False, cls=DjangoJSONEncoder),
    ]


@job_kind("core.import_check", gettext_noop("Import dry run"), permission="core.add_importbatch")
def import_check_job(job: Job, progress: Progress) -> dict[str, Any]:
    """Check every row of an uploaded file (the dry run) on a worker."""
    from .models import ImportBatch
    from .services import import_check

    batch = ImportBatch.objects.get(pk=job.params["batch"])
    actor = User.objects.get(pk=job.owner_id or 0)
    batch = import_check(batch=batch, actor=actor, progress=progress)
    return {"batch": batch.pk, "rows": batch.total_rows, "bad_rows": batch.bad_rows}


@job_kind("core.import_run", gettext_noop("Import"), permission="core.add_importbatch")
def import_run_job(job: Job, progress: Progress) -> dict[str, Any]:
    """Write a checked file's records, all in one transaction."""
    from .models import ImportBatch
    from .services import import_run

    batch = ImportBatch.objects.get(pk=job.params["batch"])
    return import_run(batch=batch, progress=progress)
