"""The import engine: uploaded CSV, XLSX and vCard files read as a stream of clean text rows.

What is generic lives here: finding the encoding and the delimiter, refusing files without a header
row, reporting ragged rows and formulas, turning Excel dates into ISO dates, NFKC for full-width
characters, recognising the column headers of common CRM and address-book exports, and the registry
of record types an app can import (`import_type`). The record specifics (targets, cleaning, writing,
undo) belong to the app that owns the records: see `customers/imports.py`.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import json
import marshal
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

if TYPE_CHECKING:
    from .models import ImportBatch, User

# the encodings tried, in order, when a file has no byte-order mark
SAMPLE_BYTES = 1 << 20
FORMATS = ("csv", "xlsx", "vcf")
Row = tuple[int, list[str]]  # (row number as the user sees it in the file, cell texts)


class ImportFileError(ValidationError):
    """The file as a whole cannot be read: named on the `file` field, with a message for the user."""

    def __init__(self, message: str) -> None:
        super().__init__({"file": [message]}, code="import_file")


def max_bytes() -> int:
    return int(getattr(settings, "IMPORT_MAX_BYTES", 100 * 1024 * 1024))


def imports_dir() -> Path:
    folder = Path(settings.VAR_DIR) / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def file_format(name: str) -> str:
    """`csv`, `xlsx` or `vcf` from the file name; anything else is refused."""
    suffix = Path(name or "").suffix.lower().lstrip(".")
    if suffix in ("csv", "txt", "tsv"):
        return "csv"
    if suffix in ("xlsx", "xlsm"):
        return "xlsx"
    if suffix in ("vcf", "vcard"):
        return "vcf"
    if suffix == "xls":
        raise ImportFileError(_("Old Excel files (.xls) cannot be read; save the sheet as .xlsx or CSV and try again."))
    raise ImportFileError(_("Choose a CSV, Excel (.xlsx) or vCard (.vcf) file."))


def clean_text(value: Any) -> str:
    """One cell as text: NFKC (full-width digits and letters become ASCII), trimmed."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
    return text.strip()


# --- encodings ----------------------------------------------------------------------------------


