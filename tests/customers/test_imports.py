"""Importing contacts, accounts and leads from CSV, XLSX and vCard: the dry run, the run, skip mode and undo."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation

from guanxi.core import services as core_services
from guanxi.core.models import Event, ImportBatch, ImportTemplate
from guanxi.customers import services
from guanxi.customers.models import Account, Contact, ContactAccount, Lead
from guanxi.customers.quality import record_completeness

from . import factories

pytestmark = pytest.mark.django_db


def csv_bytes(rows: list[list[str]], *, encoding: str = "utf-8", delimiter: str = ",") -> bytes:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode(encoding)


@pytest.fixture(autouse=True)
def english() -> Any:
    """The messages these tests read are the English ones, whatever language an earlier test left active."""
    with translation.override("en"):
        yield


def upload(user: Any, name: str, content: bytes, record_type: str = "customers.contact", **kwargs: Any) -> ImportBatch:
    return core_services.import_upload(
        actor=user, record_type=record_type, upload=SimpleUploadedFile(name, content), **kwargs
    )


def checked(user: Any, name: str, content: bytes, record_type: str = "customers.contact", **kw: Any) -> ImportBatch:
    batch = upload(user, name, content, record_type, **kw)
    return core_services.import_check(batch=batch, actor=user)


def run(batch: ImportBatch, user: Any, *, skip: bool | None = None) -> ImportBatch:
    """Start the import job; the worker runs it when the transaction commits (here: in-process, at once)."""
    from django.test import TestCase

    with TestCase.captureOnCommitCallbacks(execute=True):
        core_services.import_run_start(batch=batch, actor=user, skip_bad_rows=skip)
    batch.refresh_from_db()
    return batch


HEADER = ["姓名", "手机", "电子邮件", "公司", "职位"]


@pytest.fixture
def sales(world: dict[str, Any]) -> Any:
    return world["users"]["sales"]


def test_gbk_csv_is_read_and_imported_with_its_chinese_names(sales: Any) -> None:
    """A CSV saved by Excel in GBK is detected, its headers recognised, and the contacts created as typed ones."""
    content = csv_bytes(
        [HEADER, ["张伟", "138 0013 8000", "zhang.wei@example.com", "华为技术", "经理"]], encoding="gbk"
    )
    batch = checked(sales, "通讯录.csv", content)
    assert batch.encoding == "gb18030"
    assert batch.mapping == {
        "姓名": "full_name",
        "手机": "phone",
        "电子邮件": "email",
        "公司": "company",
        "职位": "title",
    }
    assert (batch.total_rows, batch.good_rows, batch.bad_rows) == (1, 1, 0)
    batch = run(batch, sales)
    assert batch.state == ImportBatch.State.DONE
    contact = Contact.objects.get(import_batch=batch)
    typed = services.contact_clean({"surname": "张", "given_name": "伟", "phone": "13800138000"})[0]
    assert (contact.surname, contact.given_name, contact.phone) == ("张", "伟", "+8613800138000")
    assert (contact.name_pinyin, contact.name_initials) == (typed.name_pinyin, typed.name_initials)
    assert contact.owner == sales and contact.team == sales.teams.first()
    assert [a.name for a in contact.accounts.all()] == ["华为技术"]


def test_big5_utf16_bom_and_semicolons_are_all_read(sales: Any) -> None:
    """Big5, UTF-16 with BOM (Excel "Unicode text", tab-separated), UTF-8 with BOM and semicolons all read the same."""
    rows = [["姓名", "手機", "電子郵件"], ["陳大文", "+886 912 345 678", "chan@example.tw"]]
    big5 = checked(sales, "a.csv", csv_bytes(rows, encoding="big5"))
    assert big5.encoding == "big5" and big5.good_rows == 1
    utf16 = checked(sales, "b.txt", csv_bytes(rows, encoding="utf-16", delimiter="\t"))
    assert utf16.encoding == "utf-16" and utf16.good_rows == 1 and utf16.headers == rows[0]
    bom = checked(sales, "c.csv", csv_bytes(rows, encoding="utf-8-sig", delimiter=";"))
    assert bom.encoding == "utf-8-sig" and bom.headers == rows[0] and bom.good_rows == 1


def test_a_file_without_a_header_row_is_refused_and_not_kept(sales: Any) -> None:
    """A first row of data instead of column names is a clear error on `file`; no batch is created."""
    content = csv_bytes([["张伟", "13800138000", "zhang@example.com"], ["李娜", "13900139000", "li@example.com"]])
    with pytest.raises(ValidationError) as caught:
        upload(sales, "noheader.csv", content)
    assert "13800138000" in caught.value.message_dict["file"][0]
    assert not ImportBatch.objects.exists()


def test_ragged_rows_are_reported_by_row_number(sales: Any) -> None:
    """A row with more or fewer cells than the header is a bad row named by its line in the file."""
    content = csv_bytes(
        [HEADER[:3], ["张伟", "13800138000", "a@example.com"], ["李娜", "13900139000"], ["王芳", "137", "b@x.com", "x"]]
    )
    batch = checked(sales, "ragged.csv", content)
    rows = sorted({p[0] for p in batch.problems if p[1] == "__row__"})
    assert rows == [3, 4]
    assert batch.bad_rows == 2 and batch.good_rows == 1


def test_full_width_digits_in_phones_are_normalised(sales: Any) -> None:
    """Full-width digits and @ (typed with a Chinese input method) are read as ASCII."""
    content = csv_bytes([HEADER[:3], ["李娜", "１３９００１３９０００", "li＠example.com"]])
    batch = run(checked(sales, "fw.csv", content), sales)
    contact = Contact.objects.get(import_batch=batch)
    assert (contact.phone, contact.email) == ("+8613900139000", "li@example.com")


def test_a_bad_row_makes_nothing_be_written_in_all_or_nothing_mode(sales: Any) -> None:
    """The dry run names the bad row and field; running without skip is refused, and nothing is written."""
    content = csv_bytes([HEADER[:3], ["张伟", "13800138000", ""], ["李娜", "12345", ""], ["王芳", "", "not-an-email"]])
    batch = checked(sales, "bad.csv", content)
    assert [(p[0], p[1]) for p in batch.problems] == [(3, "phone"), (4, "email")]
    assert "12345" in batch.problems[0][2]
    with pytest.raises(ValidationError) as caught:
        core_services.import_run_start(batch=batch, actor=sales, skip_bad_rows=False)
    assert "skip_bad_rows" in caught.value.message_dict
    assert not Contact.objects.exists()


def test_a_file_changed_after_the_dry_run_is_rolled_back_whole(sales: Any) -> None:
    """A bad row met during the run itself (all-or-nothing) rolls the whole file back and fails the batch."""
    content = csv_bytes([HEADER[:2], ["张伟", "13800138000"], ["李娜", "13900139000"]])
    batch = checked(sales, "x.csv", content)
    batch.stored_path.write_bytes(csv_bytes([HEADER[:2], ["张伟", "13800138000"], ["李娜", "12345"]]))
    batch = run(batch, sales)
    assert batch.state == ImportBatch.State.FAILED and "12345" in batch.error
    assert not Contact.objects.exists() and not Event.objects.filter(action="created", object_repr="张伟").exists()


def test_skip_mode_writes_the_good_rows_and_an_error_file(sales: Any, settings: Any) -> None:
    """Skipping bad rows imports the good ones; the bad ones go to a CSV with their columns and the problem."""
    content = csv_bytes([HEADER[:3], ["张伟", "13800138000", ""], ["李娜", "12345", ""], ["王芳", "13700137000", ""]])
    batch = run(checked(sales, "skip.csv", content), sales, skip=True)
    assert batch.state == ImportBatch.State.DONE
    assert sorted(Contact.objects.values_list("full_name", flat=True)) == ["张伟", "王芳"]
    assert (batch.created_count, batch.skipped_count) == (2, 1)
    text = (settings.VAR_DIR / "exports" / batch.error_file).read_text(encoding="utf-8-sig")
    lines = list(csv.reader(io.StringIO(text)))
    assert lines[0][:3] == HEADER[:3] and len(lines[0]) == 5  # the original columns, the row number, the problem
    assert lines[1][:3] == ["李娜", "12345", ""] and lines[1][3] == "3" and "phone" in lines[1][4]


def test_events_are_written_for_every_imported_record(sales: Any) -> None:
    """Each contact and each account the import creates has its `created` event naming the batch."""
    content = csv_bytes(
        [HEADER, ["张伟", "13800138000", "", "小米科技", "总监"], ["李娜", "13900139000", "", "小米科技", ""]]
    )
    batch = run(checked(sales, "ev.csv", content), sales)
    contacts = list(Contact.objects.filter(import_batch=batch))
    accounts = list(Account.objects.filter(import_batch=batch))
    assert len(contacts) == 2 and len(accounts) == 1
    for record in [*contacts, *accounts]:
        event = Event.objects.for_object(record).get(action="created")
        assert event.actor == sales and event.data == {"import_batch": batch.pk}
    event = Event.objects.for_object(contacts[0]).get()
    assert event.changes["phone"] == [None, contacts[0].phone]
    assert event.changes["accounts"] == [None, [{"account": accounts[0].pk, "role": ""}]]
    assert ContactAccount.objects.filter(account=accounts[0]).count() == 2


def test_company_names_link_to_an_existing_account_in_scope(sales: Any) -> None:
    """A row naming an account the user can see links to it instead of creating another."""
    existing = factories.account(owner=sales, name="腾讯科技")
    content = csv_bytes([[*HEADER[:2], "公司"], ["张伟", "13800138000", "腾讯科技"]])
    batch = run(checked(sales, "link.csv", content), sales)
    assert not Account.objects.filter(import_batch=batch).exists()
    assert list(Contact.objects.get(import_batch=batch).accounts.all()) == [existing]


def test_undo_removes_exactly_the_batchs_untouched_records(sales: Any) -> None:
    """Undo removes what the batch created, keeps a record changed since, and leaves other records alone."""
    other = factories.contact(owner=sales)
    content = csv_bytes([HEADER[:2], ["张伟", "13800138000"], ["李娜", "13900139000"]])
    batch = run(checked(sales, "undo.csv", content), sales)
    changed = Contact.objects.get(import_batch=batch, full_name="李娜")
    services.contact_update(contact=changed, actor=sales, title="经理")
    batch = core_services.import_undo(batch=batch, actor=sales)
    assert (batch.state, batch.removed_count, batch.kept_count) == (ImportBatch.State.UNDONE, 1, 1)
    assert set(Contact.objects.values_list("pk", flat=True)) == {other.pk, changed.pk}
    assert Event.objects.for_object(batch).filter(action="undone").exists()


def test_only_the_owner_or_an_administrator_may_undo(world: dict[str, Any], sales: Any) -> None:
    content = csv_bytes([HEADER[:2], ["张伟", "13800138000"]])
    batch = run(checked(sales, "u.csv", content), sales)
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        core_services.import_undo(batch=batch, actor=world["users"]["manager"])
    assert core_services.import_undo(batch=batch, actor=world["users"]["administrator"]).state == "undone"


def test_duplicates_are_flagged_against_records_and_within_the_file(sales: Any) -> None:
    """Same normalised phone as an existing contact, or the same email as an earlier row: flagged, not refused."""
    existing = factories.contact(owner=sales, phone="13800138000")
    content = csv_bytes(
        [HEADER[:3], ["张伟", "+86 138-0013-8000", ""], ["李娜", "", "li@example.com"], ["李娜", "", "li@Example.com"]]
    )
    batch = checked(sales, "dup.csv", content)
    assert batch.bad_rows == 0 and batch.duplicate_rows == 2
    first, second = batch.duplicates
    assert (first["row"], first["field"], first["record_id"]) == (2, "phone", existing.pk)
    assert (second["row"], second["field"], second["same_file_row"]) == (4, "email", 3)


def test_template_is_remembered_and_re_applied(sales: Any) -> None:
    """A mapping chosen by hand is remembered on success and maps the next file with the same headers."""
    content = csv_bytes([["Kontakt", "Handy"], ["张伟", "13800138000"]])
    batch = upload(sales, "odd.csv", content)
    assert batch.mapping == {"Kontakt": "", "Handy": ""}
    core_services.import_map(batch=batch, actor=sales, mapping={"Kontakt": "full_name", "Handy": "phone"})
    run(core_services.import_check(batch=batch, actor=sales), sales)
    template = ImportTemplate.objects.get(owner=sales)
    assert template.mapping == {"Kontakt": "full_name", "Handy": "phone"}
    again = upload(sales, "odd2.csv", csv_bytes([["Kontakt", "Handy"], ["李娜", "13900139000"]]))
    assert again.mapping == {"Kontakt": "full_name", "Handy": "phone"} and again.template == template


def test_outlook_and_google_headers_are_recognised(sales: Any) -> None:
    """The column names of Outlook and Google Contacts exports map without help."""
    outlook = upload(
        sales,
        "outlook.csv",
        csv_bytes(
            [
                ["First Name", "Last Name", "E-mail Address", "Mobile Phone", "Company", "Job Title", "Business City"],
                ["Wei", "Zhang"],
            ]
        ),
    )
    assert outlook.mapping == {
        "First Name": "given_name",
        "Last Name": "surname",
        "E-mail Address": "email",
        "Mobile Phone": "phone",
        "Company": "company",
        "Job Title": "title",
        "Business City": "city",
    }
    google = upload(
        sales,
        "google.csv",
        csv_bytes(
            [
                ["Name", "Given Name", "Family Name", "E-mail 1 - Value", "Phone 1 - Value", "Organization 1 - Name"],
                ["x"],
            ]
        ),
    )
    assert google.mapping["E-mail 1 - Value"] == "email" and google.mapping["Phone 1 - Value"] == "phone"
    assert google.mapping["Organization 1 - Name"] == "company" and google.mapping["Family Name"] == "surname"


def test_a_file_over_the_size_limit_is_refused(sales: Any, settings: Any) -> None:
    """A file over the limit is refused before anything is stored, with both sizes in units a person reads."""
    settings.IMPORT_MAX_BYTES = 1000
    with pytest.raises(ValidationError) as caught:
        upload(sales, "big.csv", csv_bytes([HEADER[:2]] + [["张伟", "13800138000"]] * 100))
    message = caught.value.message_dict["file"][0]
    assert "the limit is 1000\xa0bytes" in message and "KB;" in message
    assert not ImportBatch.objects.exists()


def test_xlsx_with_an_excel_date_and_a_formula(sales: Any) -> None:
    """Excel dates become ISO dates, numbers typed as numbers keep their digits, and a formula cell is reported."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["Company", "Website", "Industry", "Notes"])
    sheet.append(["华为技术", "huawei.com", datetime(2024, 3, 5), 13800138000])
    sheet.append(["小米科技", '=HYPERLINK("mi.com")', "手机", ""])
    out = io.BytesIO()
    book.save(out)
    batch = checked(sales, "accounts.xlsx", out.getvalue(), record_type="customers.account")
    assert batch.samples[0] == ["华为技术", "huawei.com", "2024-03-05", "13800138000"]
    assert batch.samples[1][1] == '=HYPERLINK("mi.com")'  # shown as the formula it is
    assert batch.mapping["Company"] == "name"
    assert [(p[0], p[1]) for p in batch.problems] == [(3, "website")]
    assert "formula" in batch.problems[0][2]
    batch = run(batch, sales, skip=True)
    account = Account.objects.get(import_batch=batch)
    assert (account.name, account.industry, account.website) == ("华为技术", "2024-03-05", "https://huawei.com")
    assert date.fromisoformat(account.industry) == date(2024, 3, 5)


