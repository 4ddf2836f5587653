"""Authentication with lockout: repeated failures lock the account for a while."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest
from django.utils import timezone

from .models import User


def user_is_locked(user: User) -> bool:
    return user.locked_until is not None and user.locked_until > timezone.now()


class LockoutModelBackend(ModelBackend):
    """ModelBackend that refuses locked accounts and counts failures toward a lock."""

    def authenticate(
        self, request: HttpRequest | None, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> User | None:
        from .services import login_failed, login_succeeded

        email = (username or kwargs.get("email") or "").strip().lower()
        if not email or password is None:
            return None
        user = User.objects.filter(email=email).first()
        if user is None:
            User().set_password(password)  # same hashing cost whether or not the account exists
            return None
        if user_is_locked(user):
            return None
        if user.check_password(password):
            if not self.user_can_authenticate(user):
                return None  # inactive: refused, but not a guess at the password
            login_succeeded(user=user)
            return user
        login_failed(user=user)
        return None
