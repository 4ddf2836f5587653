"""The API's contract: auth, one error shape, pagination, limits, PII masking, health and docs."""

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from guanxi.core.models import ApiToken, Event, Team, User
from guanxi.core.services import token_create, token_revoke

pytestmark = pytest.mark.django_db


def post(client, url, body, **extra):
    return client.post(
        url, body if isinstance(body, str) else json.dumps(body), content_type="application/json", **extra
    )


def error(response):
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "fields"}
    return body["error"]


def test_a_bearer_token_acts_as_its_user(make_user, bearer):
    user = make_user("sales")
    response = bearer(user).get("/api/v1/me")
    assert response.status_code == 200
    assert response.json()["id"] == user.pk


def test_only_a_digest_of_the_token_is_stored(make_user):
    token, plaintext = token_create(user=make_user("sales"), name="ci")
    assert plaintext not in {token.digest, token.prefix} and len(token.digest) == 64
    assert not ApiToken.objects.filter(digest=plaintext).exists()


@pytest.mark.parametrize(
    ("spoil", "code"),
    [("revoke", "token_revoked"), ("expire", "token_expired"), ("garble", "token_invalid")],
)
def test_revoked_expired_or_forged_tokens_get_401_with_the_reason(make_user, spoil, code):
    user = make_user("sales")
    token, plaintext = token_create(user=user, name="ci")
    if spoil == "revoke":
        token_revoke(token=token, actor=user)
    elif spoil == "expire":
        ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    else:
        plaintext = plaintext[:-3] + "xyz"
    response = Client(headers={"Authorization": f"Bearer {plaintext}"}).get("/api/v1/me")
    assert response.status_code == 401
    assert error(response)["code"] == code


def test_no_credentials_get_401_in_the_error_shape():
    response = Client().get("/api/v1/users")
    assert response.status_code == 401 and error(response)["code"] == "not_authenticated"


def test_malformed_json_is_a_400_and_writes_nothing(make_user, bearer):
    client = bearer(make_user("administrator"))
    before = Team.objects.count()
    response = post(client, "/api/v1/teams", '{"name": "坏')
    assert response.status_code == 400 and error(response)["code"] == "bad_request"
    assert Team.objects.count() == before


def test_an_unknown_field_is_named_in_the_error_and_nothing_is_written(make_user, bearer):
    client = bearer(make_user("administrator"))
    response = post(client, "/api/v1/teams", {"name": "华北", "colour": "red"})
    assert response.status_code == 422
    assert error(response)["fields"] == {"colour": ["Unknown field."]}
    assert not Team.objects.filter(name="华北").exists()


def test_a_missing_required_field_is_named(make_user, bearer):
    response = post(bearer(make_user("administrator")), "/api/v1/users", {"full_name": "无邮箱"})
    assert response.status_code == 422 and "email" in error(response)["fields"]


def test_a_business_rule_error_names_the_field(make_user, bearer):
    admin = make_user("administrator")
    response = post(bearer(admin), "/api/v1/users", {"email": admin.email, "full_name": "重复"})
    assert response.status_code == 422
    assert list(error(response)["fields"]) == ["email"]