def test_vcard_21_with_quoted_printable_chinese_name(sales: Any) -> None:
    """A phone's vCard 2.1 export (QUOTED-PRINTABLE UTF-8, soft line breaks) imports the right name and number."""
    card = (
        "BEGIN:VCARD\r\nVERSION:2.1\r\n"
        "N;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:=E5=BC=A0;=E4=BC=9F;;;\r\n"
        "FN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:=E5=BC=A0=E4=BC=\r\n=9F\r\n"
        "TEL;CELL:138 0013 8000\r\nEMAIL;INTERNET:zhang@example.com\r\n"
        "ORG;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:=E5=8D=8E=E4=B8=BA\r\nEND:VCARD\r\n"
        "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Smith;John;;;\r\nFN:John Smith\r\nTEL;TYPE=CELL:+44 7911 123456\r\n"
        "END:VCARD\r\n"
    )
    batch = run(checked(sales, "contacts.vcf", card.encode()), sales)
    people = {c.full_name: c for c in Contact.objects.filter(import_batch=batch)}
    assert set(people) == {"张伟", "John Smith"}
    assert people["张伟"].phone == "+8613800138000" and people["张伟"].email == "zhang@example.com"
    assert [a.name for a in people["张伟"].accounts.all()] == ["华为"]
    assert people["John Smith"].phone == "+447911123456"


