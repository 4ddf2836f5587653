"""List views: which columns, filters and sort orders a list offers, all read from one query string.

An app declares one `ListSpec` per list (customers: contacts, accounts, leads) and registers it with
`list_spec(...)`. The page, the API, saved views and the export all parse the same query string with
`list_query_parse`, so a view is the same rows in the browser, over the API and in the exported file.

Parameters: `q` (the list's search), one or more per filter (`owner=me`, `created_from=2026-01-01` …),
`sort=<column>` or `sort=-<column>` (whitelisted: only columns that name a `sort` path), `cols=a,b,c`
(which columns, in order) and `archived=1` (the archived records, for users who may archive).

Columns and filters known only at run time (custom fields an administrator defines) plug in with
`column_source(list_name, fn)` / `filter_source(list_name, fn)`: `fn()` is called on every request
and returns more `Column`s / `Filter`s, so a new field appears without a restart.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q, QuerySet
from django.http import QueryDict
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from .jobs import Progress, job_kind, job_start
from .models import Job, Tag, Team, User
from .pii import MASKERS, can_view_pii, pii_log_views

RESERVED = ("q", "sort", "cols", "archived")
# Parameters a list page or endpoint reads besides the view itself; anything else unknown is refused.
PASSING = ("page", "page_size", "view")
EXPORT_FORMATS = ("csv", "xlsx")
EXPORT_CHUNK = 2000
# A spreadsheet treats a cell starting with one of these as a formula (CSV injection); such text gets a leading '.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Column:
    """One column a list can show: its label, how to read its value, and whether it sorts and is personal data."""

    key: str
    label: Any
    value: Callable[[Any], Any]  # the plain value of a row (for the file export and the default cell)
    sort: str = ""  # the ORM path the list orders by; empty: the column cannot be sorted
    pii: str = ""  # mask kind ("phone", "email", "text") when the value is personal data
    pii_field: str = ""  # the model field a `pii_viewed` event names when shown unmasked
    template: str = ""  # an HTML cell template (gets `row`, `value`, `column`); empty: the value, escaped
    default: bool = False  # shown when the user has not chosen columns

    def display(self, row: Any, viewer: Any) -> Any:
        """The value as this viewer may see it: personal data masked without `view_pii`."""
        return self.shown(row, unmasked=can_view_pii(viewer))

    def shown(self, row: Any, *, unmasked: bool) -> Any:
        """The value, masked unless `unmasked` (asked once per export instead of once per cell)."""
        value = self.value(row)
        if self.pii and value and not unmasked:
            return MASKERS[self.pii](str(value))
        return value


FilterApply = Callable[[QuerySet, dict[str, Any], Any], QuerySet]


@dataclass(frozen=True)
class Filter:
    """One filter: the form fields it reads (named by query parameter) and how it narrows the rows."""

    key: str
    label: Any
    fields: Callable[[Any], dict[str, forms.Field]]  # built for the viewer (e.g. "me" in the owner list)
    apply: FilterApply  # (rows, this filter's cleaned values, viewer) -> rows; called when any value is set
    check: Callable[[dict[str, Any]], None] | None = None  # refuses values that are fine alone but not together


@dataclass(frozen=True)
class BulkAction:
    """An action on selected rows: who may run it and the service that does it, all or nothing."""

    key: str
    label: Any
    permission: str
    run: Callable[..., int]  # (ids=, actor=, **options) -> how many records changed
    options: tuple[str, ...] = ()  # "owner", "team"
    archived_rows: bool = False  # offered on the archived records instead of the current ones


@dataclass
class ListSpec:
    """Everything a list offers. `rows(viewer, q, archived)` is the scoped, searched queryset."""

    name: str
    label: Any
    permission: str
    url_name: str
    rows: Callable[[Any, str, bool], QuerySet]
    columns: list[Column]
    filters: list[Filter]
    default_sort: str
    archive_permission: str = ""  # who may list archived records
    bulk_actions: list[BulkAction] = field(default_factory=list)
    # (viewer, q, filtered rows) -> the matches among those rows, best first; without it `rows` gets `q`
    search: Callable[[Any, str, QuerySet], Any] | None = None
    column_sources: list[Callable[[], Iterable[Column]]] = field(default_factory=list)
    filter_sources: list[Callable[[], Iterable[Filter]]] = field(default_factory=list)

    def all_columns(self) -> dict[str, Column]:
        columns = list(self.columns)
        for source in self.column_sources:
            columns.extend(source())
        return {c.key: c for c in columns}

    def all_filters(self) -> list[Filter]:
        filters = list(self.filters)
        for source in self.filter_sources:
            filters.extend(source())
        return filters

    def default_columns(self) -> list[str]:
        return [c.key for c in self.columns if c.default]

    def bulk_for(self, viewer: Any, *, archived: bool) -> list[BulkAction]:
        return [a for a in self.bulk_actions if a.archived_rows == archived and viewer.has_perm(a.permission)]


_specs: dict[str, ListSpec] = {}


def list_spec(spec: ListSpec) -> ListSpec:
    """Register a list under its name (used in URLs, saved views and export jobs)."""
    _specs[spec.name] = spec
    return spec


def list_spec_named(name: str) -> ListSpec | None:
    return _specs.get(name)


def list_specs() -> dict[str, ListSpec]:
    return dict(_specs)


def column_source(list_name: str, source: Callable[[], Iterable[Column]]) -> None:
    """Add columns computed on every request (custom fields) to a registered list."""
    _specs[list_name].column_sources.append(source)


def filter_source(list_name: str, source: Callable[[], Iterable[Filter]]) -> None:
    """Add filters computed on every request (custom fields, tags) to a registered list."""
    _specs[list_name].filter_sources.append(source)


# --- filter kinds -----------------------------------------------------------------------------


def _blank(choices: Iterable[tuple[Any, Any]]) -> list[tuple[Any, Any]]:
    return [("", "—"), *choices]


def choice_filter(key: str, label: Any, path: str, choices: Callable[[], Iterable[tuple[Any, Any]]]) -> Filter:
    """One value out of a fixed set (stage, tier, status, source)."""
    return Filter(
        key,
        label,
        fields=lambda viewer: {key: forms.ChoiceField(label=label, required=False, choices=_blank(choices()))},
        apply=lambda rows, values, viewer: rows.filter(**{path: values[key]}),
    )


def text_filter(key: str, label: Any, path: str) -> Filter:
    """Part of a text field, case-insensitive (industry, province, city)."""
    return Filter(
        key,
        label,
        fields=lambda viewer: {key: forms.CharField(label=label, required=False, max_length=100)},
        apply=lambda rows, values, viewer: rows.filter(**{f"{path}__icontains": values[key].strip()}),
    )


def presence_filter(key: str, label: Any, path: str) -> Filter:
    """`has_phone=yes|no`: whether a text field is filled in."""
    choices = [("", "—"), ("yes", gettext_lazy("Yes")), ("no", gettext_lazy("No"))]

    def apply(rows: QuerySet, values: dict[str, Any], viewer: Any) -> QuerySet:
        empty = Q(**{path: ""}) | Q(**{f"{path}__isnull": True})
        return rows.exclude(empty) if values[key] == "yes" else rows.filter(empty)

    return Filter(
        key,
        label,
        fields=lambda viewer: {key: forms.ChoiceField(label=label, required=False, choices=choices)},
        apply=apply,
    )


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def date_range_filter(key: str, label: Any, path: str) -> Filter:
    """`<key>_from` and `<key>_to`: whole days in the local time zone, both ends included."""
    start, end = f"{key}_from", f"{key}_to"

    def fields(viewer: Any) -> dict[str, forms.Field]:
        widget = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
        return {
            start: forms.DateField(label=_from_label(label), required=False, widget=widget),
            end: forms.DateField(label=_to_label(label), required=False, widget=widget),
        }

    def check(values: dict[str, Any]) -> None:
        if values.get(start) and values.get(end) and values[start] > values[end]:
            raise ValidationError({end: _("The end date is before the start date.")})

    def apply(rows: QuerySet, values: dict[str, Any], viewer: Any) -> QuerySet:
        if values.get(start):
            rows = rows.filter(**{f"{path}__gte": _day_start(values[start])})
        if values.get(end):
            rows = rows.filter(**{f"{path}__lt": _day_start(values[end] + timedelta(days=1))})
        return rows

    return Filter(key, label, fields=fields, apply=apply, check=check)


def _from_label(label: Any) -> str:
    return _("%(field)s from") % {"field": label}


def _to_label(label: Any) -> str:
    return _("%(field)s to") % {"field": label}


class OwnerField(forms.ChoiceField):
    """`me` or a user's id; anything else is refused with a message naming the parameter."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=self._choices, **kwargs)  # a callable: the users are read only when shown

    @staticmethod
    def _choices() -> list[tuple[str, Any]]:
        users = User.objects.filter(is_active=True).order_by("full_name", "id").only("id", "full_name", "email")
        return [("", "—"), ("me", gettext_lazy("Me")), *[(str(u.pk), str(u)) for u in users]]

    def validate(self, value: Any) -> None:
        """Checked in `clean` with one query, not against the whole list of users."""

    def clean(self, value: Any) -> Any:
        value = str(value or "").strip()
        if not value or value == "me":
            return value
        if not value.isdigit() or not User.objects.filter(pk=int(value)).exists():
            raise ValidationError(_("Unknown user: choose “me” or a user from the list."), code="invalid")
        return int(value)


