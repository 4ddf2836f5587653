"""Core's own event handlers: the job owner hears when their job ends."""

from django.utils.translation import gettext_noop

from .events import event_handler
from .jobs import KIND_LABELS
from .models import Event, Job
from .services import notification_send


@event_handler
def notify_job_finished(event: Event) -> None:
    """Tell a job's owner it finished; keyed by event id, so a redelivered event notifies once."""
    if event.content_type.model != "job" or event.action != "status_changed":
        return
    job = Job.objects.select_related("owner").filter(pk=event.object_id).first()
    if job is None or job.owner is None:
        return
    title = gettext_noop("%(job)s finished.") if job.state == Job.State.SUCCEEDED else gettext_noop("%(job)s failed.")
    notification_send(
        recipient=job.owner,
        title=title,
        params={"job": f"{KIND_LABELS.get(job.kind, job.kind)} #{job.pk}"},
        url=job.get_absolute_url(),
        event=event,
    )