def test_leads_import_with_source_labels(sales: Any) -> None:
    content = csv_bytes([["姓名", "公司", "手机", "来源"], ["王芳", "字节跳动", "13700137000", "Website"]])
    batch = run(checked(sales, "leads.csv", content, record_type="customers.lead"), sales)
    lead = Lead.objects.get(import_batch=batch)
    assert (lead.full_name, lead.company_name, lead.source, lead.status) == ("王芳", "字节跳动", "web", "new")


def test_owner_column_assigns_users_in_scope_only(world: dict[str, Any]) -> None:
    """A manager may give rows to a member of a team below; an unknown or out-of-scope email is a bad row."""
    manager, sales = world["users"]["manager"], world["users"]["sales"]
    content = csv_bytes(
        [["姓名", "手机", "负责人"], ["张伟", "13800138000", sales.email], ["李娜", "13900139000", "nobody@nowhere.cn"]]
    )
    batch = checked(manager, "own.csv", content)
    assert [(p[0], p[1]) for p in batch.problems] == [(3, "owner")]
    batch = run(batch, manager, skip=True)
    contact = Contact.objects.get(import_batch=batch)
    assert contact.owner == sales and contact.team == world["teams"]["east"]


def test_a_user_without_the_record_permission_may_not_import(world: dict[str, Any]) -> None:
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        upload(world["users"]["analyst"], "a.csv", csv_bytes([HEADER[:2], ["张伟", "13800138000"]]))