def tag_filter(label: Any, path: str = "tags") -> Filter:
    """Records carrying one tag (`tag=<id>`)."""

    def choices() -> list[tuple[Any, Any]]:
        return _blank((str(tag.pk), tag.name) for tag in Tag.objects.order_by("name_key"))

    return Filter(
        "tag",
        label,
        fields=lambda viewer: {"tag": forms.ChoiceField(label=label, required=False, choices=choices())},
        apply=lambda rows, values, viewer: rows.filter(**{path: int(values["tag"])}),
    )


def owner_filter(label: Any) -> Filter:
    """`owner=me` or `owner=<user id>`."""

    def apply(rows: QuerySet, values: dict[str, Any], viewer: Any) -> QuerySet:
        return rows.filter(owner=viewer if values["owner"] == "me" else values["owner"])

    return Filter(
        "owner",
        label,
        fields=lambda viewer: {"owner": OwnerField(label=label, required=False)},
        apply=apply,
    )


def team_filter(label: Any) -> Filter:
    """`team=<team id>`."""

    def fields(viewer: Any) -> dict[str, forms.Field]:
        teams = Team.objects.order_by("name")
        return {"team": forms.ModelChoiceField(label=label, queryset=teams, required=False)}

    return Filter("team", label, fields=fields, apply=lambda rows, values, viewer: rows.filter(team=values["team"]))


