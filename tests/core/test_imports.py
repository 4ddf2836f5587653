"""The import pages and API: upload, mapping, dry-run report, confirm, result and undo, in every language."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from guanxi.core.imports import header_key, recognise_header, sniff_delimiter
from guanxi.core.models import ImportBatch, ImportTemplate
from guanxi.customers.models import Contact

pytestmark = pytest.mark.django_db

CSV = "姓名,手机,公司\r\n张伟,13800138000,华为技术\r\n李娜,12345,\r\n".encode()
LANGUAGES = ["zh-hans", "zh-hant", "en"]


def test_headers_are_recognised_in_chinese_and_english() -> None:
    """Known export headers map whatever their case, width or spacing."""
    assert recognise_header("手机号码") == "phone"
    assert recognise_header("ＥＭＡＩＬ") == "email"
    assert recognise_header("E-mail  Address") == "email"
    assert recognise_header("Mailing_City") == "city"
    assert recognise_header("省") == "province" and recognise_header("区") == "district"
    assert header_key(" First  Name ") == "first name"
    assert recognise_header("favourite colour") == ""


def test_delimiters_are_sniffed() -> None:
    assert sniff_delimiter("a;b;c\n1;2;3\n") == ";"
    assert sniff_delimiter("a\tb\tc\n1\t2\t3\n") == "\t"
    assert sniff_delimiter("a,b\n1,2\n") == ","


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_page_flow_from_upload_to_undo(
    world: dict[str, Any], login: Any, language: str, django_capture_on_commit_callbacks: Any
) -> None:
    """Upload → mapping (samples shown) → dry run report (bad row named) → import skipping it → result → undo."""
    sales = world["users"]["sales"]
    client = login(sales)
    client.cookies["django_language"] = language
    response = client.post(
        reverse("import-create"),
        {"file": SimpleUploadedFile("联系人.csv", CSV), "record_type": "customers.contact"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    batch = ImportBatch.objects.get()
    page = client.get(batch.get_absolute_url())
    assert page.status_code == 200 and "华为技术" in page.content.decode()  # a sample value under its column
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("import-map", args=[batch.pk]), {"col_0": "full_name", "col_1": "phone"})
    batch.refresh_from_db()
    assert batch.state == ImportBatch.State.CHECKED and batch.bad_rows == 1
    report = client.get(batch.get_absolute_url()).content.decode()
    assert "12345" in report and 'name="skip_bad_rows"' in report
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("import-run", args=[batch.pk]), {"skip_bad_rows": "1"})
    batch.refresh_from_db()
    assert batch.state == ImportBatch.State.DONE and batch.created_count == 1
    result = client.get(batch.get_absolute_url()).content.decode()
    assert reverse("job-download", args=[batch.job_id]) in result and reverse("import-undo", args=[batch.pk]) in result
    assert client.get(reverse("job-download", args=[batch.job_id])).status_code == 200
    assert client.get(reverse("import-list")).status_code == 200
    client.post(reverse("import-undo", args=[batch.pk]))
    assert not Contact.objects.exists()


def test_a_refused_upload_shows_the_reason_on_the_form(world: dict[str, Any], login: Any) -> None:
    client = login(world["users"]["sales"])
    client.cookies["django_language"] = "en"
    response = client.post(
        reverse("import-create"),
        {"file": SimpleUploadedFile("x.csv", b"13800138000,a@b.cn\r\n"), "record_type": "customers.contact"},
    )
    assert response.status_code == 200
    assert "looks like data" in response.content.decode()


def test_the_api_uploads_checks_runs_and_undoes(world: dict[str, Any], bearer: Any) -> None:
    """POST /imports answers the dry run; run starts the job; GET shows the result; undo removes the records."""
    client = bearer(world["users"]["sales"])
    response = client.post(
        "/api/v1/imports",
        {
            "file": SimpleUploadedFile("c.csv", CSV),
            "record_type": "customers.contact",
            "mapping": json.dumps({"公司": ""}),
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["mapping"] == {"姓名": "full_name", "手机": "phone", "公司": ""}
    assert (body["total_rows"], body["bad_rows"]) == (2, 1)
    assert body["problems"][0]["row"] == 3 and body["problems"][0]["field"] == "phone"
    refused = client.post(f"/api/v1/imports/{body['id']}/run", {}, content_type="application/json")
    assert refused.status_code == 422 and "skip_bad_rows" in refused.json()["error"]["fields"]
    from django.test import TestCase

    with TestCase.captureOnCommitCallbacks(execute=True):
        started = client.post(
            f"/api/v1/imports/{body['id']}/run", {"skip_bad_rows": True}, content_type="application/json"
        )
    assert started.status_code == 202 and started.json()["job_id"]
    done = client.get(f"/api/v1/imports/{body['id']}").json()
    assert (done["state"], done["created_count"], done["skipped_count"]) == ("done", 1, 1)
    undone = client.post(f"/api/v1/imports/{body['id']}/undo").json()
    assert (undone["state"], undone["removed_count"]) == ("undone", 1)


def test_the_api_refuses_a_bad_file_with_the_error_shape(world: dict[str, Any], bearer: Any) -> None:
    client = bearer(world["users"]["sales"])
    response = client.post(
        "/api/v1/imports", {"file": SimpleUploadedFile("x.xls", b"\xd0\xcf"), "record_type": "customers.contact"}
    )
    assert response.status_code == 422
    assert "xlsx" in response.json()["error"]["fields"]["file"][0]


def test_template_crud_through_the_api(world: dict[str, Any], bearer: Any) -> None:
    client = bearer(world["users"]["sales"])
    created = client.post(
        "/api/v1/import-templates",
        {"name": "企业微信", "record_type": "customers.contact", "mapping": {"成员": "full_name"}},
        content_type="application/json",
    )
    assert created.status_code == 201
    template_id = created.json()["id"]
    bad = client.patch(
        f"/api/v1/import-templates/{template_id}", {"mapping": {"x": "salary"}}, content_type="application/json"
    )
    assert bad.status_code == 422 and "mapping" in bad.json()["error"]["fields"]
    listed = client.get("/api/v1/import-templates?record_type=customers.contact").json()
    assert [t["name"] for t in listed["items"]] == ["企业微信"]
    assert client.delete(f"/api/v1/import-templates/{template_id}").status_code == 204
    assert not ImportTemplate.objects.exists()
