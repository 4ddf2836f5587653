"""Signing in by email, lockout after repeated failures, password change, language per user."""

import pytest
from django.test import Client
from django.urls import reverse

from guanxi.core.models import Event, User

from ..factories import PASSWORD

pytestmark = pytest.mark.django_db


def english():
    """A visitor whose browser asks for English, so messages can be checked by their English text."""
    return Client(headers={"Accept-Language": "en"})


def sign_in(client, email, password):
    return client.post(reverse("login"), {"username": email, "password": password})


def test_staff_sign_in_with_their_email_in_any_letter_case(make_user):
    user = make_user("sales", email="li.na@example.com")
    client = english()
    response = sign_in(client, "Li.Na@Example.com", PASSWORD)
    assert response.status_code == 302
    assert client.get(reverse("home")).context["user"] == user


def test_a_wrong_password_is_refused_with_a_message_and_no_session(make_user):
    make_user("sales", email="wang@example.com")
    client = english()
    response = sign_in(client, "wang@example.com", "wrong")
    assert response.status_code == 200
    assert "not correct" in response.content.decode()
    assert client.get(reverse("home")).status_code == 302


def test_repeated_failures_lock_the_account_even_for_the_right_password(make_user, settings):
    settings.LOGIN_MAX_FAILURES = 3
    user = make_user("sales", email="zhao@example.com")
    client = english()
    for _ in range(3):
        sign_in(client, "zhao@example.com", "wrong")
    response = sign_in(client, "zhao@example.com", PASSWORD)
    assert response.status_code == 200
    assert "locked" in response.content.decode()
    user.refresh_from_db()
    assert user.locked_until is not None
    assert Event.objects.for_object(user).filter(action="locked").exists()


def test_an_administrator_can_unlock_an_account(make_user, login, settings):
    settings.LOGIN_MAX_FAILURES = 2
    user = make_user("sales", email="qian@example.com")
    for _ in range(2):
        sign_in(english(), "qian@example.com", "wrong")
    admin = make_user("administrator")
    login(admin).post(reverse("user-unlock", args=[user.pk]))
    assert sign_in(english(), "qian@example.com", PASSWORD).status_code == 302


def test_signing_in_resets_the_failure_count(make_user):
    user = make_user("sales", email="sun@example.com")
    sign_in(english(), "sun@example.com", "wrong")
    sign_in(english(), "sun@example.com", PASSWORD)
    user.refresh_from_db()
    assert user.failed_logins == 0


def test_a_signed_in_visitor_of_the_login_page_goes_home(make_user, login):
    response = login(make_user("sales")).get(reverse("login"))
    assert response.status_code == 302


def test_logout_ends_the_session(make_user, login):
    client = login(make_user("sales"))
    assert client.post(reverse("logout")).status_code == 302
    assert client.get(reverse("home")).status_code == 302


def test_password_change_needs_the_old_password_and_keeps_the_session(make_user, login):
    user = make_user("sales", language="en")
    client = login(user)
    bad = client.post(
        reverse("password-change"),
        {"old_password": "nope", "new_password": "Brand-new-42x", "new_password_again": "Brand-new-42x"},
    )
    assert "incorrectly" in bad.content.decode()
    good = client.post(
        reverse("password-change"),
        {"old_password": PASSWORD, "new_password": "Brand-new-42x", "new_password_again": "Brand-new-42x"},
    )
    assert good.status_code == 302
    assert client.get(reverse("home")).status_code == 200
    assert User.objects.get(pk=user.pk).check_password("Brand-new-42x")


def test_the_language_choice_is_remembered_on_the_user_and_used_on_every_page(make_user, login):
    user = make_user("sales", language="")
    client = login(user)
    client.post(reverse("set-language"), {"language": "en", "next": "/"})
    user.refresh_from_db()
    assert user.language == "en"
    other_browser = login(user)
    page = other_browser.get(reverse("home"))
    assert '<html lang="en"' in page.content.decode()
    other_browser.post(reverse("set-language"), {"language": "zh-hant", "next": "/"})
    assert '<html lang="zh-hant"' in other_browser.get(reverse("home")).content.decode()


def test_the_default_language_is_simplified_chinese(make_user, login):
    page = login(make_user("sales", language="")).get(reverse("home"))
    assert '<html lang="zh-hans"' in page.content.decode()


def test_a_language_switch_never_redirects_off_site(make_user, login):
    response = login(make_user("sales")).post(
        reverse("set-language"), {"language": "en", "next": "https://evil.example/"}
    )
    assert response["Location"] == "/"


def test_an_inactive_account_is_told_so_and_the_attempt_does_not_count_toward_a_lock(make_user):
    user = make_user("sales", email="gone@example.com", is_active=False)
    response = sign_in(english(), "gone@example.com", PASSWORD)
    assert "inactive" in response.content.decode()
    user.refresh_from_db()
    assert user.failed_logins == 0


def test_an_htmx_poll_after_the_session_ended_sends_the_whole_page_to_sign_in(make_user):
    """The job progress fragment must not turn into a sign-in form inside the page."""
    from guanxi.core.models import Job

    job = Job.objects.create(kind="core.audit_export", owner=make_user("sales"))
    response = Client().get(reverse("job-detail", args=[job.pk]), headers={"HX-Request": "true"})
    assert response.status_code == 204
    assert response["HX-Redirect"].startswith("/login/")