def test_an_oversized_request_gets_413_and_nothing_is_written(make_user, bearer, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    client = bearer(make_user("administrator"))
    response = post(client, "/api/v1/teams", {"name": "大" * 2000})
    assert response.status_code == 413 and error(response)["code"] == "too_large"
    assert not Team.objects.filter(name__startswith="大").exists()


def test_lists_are_paged_with_count_and_pages(make_user, bearer):
    admin = make_user("administrator")
    for _ in range(4):
        make_user("sales")
    body = bearer(admin).get("/api/v1/users?page=2&page_size=2").json()
    assert body["count"] == 5 and body["page"] == 2 and body["pages"] == 3
    assert len(body["items"]) == 2


def test_a_page_size_above_the_limit_is_refused(make_user, bearer):
    response = bearer(make_user("administrator")).get("/api/v1/users?page_size=1000")
    assert response.status_code == 422 and "page_size" in error(response)["fields"]


def test_each_token_has_its_own_rate_limit(make_user, settings):
    settings.API_RATE_LIMIT_PER_MINUTE = 3
    user = make_user("sales")
    first = Client(headers={"Authorization": f"Bearer {token_create(user=user, name='a')[1]}"})
    second = Client(headers={"Authorization": f"Bearer {token_create(user=user, name='b')[1]}"})
    assert [first.get("/api/v1/me").status_code for _ in range(3)] == [200, 200, 200]
    limited = first.get("/api/v1/me")
    assert limited.status_code == 429 and error(limited)["code"] == "rate_limited"
    assert int(limited["Retry-After"]) >= 1
    assert second.get("/api/v1/me").status_code == 200


def test_personal_data_is_masked_without_view_pii(make_user, bearer):
    colleague = make_user("sales", email="chen.jie@example.com", phone="+8613812345678")
    body = bearer(make_user("sales")).get(f"/api/v1/users/{colleague.pk}").json()
    assert body["email"] == "c***@example.com"
    assert body["phone"] == "861****5678"


def test_unmasked_views_of_personal_data_are_logged(make_user, bearer):
    admin = make_user("administrator")
    colleague = make_user("sales", email="zhou@example.com")
    body = bearer(admin).get("/api/v1/users").json()
    assert "zhou@example.com" in [u["email"] for u in body["items"]]
    logged = Event.objects.filter(action="pii_viewed", actor=admin, object_id=colleague.pk)
    assert logged.get().data == {"fields": ["email", "phone"], "channel": "api"}


def test_the_browser_session_works_for_the_api_but_writes_need_the_csrf_token(make_user):
    user = make_user("sales")
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    assert client.get("/api/v1/me").status_code == 200
    assert post(client, "/api/v1/tokens", {"name": "x"}).status_code == 403
    client.get("/")  # the page sets the CSRF cookie
    token = client.cookies["csrftoken"].value
    assert post(client, "/api/v1/tokens", {"name": "x"}, HTTP_X_CSRFTOKEN=token).status_code == 201


def test_creating_a_user_through_the_api_records_an_event(make_user, bearer):
    admin = make_user("administrator")
    response = post(
        bearer(admin), "/api/v1/users", {"email": "new@example.com", "full_name": "新人", "roles": ["sales"]}
    )
    assert response.status_code == 201
    created = User.objects.get(email="new@example.com")
    assert created.role_names == ["sales"]
    assert Event.objects.for_object(created).filter(action="created", actor=admin).exists()


def test_an_unknown_role_is_refused_by_name(make_user, bearer):
    response = post(
        bearer(make_user("administrator")),
        "/api/v1/users",
        {"email": "r@example.com", "full_name": "R", "roles": ["boss"]},
    )
    assert response.status_code == 422 and "roles" in error(response)["fields"]


def test_health_reports_database_and_broker():
    body = Client().get("/healthz").json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["ok"] and body["checks"]["broker"]["ok"]


def test_the_openapi_schema_lists_the_endpoints_and_docs_are_served_locally():
    schema = Client().get("/api/v1/openapi.json").json()
    assert "/api/v1/users" in schema["paths"]
    page = Client().get("/api/docs").content.decode()
    assert "swagger" in page.lower() and "cdn" not in page.lower()


def test_an_unknown_api_path_and_a_wrong_method_answer_in_the_error_shape(make_user, bearer):
    client = bearer(make_user("sales"))
    missing = client.get("/api/v1/no-such-thing")
    assert missing.status_code == 404 and error(missing)["code"] == "not_found"
    wrong = client.put("/api/v1/me", "{}", content_type="application/json")
    assert wrong.status_code == 405 and error(wrong)["code"] == "method_not_allowed"


def test_the_audit_api_masks_personal_data_in_changes_for_roles_without_view_pii(make_user, bearer):
    team = Team.objects.create(name="审计 Audit")
    admin = make_user("administrator", teams=[team])
    analyst = make_user("analyst", teams=[team])
    colleague = make_user("sales", email="old@example.com")
    from guanxi.core.services import user_update

    user_update(user=colleague, actor=admin, email="new@example.com")
    url = f"/api/v1/events?object_id={colleague.pk}&action=updated"
    assert bearer(admin).get(url).json()["items"][0]["changes"]["email"] == ["old@example.com", "new@example.com"]
    seen = bearer(analyst).get(url).json()["items"]
    assert seen[0]["changes"]["email"] == ["o***@example.com", "n***@example.com"]


def test_your_own_personal_data_is_not_masked_for_you(make_user, bearer):
    user = make_user("sales", email="me@example.com")
    assert bearer(user).get("/api/v1/me").json()["email"] == "me@example.com"


def test_api_messages_follow_the_token_users_language(make_user, bearer):
    client = bearer(make_user("administrator", language="zh-hans"))
    response = post(client, "/api/v1/teams", {"name": "华北", "colour": "red"})
    assert error(response)["fields"] == {"colour": ["未知字段。"]}