def detect_encoding(sample: bytes) -> str:
    """The encoding of a text file from its first bytes: BOM first, then UTF-8, then GB18030 or Big5."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"  # Excel's "Unicode text" is UTF-16 with a byte-order mark (and tabs)
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    # GBK and Big5 bytes overlap; the detector scores which reading gives plausible Chinese text
    from charset_normalizer import from_bytes

    best = from_bytes(sample[:65536], cp_isolation=["gb18030", "big5"]).best()
    if best is not None and best.encoding == "big5":
        return "big5"
    return "gb18030"  # a superset of GBK and GB2312


ENCODING_LABELS = {
    "utf-8": "UTF-8",
    "utf-8-sig": "UTF-8 (BOM)",
    "utf-16": "UTF-16",
    "gb18030": "GB18030/GBK",
    "big5": "Big5",
}


# --- the table --------------------------------------------------------------------------------


@dataclass
class Table:
    """What a file holds: its header row and a way to walk its data rows from the start."""

    headers: list[str]
    encoding: str = ""
    sheet: str = ""
    sheets: list[str] = field(default_factory=list)
    rows: Callable[[], Iterator[Row]] = lambda: iter(())


def read_table(path: Path, *, fmt: str, encoding: str = "", sheet: str = "") -> Table:
    """Open an uploaded file as a Table; file-level problems raise ImportFileError."""
    if path.stat().st_size == 0:
        raise ImportFileError(_("The file is empty."))
    if fmt == "xlsx":
        return _xlsx_table(path, sheet)
    encoding = encoding or _encoding_of(path)
    if fmt == "vcf":
        return _vcard_table(path, encoding)
    return _csv_table(path, encoding)


def _encoding_of(path: Path) -> str:
    with path.open("rb") as fh:
        return detect_encoding(fh.read(SAMPLE_BYTES))


def _text_lines(path: Path, encoding: str) -> Iterator[str]:
    """The decoded lines of the file; a byte that does not fit the encoding is a clear file error."""
    with path.open("r", encoding=encoding, newline="") as fh:
        line_number = 0
        try:
            for line in fh:
                line_number += 1
                yield line
        except UnicodeDecodeError:
            raise ImportFileError(
                _("Line %(line)s cannot be read as %(encoding)s: save the file as UTF-8 and try again.")
                % {"line": line_number + 1, "encoding": ENCODING_LABELS.get(encoding, encoding)}
            ) from None


def sniff_delimiter(sample: str) -> str:
    """Comma, semicolon, tab or pipe: the one that splits the first lines most evenly."""
    lines = [line for line in sample.splitlines()[:20] if line.strip()]
    if not lines:
        return ","
    try:
        return csv.Sniffer().sniff("\n".join(lines), delimiters=",;\t|").delimiter
    except csv.Error:
        counts = {d: lines[0].count(d) for d in ",;\t|"}
        return max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","


def _csv_table(path: Path, encoding: str) -> Table:
    sample = "".join(line for _n, line in zip(range(20), _text_lines(path, encoding), strict=False))
    delimiter = sniff_delimiter(sample)

    def raw_rows() -> Iterator[Row]:
        reader = csv.reader(_text_lines(path, encoding), delimiter=delimiter)
        try:
            for cells in reader:
                yield reader.line_num, [clean_text(c) for c in cells]
        except csv.Error as exc:
            raise ImportFileError(
                _("Line %(line)s is not valid CSV (%(problem)s).") % {"line": reader.line_num, "problem": exc}
            ) from None

    headers, body = _split_header(raw_rows)
    return Table(headers=headers, encoding=encoding, rows=body)


def _split_header(raw_rows: Callable[[], Iterator[Row]]) -> tuple[list[str], Callable[[], Iterator[Row]]]:
    """The first non-empty row is the header; refuse a file whose first row looks like data."""
    first: Row | None = None
    for row in raw_rows():
        if any(row[1]):
            first = row
            break
    if first is None:
        raise ImportFileError(_("The file has no rows."))
    header_line, cells = first
    check_header_row(cells)
    headers = unique_headers(cells)

    def body() -> Iterator[Row]:
        for number, row in raw_rows():
            if number <= header_line or not any(row):
                continue
            yield number, row

    return headers, body


_DATA_LIKE = re.compile(r"^(\+?[\d\s\-()]{7,}|[^@\s]+@[^@\s]+\.[^@\s]+|\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|-?\d+(\.\d+)?)$")


def check_header_row(cells: list[str]) -> None:
    """A header row names columns; phone numbers, emails, dates or numbers in it mean it is missing."""
    data_like = [c for c in cells if c and _DATA_LIKE.match(c)]
    if data_like and not any(recognise_header(c) for c in cells):
        raise ImportFileError(
            _(
                "The first row looks like data (“%(value)s”), not column names. "
                "Add a header row that names each column, then upload the file again."
            )
            % {"value": data_like[0][:40]}
        )


def unique_headers(cells: list[str]) -> list[str]:
    """Header names as shown: empty ones become "Column N", repeated ones get "(2)", "(3)"."""
    seen: dict[str, int] = {}
    headers = []
    for index, cell in enumerate(cells, start=1):
        name = cell or _("Column %(number)s") % {"number": index}
        if name in seen:
            seen[name] += 1
            name = f"{name} ({seen[name]})"
        else:
            seen[name] = 1
        headers.append(name)
    while headers and not cells[len(headers) - 1]:  # trailing empty header cells are not columns
        headers.pop()
        cells = cells[: len(headers)]
    return headers


# --- XLSX -------------------------------------------------------------------------------------


def _xlsx_cell(value: Any, is_date: bool) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.isoformat()
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))  # phone numbers typed into Excel arrive as 13800138000.0
    return clean_text(value)


FORMULA_MARK = "\x00formula:"


def _xlsx_table(path: Path, sheet: str) -> Table:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    def open_book() -> Any:
        try:
            return load_workbook(path, read_only=True, data_only=False)
        except (InvalidFileException, KeyError, OSError, ValueError) as exc:
            raise ImportFileError(
                _("This file cannot be opened as an Excel workbook (%(problem)s).") % {"problem": exc}
            ) from None
        except Exception as exc:  # zipfile.BadZipFile and the XML parser's errors vary by file
            raise ImportFileError(
                _("This file cannot be opened as an Excel workbook (%(problem)s).") % {"problem": type(exc).__name__}
            ) from None

    book = open_book()
    names = list(book.sheetnames)
    book.close()
    if sheet and sheet not in names:
        raise ImportFileError(_("The workbook has no sheet named “%(sheet)s”.") % {"sheet": sheet})
    chosen = sheet or names[0]

    def raw_rows() -> Iterator[Row]:
        wb = open_book()
        try:
            for number, row in enumerate(wb[chosen].iter_rows(), start=1):
                cells = []
                for cell in row:
                    value = getattr(cell, "value", None)
                    if getattr(cell, "data_type", "") == "f" or (isinstance(value, str) and value.startswith("=")):
                        cells.append(FORMULA_MARK + str(value))
                    else:
                        cells.append(_xlsx_cell(value, bool(getattr(cell, "is_date", False))))
                while cells and not cells[-1]:
                    cells.pop()
                yield number, cells
        finally:
            wb.close()

    headers, body = _split_header(raw_rows)
    return Table(headers=headers, sheet=chosen, sheets=names, rows=body)


# --- vCard ------------------------------------------------------------------------------------

VCARD_HEADERS = [
    "Family Name",
    "Given Name",
    "Full Name",
    "Mobile Phone",
    "Phone",
    "E-mail Address",
    "Organization",
    "Job Title",
    "Region",
    "City",
    "Street",
]


def _join_quoted_printable(text: str) -> str:
    """vCard 2.1 soft line breaks: a QUOTED-PRINTABLE value ending in "=" continues on the next line."""
    out: list[str] = []
    pending = ""
    for line in text.splitlines():
        if pending:
            pending += line
        else:
            pending = line
        head = pending.split(":", 1)[0].upper()
        if "QUOTED-PRINTABLE" in head and pending.endswith("="):
            pending = pending[:-1]
            continue
        out.append(pending)
        pending = ""
    if pending:
        out.append(pending)
    return "\r\n".join(out) + "\r\n"


def _vcard_value(card: Any, name: str) -> Any:
    items = card.contents.get(name.lower()) or []
    return items


def _vcard_row(card: Any) -> list[str]:
    family = given = ""
    for item in _vcard_value(card, "n"):
        value = item.value
        family = clean_text(getattr(value, "family", "") if not isinstance(value, str) else value.split(";")[0])
        given = clean_text(getattr(value, "given", "") if not isinstance(value, str) else "")
        break
    full = next((clean_text(i.value) for i in _vcard_value(card, "fn")), "")
    mobile = phone = ""
    for item in _vcard_value(card, "tel"):
        kinds = {str(t).upper() for t in item.params.get("TYPE", [])}
        kinds |= {str(t).upper() for t in getattr(item, "singletonparams", [])}  # vCard 2.1: TEL;CELL
        text = clean_text(item.value)
        if not mobile and "CELL" in kinds:
            mobile = text
        elif not phone:
            phone = text
    email = next((clean_text(i.value) for i in _vcard_value(card, "email")), "")
    org = ""
    for item in _vcard_value(card, "org"):
        value = item.value
        org = clean_text(value[0] if isinstance(value, list) and value else value)
        break
    title = next((clean_text(i.value) for i in _vcard_value(card, "title")), "")
    region = city = street = ""
    for item in _vcard_value(card, "adr"):
        value = item.value
        region = clean_text(getattr(value, "region", ""))
        city = clean_text(getattr(value, "city", ""))
        street = clean_text(getattr(value, "street", ""))
        break
    return [family, given, full, mobile, phone, email, org, title, region, city, street]


def _vcard_table(path: Path, encoding: str) -> Table:
    import vobject

    text = _join_quoted_printable("".join(_text_lines(path, encoding)))
    if "BEGIN:VCARD" not in text.upper():
        raise ImportFileError(_("This file holds no vCard (BEGIN:VCARD … END:VCARD)."))

    def body() -> Iterator[Row]:
        number = 0
        try:
            for card in vobject.readComponents(text, ignoreUnreadable=True):
                number += 1
                yield number, _vcard_row(card)
        except (vobject.base.ParseError, UnicodeDecodeError, LookupError, ValueError) as exc:
            raise ImportFileError(
                _("vCard number %(number)s cannot be read (%(problem)s).") % {"number": number + 1, "problem": exc}
            ) from None

    return Table(headers=list(VCARD_HEADERS), encoding=encoding, rows=body)


# --- recognising headers ----------------------------------------------------------------------

# Column headers of common exports, folded with `header_key`, → the generic target they mean.
# Outlook CSV, Google Contacts CSV, Apple/iCloud (via the vCard reader), Salesforce, HubSpot, Zoho,
# 企业微信 / 钉钉 address books, and the plain Chinese and English headers people type.
# fmt: off
KNOWN_HEADERS: dict[str, list[str]] = {
    "surname": [
        "surname", "last name", "lastname", "family name", "last", "姓", "姓氏",
        "name_last", "contact last name",
    ],
    "given_name": [
        "given name", "first name", "firstname", "first", "名", "名字",
        "name_first", "contact first name",
    ],
    "full_name": [
        "name", "full name", "fullname", "display name", "contact name", "姓名", "联系人", "联系人姓名",
        "客户姓名", "成员", "成员姓名", "聯絡人", "聯絡人姓名", "名稱", "contact", "contact full name",
    ],
    "phone": [
        "phone", "mobile", "mobile phone", "mobile number", "cell", "cell phone", "telephone", "tel",
        "phone number", "primary phone", "business phone", "home phone", "phone 1 - value", "phone1 value",
        "手机", "手机号", "手机号码", "电话", "联系电话", "移动电话", "電話", "手機", "手機號碼", "聯絡電話",
        "business phone number", "mobile phone number", "mobilephone",
    ],
    "email": [
        "email", "e-mail", "email address", "e-mail address", "e-mail 1 - value", "email 1 - value",
        "primary email", "work email", "邮箱", "电子邮件", "电子邮箱", "邮件", "郵箱", "電子郵件", "電子信箱",
        "企业邮箱", "email address 1",
    ],
    "company": [
        "company", "company name", "organization", "organisation", "organization 1 - name",
        "account", "account name", "business", "公司", "公司名称", "单位", "企业", "企业名称", "客户名称",
        "公司名稱", "單位", "機構", "组织", "所属公司",
    ],
    "title": [
        "title", "job title", "position", "organization 1 - title", "role", "职位", "职务", "职称", "職位",
        "職稱", "岗位",
    ],
    "province": [
        "province", "state", "region", "state/province", "mailing state", "business state", "home state",
        "billing state", "address 1 - region", "省", "省份", "地区", "省/直辖市",
    ],
    "city": [
        "city", "mailing city", "business city", "home city", "billing city", "address 1 - city",
        "市", "城市", "市/县",
    ],
    "district": ["district", "county", "区", "区县", "區", "县区"],
    "street": [
        "street", "address", "street address", "mailing street", "business street", "home street",
        "address 1 - street", "billing street", "地址", "详细地址", "街道", "街道地址", "地址 ",
    ],
    "owner": ["owner", "owner email", "contact owner", "lead owner", "account owner", "负责人", "所有人", "負責人"],
    "registration_number": [
        "registration number", "unified social credit code", "统一社会信用代码", "信用代码", "统一信用代码",
        "工商注册号", "統一編號",
    ],
    "industry": ["industry", "行业", "所属行业", "產業", "行業"],
    "website": ["website", "web site", "web page", "url", "网站", "官网", "公司网站", "網站"],
    "size": ["size", "employees", "number of employees", "company size", "规模", "人数", "员工人数"],
    "tier": ["tier", "account tier", "等级", "客户等级"],
    "source": ["source", "lead source", "来源", "线索来源", "來源"],
    "status": ["status", "lead status", "状态", "狀態"],
    "notes": ["notes", "note", "description", "备注", "說明", "备注信息", "備註"],
    "role": ["role at company", "contact role", "角色"],
}
# fmt: on

_HEADER_FOLD = re.compile(r"[\s_:：]+")
_KNOWN: dict[str, str] = {}


def header_key(text: str) -> str:
    """How headers are compared: NFKC, lower-case, runs of spaces/underscores/colons as one space."""
    return _HEADER_FOLD.sub(" ", unicodedata.normalize("NFKC", text or "").lower()).strip()


def recognise_header(text: str) -> str:
    """The generic target a known export header means ("手机号码" → "phone"), or ""."""
    if not _KNOWN:
        for target, names in KNOWN_HEADERS.items():
            for name in names:
                _KNOWN.setdefault(header_key(name), target)
    return _KNOWN.get(header_key(text), "")


# --- record types -----------------------------------------------------------------------------


@dataclass
class RowProblem:
    """One bad value in one row: the row number in the file, the field (or column) and the message."""

    row: int
    field: str
    message: str


@dataclass
class Duplicate:
    """A row that probably already exists: the same normalised phone or email as a record or an earlier row."""

    row: int
    field: str
    value: str
    record_id: int | None = None
    record_label: str = ""
    record_url: str = ""
    same_file_row: int | None = None


@dataclass
class CheckResult:
    total: int = 0
    good: int = 0
    bad_rows: set[int] = field(default_factory=set)
    problems: list[RowProblem] = field(default_factory=list)
    duplicates: list[Duplicate] = field(default_factory=list)


@dataclass
class ImportType:
    """What an app can import: the fields a column may map to, and the functions that do the work.

    `check(batch, rows, progress)` cleans every row and returns a CheckResult without writing;
    `write(batch, rows, progress)` cleans and writes in the caller's transaction and returns
    {"created": n, ...} plus "bad_rows" (list of (row number, cells, message)) when skipping;
    `undo(batch, actor)` removes the records the batch created that nobody changed since.
    """

    name: str
    label: Any
    permission: str
    targets: Callable[[], dict[str, Any]]
    check: Callable[..., CheckResult]
    write: Callable[..., dict[str, Any]]
    undo: Callable[..., dict[str, Any]]
    # generic header targets (KNOWN_HEADERS keys) → this type's field name, when they differ
    header_aliases: dict[str, str] = field(default_factory=dict)


_types: dict[str, ImportType] = {}


def import_type(kind: ImportType) -> ImportType:
    """Register a record type for import (from the owning app's `ready()`)."""
    _types[kind.name] = kind
    return kind


def import_types() -> dict[str, ImportType]:
    return dict(_types)


def import_types_for(user: User) -> dict[str, ImportType]:
    return {name: kind for name, kind in _types.items() if user.has_perm(kind.permission)}


def propose_mapping(*, kind: ImportType, headers: list[str], template: dict[str, str] | None = None) -> dict[str, str]:
    """Header → target field: the template's choice first, then recognised export headers, then a header
    that is a target's own label or name (a custom field's "会员等级"); "" to skip."""
    targets = kind.targets()
    by_label = {str(label).casefold(): name for name, label in targets.items()}
    by_label.update({name.casefold(): name for name in targets})
    mapping: dict[str, str] = {}
    used: set[str] = set()
    for header in headers:
        chosen = (template or {}).get(header, "")
        if chosen not in targets:
            generic = recognise_header(header)
            chosen = kind.header_aliases.get(generic, generic)
        if chosen not in targets:
            chosen = by_label.get(header.strip().casefold(), "")
        if chosen not in targets or chosen in used:
            chosen = ""
        if chosen:
            used.add(chosen)
        mapping[header] = chosen
    return mapping


def mapped_rows(batch: ImportBatch) -> Iterator[tuple[int, list[str], dict[str, str], list[RowProblem]]]:
    """Each data row of the batch's file: (row number, cells, {field: text}, problems of shape).

    Shape problems are the file's, not a field's: a row with more or fewer cells than the header
    (ragged), and a cell that holds a formula instead of a value.
    """
    table = read_table(batch.stored_path, fmt=batch.file_format, encoding=batch.encoding, sheet=batch.sheet)
    headers = table.headers
    width = len(headers)
    columns = [(index, target) for index, target in enumerate(batch.mapping.get(h, "") for h in headers) if target]
    for number, cells in table.rows():
        problems: list[RowProblem] = []
        if batch.file_format == "csv" and len(cells) != width:
            extra = [c for c in cells[width:] if c]
            if extra or len(cells) < width:
                problems.append(
                    RowProblem(
                        number,
                        "__row__",
                        _("This row has %(cells)s cells but the header has %(columns)s.")
                        % {"cells": len(cells), "columns": width},
                    )
                )
        values: dict[str, str] = {}
        for index, target in columns:
            text = cells[index] if index < len(cells) else ""
            if text.startswith(FORMULA_MARK) or (batch.file_format == "csv" and _is_formula(text)):
                formula = text.removeprefix(FORMULA_MARK)
                problems.append(
                    RowProblem(
                        number,
                        target,
                        _("This cell holds a formula (%(formula)s), not a value; paste values only.")
                        % {"formula": formula[:40]},
                    )
                )
                text = ""
            values[target] = text
        yield number, [c.removeprefix(FORMULA_MARK) for c in cells], values, problems


_FORMULA = re.compile(r"^=[A-Za-z_]*\(|^=[A-Z]{1,3}\d+")


def _is_formula(text: str) -> bool:
    return bool(text) and text[0] == "=" and bool(_FORMULA.match(text))


# --- the dry run's cleaned rows, kept for the run ------------------------------------------------

CLEANED_FORMAT = 2  # bump when what a record type stores per cleaned row changes


def cleaned_path(batch: ImportBatch) -> Path:
    """Where the dry run keeps the batch's cleaned rows: next to the uploaded file, under VAR_DIR."""
    return batch.stored_path.with_name(batch.stored_name + ".cleaned")


def cleaned_fingerprint(batch: ImportBatch, *extra: Any) -> str:
    """What the cleaned rows depend on: the file (size and time), how it is read and mapped, the language of
    the messages and the record type's own `extra` (its targets, the code's format). Any change: clean again."""
    from django.utils import translation

    stat = batch.stored_path.stat()
    parts = [
        CLEANED_FORMAT,
        batch.record_type,
        batch.stored_name,
        stat.st_size,
        stat.st_mtime_ns,
        batch.file_format,
        batch.encoding,
        batch.sheet,
        sorted(batch.mapping.items()),
        translation.get_language(),
        *extra,
    ]
    return hashlib.sha256(json.dumps(parts, default=str, ensure_ascii=False).encode()).hexdigest()


class CleanedWriter:
    """Writes chunks of cleaned rows to the batch's cache file; the file counts only once `close()` ran.

    Rows hold plain values only (str, int, None, lists, tuples, dicts), written with `marshal`, which reads
    data back and never runs code (pickle could). A row holding anything else (a str subclass, say) drops
    the kept rows: the run then cleans the file again."""

    def __init__(self, batch: ImportBatch, fingerprint: str) -> None:
        self.path = cleaned_path(batch)
        self.tmp = self.path.with_name(self.path.name + ".tmp")
        self.fh: Any = self.tmp.open("wb")
        marshal.dump(fingerprint, self.fh)

    def chunk(self, rows: list[Any]) -> None:
        if self.fh is None:
            return
        try:
            marshal.dump(rows, self.fh)
        except ValueError:
            self.abandon()

    def close(self) -> None:
        if self.fh is None:
            return
        marshal.dump(None, self.fh)
        self.fh.close()
        self.fh = None
        self.tmp.replace(self.path)

    def abandon(self) -> None:
        if self.fh is not None:
            self.fh.close()
            self.fh = None
        self.tmp.unlink(missing_ok=True)


def cleaned_chunks(batch: ImportBatch, fingerprint: str) -> Iterator[list[Any]] | None:
    """The chunks the dry run kept, when they were made from this very file, mapping and language; else None."""
    path = cleaned_path(batch)
    try:
        fh = path.open("rb")
    except OSError:
        return None
    try:
        if marshal.load(fh) != fingerprint:
            fh.close()
            return None
    except Exception:
        fh.close()
        return None

    def chunks() -> Iterator[list[Any]]:
        with fh:
            while True:
                rows = marshal.load(fh)
                if rows is None:
                    return
                yield rows

    return chunks()


def cleaned_forget(batch: ImportBatch) -> None:
    cleaned_path(batch).unlink(missing_ok=True)