# --- parsing ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ListQuery:
    """A parsed, valid view of a list: what `list_rows` returns and what a saved view or an export stores."""

    spec: ListSpec
    q: str
    values: dict[str, Any]  # cleaned filter values by parameter (set ones only)
    filter_params: dict[str, list[str]]  # each filter's parameters, by filter key
    raw: dict[str, str]  # the same, as given: what the query string carries
    sort: str  # column key, "" for the default (or search relevance with `q`)
    descending: bool
    columns: list[Column]
    columns_chosen: bool  # `cols` was in the query (else the user's remembered or the default columns)
    archived: bool

    def params(self, *, with_columns: bool = True, **changes: str) -> dict[str, str]:
        """The canonical parameters of this view (`page` never included), with `changes` applied."""
        params: dict[str, str] = {}
        if self.q:
            params["q"] = self.q
        params.update(self.raw)
        if self.sort:
            params["sort"] = f"-{self.sort}" if self.descending else self.sort
        if self.archived:
            params["archived"] = "1"
        if with_columns and self.columns_chosen:
            params["cols"] = ",".join(c.key for c in self.columns)
        params.update(changes)
        return {k: v for k, v in params.items() if v}

    def urlencode(self, *, with_columns: bool = True, **changes: str) -> str:
        query = QueryDict(mutable=True)
        query.update(self.params(with_columns=with_columns, **changes))
        return query.urlencode()

    def view_query(self) -> str:
        """What a saved view stores: filters, sort and the columns shown (always explicit)."""
        return self.urlencode(cols=",".join(c.key for c in self.columns))

    def sort_query(self, column: Column) -> str:
        """The query string a column header links to: sort by it, or flip the direction when it is the sort."""
        flip = self.sort == column.key and not self.descending
        return self.urlencode(sort=f"-{column.key}" if flip else column.key)

    @property
    def filtered(self) -> bool:
        return bool(self.q or self.raw)

    @property
    def pii_fields(self) -> list[str]:
        return sorted({c.pii_field for c in self.columns if c.pii_field})


class ListForm(forms.Form):
    """The filter panel, and the parser of every list's query string."""

    q = forms.CharField(label=gettext_lazy("Search"), required=False, max_length=200)

    def __init__(self, data: Any, *, spec: ListSpec, viewer: Any) -> None:
        super().__init__(data)
        self.spec, self.viewer = spec, viewer
        self.filter_params: dict[str, list[str]] = {}
        for flt in spec.all_filters():
            fields = flt.fields(viewer)
            self.fields.update(fields)
            self.filter_params[flt.key] = list(fields)


