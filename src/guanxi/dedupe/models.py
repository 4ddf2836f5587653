"""Duplicate detection runs, candidate clusters, "not a duplicate" decisions, merges and their redirects."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class RecordType(models.TextChoices):
    """The customer records the engine compares; a lead and a contact may sit in one cluster."""

    CONTACT = "contact", _("Contact")
    ACCOUNT = "account", _("Account")
    LEAD = "lead", _("Lead")


def record_key(record_type: str, record_id: int) -> str:
    """`contact:12`: how `reasons` and the API name one record."""
    return f"{record_type}:{record_id}"


def pair_canonical(a: tuple[str, int], b: tuple[str, int]) -> tuple[tuple[str, int], tuple[str, int]]:
    """The order a pair is stored in (`NotDuplicate`): by type, then id, so (a, b) and (b, a) are one row."""
    return (a, b) if a <= b else (b, a)


class MatchRun(models.Model):
    """One pass of the matching engine: what it compared, what it found and the weights it estimated."""

    class Kind(models.TextChoices):
        FULL = "full", pgettext_lazy("match run kind", "Full")
        INCREMENTAL = "incremental", pgettext_lazy("match run kind", "Incremental")

    job = models.ForeignKey(
        "core.Job", verbose_name=_("job"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices, default=Kind.FULL)
    started_at = models.DateTimeField(_("started"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    records_compared = models.PositiveIntegerField(_("records compared"), default=0)
    pairs_scored = models.PositiveBigIntegerField(_("pairs scored"), default=0)
    clusters_found = models.PositiveIntegerField(_("clusters found"), default=0)
    # the estimated m/u weights per field and level, the thresholds used, block sizes …
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    # records changed after this moment are compared again in the next incremental run
    watermark = models.DateTimeField(_("watermark"), null=True, blank=True)

    class Meta:
        verbose_name = _("match run")
        verbose_name_plural = _("match runs")
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk}"


class DuplicateCluster(models.Model):
    """Records the engine believes are one customer, with why (`reasons`), waiting for review."""

    class Status(models.TextChoices):
        OPEN = "open", pgettext_lazy("cluster status", "Open")
        MERGED = "merged", pgettext_lazy("cluster status", "Merged")
        DISMISSED = "dismissed", pgettext_lazy("cluster status", "Not duplicates")
        AUTO_MERGED = "auto_merged", pgettext_lazy("cluster status", "Merged automatically")

    run = models.ForeignKey(
        MatchRun, verbose_name=_("run"), null=True, blank=True, on_delete=models.SET_NULL, related_name="clusters"
    )
    score = models.FloatField(_("score"), default=0.0)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.OPEN)
    # [{a: "contact:12", b: "lead:7", probability: 0.98,
    #   fields: {name: {level: "exact", weight: 6.1, label: "…"}, phone: {…}}}, …]
    reasons = models.JSONField(_("reasons"), default=list, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("duplicate cluster")
        verbose_name_plural = _("duplicate clusters")
        ordering = ["-score", "-id"]
        indexes = [models.Index(fields=["status", "-score"], name="cluster_queue")]
        permissions = [("merge_records", _("Can merge duplicate records"))]

    def __str__(self) -> str:
        return f"#{self.pk} ({self.score:.2f})"

    def get_absolute_url(self) -> str:
        return reverse("dedupe-cluster", args=[self.pk])

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.OPEN


class ClusterMember(models.Model):
    """One record in a cluster."""

    cluster = models.ForeignKey(DuplicateCluster, on_delete=models.CASCADE, related_name="members")
    record_type = models.CharField(_("record type"), max_length=10, choices=RecordType.choices)
    record_id = models.PositiveBigIntegerField(_("record id"))

    class Meta:
        verbose_name = _("cluster member")
        verbose_name_plural = _("cluster members")
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["cluster", "record_type", "record_id"], name="cluster_member_once")
        ]
        indexes = [models.Index(fields=["record_type", "record_id"], name="cluster_member_record")]

    def __str__(self) -> str:
        return record_key(self.record_type, self.record_id)

    @property
    def key(self) -> str:
        return record_key(self.record_type, self.record_id)


class BlockKey(models.Model):
    """One blocking key of one record, as a 64-bit hash of the rule and the key, rewritten by every run: an
    incremental run reads the changed records and, through this table, only the records sharing a key with
    them (a hash collision only adds a record to read; the engine compares the keys themselves)."""

    key = models.BigIntegerField(_("key"))
    record_type = models.CharField(_("record type"), max_length=10, choices=RecordType.choices)
    record_id = models.PositiveBigIntegerField(_("record id"))

    class Meta:
        verbose_name = _("blocking key")
        verbose_name_plural = _("blocking keys")
        indexes = [
            models.Index(fields=["key"], name="block_key"),
            models.Index(fields=["record_type", "record_id"], name="block_key_record"),
        ]

    def __str__(self) -> str:
        return f"{record_key(self.record_type, self.record_id)} {self.key}"


class NotDuplicate(models.Model):
    """A pair a person said is not one customer: the engine never proposes it again. Stored in canonical order."""

    record_type_a = models.CharField(max_length=10, choices=RecordType.choices)
    id_a = models.PositiveBigIntegerField()
    record_type_b = models.CharField(max_length=10, choices=RecordType.choices)
    id_b = models.PositiveBigIntegerField()
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    at = models.DateTimeField(_("decided"), auto_now_add=True)

    class Meta:
        verbose_name = _("not a duplicate")
        verbose_name_plural = _("not duplicates")
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["record_type_a", "id_a", "record_type_b", "id_b"], name="not_duplicate_once"
            )
        ]

    def __str__(self) -> str:
        return f"{record_key(self.record_type_a, self.id_a)} ≠ {record_key(self.record_type_b, self.id_b)}"


class Merge(models.Model):
    """Records folded into a survivor. The event holds the full before-state that undo restores."""

    survivor_type = models.CharField(_("survivor type"), max_length=10, choices=RecordType.choices)
    survivor_id = models.PositiveBigIntegerField(_("survivor id"))
    merged = models.JSONField(_("merged records"), default=list)  # [{"type": "contact", "id": 12}, …]
    cluster = models.ForeignKey(
        DuplicateCluster,
        verbose_name=_("cluster"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="merges",
    )
    event = models.ForeignKey(
        "core.Event", verbose_name=_("event"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("merged by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    at = models.DateTimeField(_("merged"), auto_now_add=True)
    undone_at = models.DateTimeField(_("undone"), null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("undone by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("merge")
        verbose_name_plural = _("merges")
        ordering = ["-id"]
        indexes = [models.Index(fields=["survivor_type", "survivor_id"], name="merge_survivor")]

    def __str__(self) -> str:
        return f"#{self.pk} → {record_key(self.survivor_type, self.survivor_id)}"

    @property
    def is_undone(self) -> bool:
        return self.undone_at is not None

    @property
    def merged_keys(self) -> list[str]:
        return [record_key(m["type"], m["id"]) for m in self.merged]


class MergeRedirect(models.Model):
    """A merged record's old id, so its URLs and API paths keep resolving to the survivor."""

    record_type = models.CharField(_("record type"), max_length=10, choices=RecordType.choices)
    old_id = models.PositiveBigIntegerField(_("old id"))
    survivor_type = models.CharField(_("survivor type"), max_length=10, choices=RecordType.choices)
    survivor_id = models.PositiveBigIntegerField(_("survivor id"))
    merge = models.ForeignKey(Merge, on_delete=models.CASCADE, related_name="redirects")

    class Meta:
        verbose_name = _("merge redirect")
        verbose_name_plural = _("merge redirects")
        constraints = [models.UniqueConstraint(fields=["record_type", "old_id"], name="merge_redirect_once")]
        indexes = [models.Index(fields=["survivor_type", "survivor_id"], name="merge_redirect_survivor")]

    def __str__(self) -> str:
        return f"{record_key(self.record_type, self.old_id)} → {record_key(self.survivor_type, self.survivor_id)}"