def test_the_run_writes_from_the_dry_runs_kept_rows_and_then_removes_them(sales: Any) -> None:
    """The dry run keeps its cleaned rows next to the file; the run writes exactly what cleaning the file again
    would write (a twin batch whose kept rows were deleted is the witness), and the kept rows go with the file."""
    from guanxi.core.imports import cleaned_chunks as kept_chunks
    from guanxi.core.imports import cleaned_path
    from guanxi.customers.imports import _fingerprint

    rows = [
        HEADER,
        ["张伟", "138 0013 8000", "Wei@Example.COM", "小米科技", "总监"],
        ["John Smith", "+44 7970 142608", "", "", ""],
    ]
    kept = checked(sales, "kept.csv", csv_bytes(rows))
    assert cleaned_path(kept).exists()
    assert sum(len(chunk) for chunk in kept_chunks(kept, _fingerprint(kept)) or []) == 2
    twin = checked(sales, "twin.csv", csv_bytes(rows))
    cleaned_path(twin).unlink()
    kept, twin = run(kept, sales), run(twin, sales)
    fields = ("full_name", "name_pinyin", "phone", "email", "title", "owner_id", "team_id")
    assert list(Contact.objects.filter(import_batch=kept).order_by("id").values_list(*fields)) == list(
        Contact.objects.filter(import_batch=twin).order_by("id").values_list(*fields)
    )
    assert not cleaned_path(kept).exists() and not cleaned_path(twin).exists()