def _single(data: Mapping[str, Any] | QueryDict) -> dict[str, Any]:
    """The last value of each parameter (a form submits one per name)."""
    if isinstance(data, QueryDict):
        return {k: data.get(k) for k in data}
    return dict(data)


def list_form(spec: ListSpec, data: Mapping[str, Any] | QueryDict, viewer: Any) -> ListForm:
    return ListForm(_single(data), spec=spec, viewer=viewer)


def _sort_of(spec: ListSpec, columns: dict[str, Column], value: str) -> tuple[str, bool]:
    value = (value or "").strip()
    key = value.removeprefix("-")
    if not key:
        return "", False
    column = columns.get(key)
    if column is None or not column.sort:
        raise ValidationError({"sort": _("“%(value)s” is not a column this list can be sorted by.") % {"value": key}})
    return key, value.startswith("-")


def _columns_of(columns: dict[str, Column], value: str) -> list[Column]:
    keys = [k.strip() for k in (value or "").split(",") if k.strip()]
    unknown = [k for k in keys if k not in columns]
    if unknown:
        raise ValidationError({"cols": _("Unknown column: %(names)s.") % {"names": ", ".join(unknown)}})
    if not keys:
        raise ValidationError({"cols": _("Choose at least one column.")})
    return [columns[k] for k in dict.fromkeys(keys)]


def remembered_columns(spec: ListSpec, viewer: Any, columns: dict[str, Column]) -> list[Column]:
    """The columns the user last chose for this list (unknown ones dropped), else the defaults."""
    from .models import ListLayout

    layout = ListLayout.objects.filter(user_id=getattr(viewer, "pk", 0) or 0, list_name=spec.name).first()
    keys = [k for k in (layout.columns if layout else []) if k in columns] or spec.default_columns()
    return [columns[k] for k in keys]


def list_query_parse(spec: ListSpec, data: Mapping[str, Any] | QueryDict, viewer: Any) -> ListQuery:
    """Read a list's query string; a bad value is a ValidationError naming its parameter, in the reader's language."""
    params = _single(data)
    form = ListForm(params, spec=spec, viewer=viewer)
    errors: dict[str, list[str]] = {}
    for name in sorted(set(params) - set(form.fields) - set(RESERVED) - set(PASSING)):
        errors[name] = [_("This list has no filter of this name.")]
    if not form.is_valid():
        errors.update({name: [str(m) for m in messages] for name, messages in form.errors.items()})
    columns = spec.all_columns()
    sort, descending, chosen = "", False, []
    try:
        sort, descending = _sort_of(spec, columns, params.get("sort") or "")
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if params.get("cols"):
        try:
            chosen = _columns_of(columns, params["cols"])
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if not errors:
        for flt in spec.all_filters():
            if flt.check is not None:
                try:
                    flt.check({name: form.cleaned_data.get(name) for name in form.filter_params[flt.key]})
                except ValidationError as exc:
                    errors.update(exc.message_dict)
    archived = str(params.get("archived") or "") in ("1", "true", "yes")
    if archived and not (spec.archive_permission and viewer.has_perm(spec.archive_permission)):
        errors["archived"] = [_("You may not list archived records.")]
    if errors:
        raise ValidationError(errors)
    cleaned = form.cleaned_data
    values = {k: v for k, v in cleaned.items() if k != "q" and v not in ("", None)}
    raw = {k: str(params[k]).strip() for k in values}
    return ListQuery(
        spec=spec,
        q=" ".join((cleaned.get("q") or "").split()),
        values=values,
        filter_params=form.filter_params,
        raw=raw,
        sort=sort,
        descending=descending,
        columns=chosen or remembered_columns(spec, viewer, columns),
        columns_chosen=bool(chosen),
        archived=archived,
    )


def list_rows(query: ListQuery, viewer: Any) -> Any:
    """The rows of a view: scope (the spec's `rows`), each set filter, the search within what is left, then the
    sort with id last. A search without a sort keeps its relevance order and is not a queryset: it pages and
    counts like one (see `customers.search.RankedRows`), its count stopping at the search's cap."""
    spec = query.spec
    rows = spec.rows(viewer, "" if spec.search else query.q, query.archived)
    for flt in spec.all_filters():
        names = [name for name in query.filter_params.get(flt.key, []) if name in query.values]
        if names:
            rows = flt.apply(rows, {name: query.values[name] for name in names}, viewer)
    if query.q and spec.search:
        found = spec.search(viewer, query.q, rows)
        if not query.sort:
            return found
        rows = rows.filter(pk__in=found.pks())  # the search's best matches, in the chosen order
    if query.sort:
        path = spec.all_columns()[query.sort].sort
        return rows.order_by(f"-{path}", "-id") if query.descending else rows.order_by(path, "id")
    if query.q:
        return rows  # the search's own relevance order
    key = spec.default_sort.removeprefix("-")
    path = spec.all_columns()[key].sort
    return rows.order_by(f"-{path}", "-id") if spec.default_sort.startswith("-") else rows.order_by(path, "id")


