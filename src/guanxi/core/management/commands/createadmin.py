"""Create the first administrator (idempotent) and print the login."""

import os
import secrets
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction

from guanxi.core.models import ADMINISTRATOR, User
from guanxi.core.services import user_create


class Command(BaseCommand):
    help = "Create the administrator account if it does not exist, and print its login."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--email", default="admin@guanxi.local")
        parser.add_argument("--password", default="", help="Default: generated once and kept in ./var/admin_password")
        parser.add_argument("--name", default="管理员 Admin")

    @transaction.atomic
    def handle(self, *args: Any, email: str, password: str, name: str, **options: Any) -> None:
        stored = settings.VAR_DIR / "admin_password"
        if not password:
            if not stored.exists():
                stored.write_text(secrets.token_urlsafe(12))
                stored.chmod(0o600)
            password = stored.read_text().strip()
        user = User.objects.filter(email=email.lower()).first()
        if user is None:
            user = user_create(
                email=email, full_name=name, password=password, roles=[ADMINISTRATOR], actor=None, is_superuser=True
            )
            self.stdout.write(self.style.SUCCESS("Administrator created."))
        elif not user.check_password(password):
            self.stdout.write(f"Administrator {user.email} exists; its password was changed by hand and is kept.")
            return
        where = os.environ.get("BIND", "127.0.0.1:8000")
        self.stdout.write(f"Sign in at http://{where}/ as {user.email} with password {password}")