def test_kept_rows_from_another_mapping_or_language_are_not_used(sales: Any) -> None:
    """Rows kept by a dry run count only for the same file, mapping and language of the messages."""
    from django.utils import translation

    from guanxi.core.imports import cleaned_chunks as kept_chunks
    from guanxi.customers.imports import _fingerprint

    batch = checked(sales, "m.csv", csv_bytes([HEADER[:2], ["张伟", "13800138000"]]))
    assert kept_chunks(batch, _fingerprint(batch)) is not None
    with translation.override("zh-hant"):
        assert kept_chunks(batch, _fingerprint(batch)) is None
    batch.mapping = {**batch.mapping, "手机": ""}
    assert kept_chunks(batch, _fingerprint(batch)) is None


def test_kept_rows_that_marshal_cannot_hold_are_dropped_and_the_run_cleans_again(sales: Any) -> None:
    """The kept rows are plain data (marshal, which never runs code); a value it cannot hold drops the file
    instead of failing the dry run, and the run still imports from the file itself."""
    from django.utils.safestring import SafeString

    from guanxi.core.imports import CleanedWriter, cleaned_path

    batch = checked(sales, "safe.csv", csv_bytes([HEADER[:2], ["张伟", "13800138000"]]))
    cleaned_path(batch).unlink()  # what the dry run kept; now a writer meets a value marshal cannot hold
    writer = CleanedWriter(batch, "fingerprint")
    writer.chunk([(1, [SafeString("x")], {}, {}, "", "", "", {})])
    writer.close()
    assert not cleaned_path(batch).exists()
    batch = run(batch, sales)
    assert batch.state == ImportBatch.State.DONE and Contact.objects.get().phone == "+8613800138000"