def _chunks(rows: Any) -> Iterable[Any]:
    """Each row of a list, read in chunks: a queryset through its iterator, ranked search results as they are."""
    return rows.iterator(chunk_size=EXPORT_CHUNK) if isinstance(rows, QuerySet) else iter(rows)


# --- export -----------------------------------------------------------------------------------


def cell_text(value: Any) -> Any:
    """A cell as a file holds it: dates in local time, text guarded against being run as a formula."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return timezone.localtime(value).replace(tzinfo=None) if timezone.is_aware(value) else value
    if isinstance(value, bool | int | float | date):
        return value
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def list_export_start(*, spec: ListSpec, query: str, file_format: str, actor: Any) -> Job:
    """Queue the export of a list view (as the actor sees it) to a CSV or XLSX file."""
    if not actor.has_perm(spec.permission):
        raise PermissionDenied
    if file_format not in EXPORT_FORMATS:
        raise ValidationError({"format": _("Choose CSV or XLSX.")})
    parsed = list_query_parse(spec, QueryDict(query), actor)  # refuse a bad view now, not in the worker
    params = {"list": spec.name, "query": parsed.view_query(), "format": file_format}
    return job_start(kind="core.list_export", actor=actor, params=params)


@job_kind("core.list_export", gettext_noop("List export"))
def list_export(job: Job, progress: Progress) -> dict[str, Any]:
    """Write the rows of a list view its owner may see, with the chosen columns, masked as the owner sees them."""
    owner = User.objects.get(pk=job.owner_id or 0)
    spec = _specs[job.params["list"]]
    with translation.override(owner.language or settings.LANGUAGE_CODE):
        query = list_query_parse(spec, QueryDict(job.params["query"]), owner)
        rows = list_rows(query, owner)
        total = rows.count()
        progress(0, total, "")
        folder = settings.VAR_DIR / "exports"
        folder.mkdir(parents=True, exist_ok=True)
        name = f"{spec.name}-{job.pk}.{job.params['format']}"
        header = [str(c.label) for c in query.columns]
        writer = (
            _XlsxWriter(folder / name, header) if job.params["format"] == "xlsx" else _CsvWriter(folder / name, header)
        )
        unmasked = can_view_pii(owner)
        log_pii = bool(query.pii_fields) and unmasked
        written, chunk = 0, []
        with writer:
            for row in _chunks(rows):
                writer.write([cell_text(c.shown(row, unmasked=unmasked)) for c in query.columns])
                written += 1
                if log_pii:
                    chunk.append(row)
                if written % EXPORT_CHUNK == 0:
                    _log_export(owner, chunk, query)
                    chunk = []
                    progress(written, total, "")
            _log_export(owner, chunk, query)
    return {"file": name, "rows": written}


def _log_export(owner: User, rows: list[Any], query: ListQuery) -> None:
    if rows:
        pii_log_views(user=owner, records=rows, fields=query.pii_fields, channel="export")


class _CsvWriter:
    def __init__(self, path: Any, header: list[str]) -> None:
        self.file = open(path, "w", newline="", encoding="utf-8-sig")  # noqa: SIM115 (closed in __exit__)
        self.csv = csv.writer(self.file)
        self.csv.writerow(header)

    def write(self, cells: list[Any]) -> None:
        self.csv.writerow([c.isoformat(sep=" ") if isinstance(c, datetime) else c for c in cells])

    def __enter__(self) -> _CsvWriter:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.file.close()


class _XlsxWriter:
    def __init__(self, path: Any, header: list[str]) -> None:
        from openpyxl import Workbook

        self.path = path
        self.book = Workbook(write_only=True)
        self.sheet = self.book.create_sheet()
        self.sheet.append(header)

    def write(self, cells: list[Any]) -> None:
        from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

        self.sheet.append([ILLEGAL_CHARACTERS_RE.sub("", c) if isinstance(c, str) else c for c in cells])

    def __enter__(self) -> _XlsxWriter:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.book.save(self.path)