class DedupeSettings(models.Model):
    """The administrator's dedupe policy (one row): auto-merge threshold (off by default) and the schedule."""

    auto_merge_threshold = models.FloatField(
        _("auto-merge threshold"),
        null=True,
        blank=True,
        help_text=_("Clusters scoring at or above this probability are merged without review. Empty: never."),
    )
    review_threshold = models.FloatField(
        _("review threshold"),
        default=0.8,
        help_text=_("Pairs below this probability are not proposed for review."),
    )
    schedule_enabled = models.BooleanField(_("run every night"), default=True)
    schedule_hour = models.PositiveSmallIntegerField(_("hour of the nightly run"), default=2)
    max_block_size = models.PositiveIntegerField(
        _("largest block"),
        default=100,
        help_text=_(
            "Records sharing a key (a name, a phone …) are compared all against all up to this many; in a larger "
            "block each record is compared with its 10 nearest neighbours in name order, so the work grows "
            "linearly with the number of records."
        ),
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("updated by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("dedupe settings")
        verbose_name_plural = _("dedupe settings")

    def __str__(self) -> str:
        return str(_("Dedupe settings"))

    @classmethod
    def load(cls) -> DedupeSettings:
        """The one row, created with the defaults on first use."""
        row, _created = cls.objects.get_or_create(pk=1)
        return row

    def as_dict(self) -> dict[str, Any]:
        return {
            "auto_merge_threshold": self.auto_merge_threshold,
            "review_threshold": self.review_threshold,
            "schedule_enabled": self.schedule_enabled,
            "schedule_hour": self.schedule_hour,
            "max_block_size": self.max_block_size,
        }
