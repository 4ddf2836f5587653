"""`guanxi service_mail_in < message.eml`: hand one raw email to the service desk (for an MTA's pipe)."""

from __future__ import annotations

import sys
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from guanxi.service.mail import inbound_email


class Command(BaseCommand):
    help = "Read one RFC 5322 email on standard input and file it as a new ticket or a reply on its thread."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--file", help="read the message from this file instead of standard input")

    def handle(self, *args: Any, **options: Any) -> None:
        if options.get("file"):
            with open(options["file"], "rb") as handle:
                raw = handle.read()
        else:
            raw = sys.stdin.buffer.read()
        try:
            ticket, message, created = inbound_email(raw=raw)
        except ValidationError as exc:
            raise CommandError("; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())) from None
        verb = "created" if created else "added to"
        self.stdout.write(f"{ticket.number} {verb} (message {message.pk})")