def test_custom_fields_are_mapped_checked_and_stored_and_scores_kept(sales: Any) -> None:
    """A custom field is a mapping target under its label, cleaned like a form value; the administrator's
    required fields hold for files too; imported records get their completeness score."""
    core_services.custom_field_create(
        actor=None, record_type="contact", key="level", label="会员等级", kind="choice", choices=["gold", "silver"]
    )
    core_services.custom_field_create(actor=None, record_type="contact", key="wechat", label="微信号", kind="text")
    core_services.field_rules_set(record_type="contact", required=["title"], actor=None)
    rows = [
        ["姓名", "手机", "职位", "会员等级", "微信号"],
        ["张伟", "13800138000", "经理", "gold", "wx_zhang"],
        ["李娜", "13900139000", "", "platinum", ""],
    ]
    batch = upload(sales, "members.csv", csv_bytes(rows))
    assert batch.mapping["会员等级"] == "custom_level" and batch.mapping["微信号"] == "custom_wechat"
    batch = core_services.import_check(batch=batch, actor=sales)
    problems = {(row, field) for row, field, _message in batch.problems}
    assert problems == {(3, "title"), (3, "custom_level")}, "a bad choice and a required built-in field"
    batch = run(batch, sales, skip=True)
    zhang = Contact.objects.get(import_batch=batch)
    assert zhang.custom == {"level": "gold", "wechat": "wx_zhang"}
    assert zhang.completeness == record_completeness(zhang).score > 0


def test_imported_records_are_scored_before_they_are_written_and_equal_a_recount(sales: Any, make_user: Any) -> None:
    """The writer scores each new contact and account from its values instead of updating it after the insert;
    under an administrator's weights, every stored score equals a recount from the database: contacts linked
    to a new account, to an existing one and to none, the new accounts, and the existing account that now
    has its first contacts. A lead file scores its leads the same way."""
    admin = make_user("administrator")
    services.quality_weights_set(record_type="contact", weights={"accounts": 40, "street": 0}, actor=admin)
    existing = factories.account(owner=sales, name="华为技术", industry="telecom")
    before = Account.objects.get(pk=existing.pk).completeness
    rows = [
        [*HEADER, "省份", "城市"],
        ["张伟", "138 0013 8000", "zhang.wei@example.com", "华为技术", "经理", "广东", "深圳"],
        ["李娜", "13900139000", "", "小米科技", "", "", ""],
        ["王芳", "", "wang.fang@example.com", "", "采购", "上海", ""],
    ]
    batch = run(checked(sales, "people.csv", csv_bytes(rows)), sales)
    assert batch.state == ImportBatch.State.DONE, batch.problems
    contacts = list(Contact.objects.filter(import_batch=batch))
    new_accounts = list(Account.objects.filter(import_batch=batch))
    assert len(contacts) == 3 and [a.name for a in new_accounts] == ["小米科技"]
    for record in [*contacts, *new_accounts, Account.objects.get(pk=existing.pk)]:
        assert record.completeness == record_completeness(record).score, record
    scores = {c.full_name: c.completeness for c in contacts}
    assert scores["张伟"] > scores["李娜"] > 0 and scores["王芳"] > 0, "the weights were applied"
    assert Account.objects.get(pk=existing.pk).completeness > before, "the existing account gained its contacts"

    leads = run(
        checked(
            sales, "leads.csv", csv_bytes([["姓名", "公司", "手机"], ["赵敏", "明教", "13700137000"]]), "customers.lead"
        ),
        sales,
    )
    lead = Lead.objects.get(import_batch=leads)
    assert lead.completeness == record_completeness(lead).score > 0
