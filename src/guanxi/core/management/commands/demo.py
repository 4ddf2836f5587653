"""`guanxi demo`: load bilingual demo data through every app's registered demo loader."""

from __future__ import annotations

import time
from typing import Any

from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandParser
from django.utils.module_loading import autodiscover_modules

from guanxi.core.demo import DEMO_PASSWORD, DemoSizes, demo_loaders, demo_run, demo_team_count


class Command(BaseCommand):
    help = "Load deterministic bilingual demo data (staff, teams, and each app's own demo records). Safe to re-run."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--customers", type=int, default=2000, help="Size of the customer base (default 2000).")
        parser.add_argument("--seed", type=int, default=1, help="Same seed, same data (default 1).")
        parser.add_argument("--users", type=int, default=80, help="Staff users (default 80).")
        parser.add_argument("--teams", type=int, default=None, help="Teams (default: 20, or one per 40 users).")
        parser.add_argument(
            "--password", default=DEMO_PASSWORD, help=f"Demo users' password (default {DEMO_PASSWORD})."
        )

    def handle(
        self,
        *args: Any,
        customers: int,
        seed: int,
        users: int,
        teams: int | None,
        password: str,
        **options: Any,
    ) -> None:
        for name, value in (("--customers", customers), ("--users", users), ("--teams", teams)):
            if value is not None and value < 0:
                self.stderr.write(f"{name} cannot be negative.")
                raise SystemExit(2)
        autodiscover_modules("demo")  # each app's demo.py registers its loaders
        sizes = DemoSizes(
            customers=customers,
            users=users,
            teams=demo_team_count(users) if teams is None else max(1, teams),
            password_hash=make_password(password),  # hashed once, shared by every demo user
        )
        loaders = demo_loaders()
        self.stdout.write(
            f"Demo data, seed {seed}: {sizes.users} staff users, {sizes.teams} teams, "
            f"a customer base of {sizes.customers}; {len(loaders)} loader(s) registered."
        )
        started = time.monotonic()
        for loader, result in demo_run(seed=seed, sizes=sizes, stdout=self.stdout):
            summary = ", ".join(f"{what} {count}" for what, count in result.items()) or "nothing to report"
            self.stdout.write(f"  ran {loader.name} (order {loader.order}): {summary}")
        if all(loader.name.startswith("guanxi.core.") for loader in loaders):
            self.stdout.write("  No app has a customer loader yet, so --customers made no records.")
        self.stdout.write(
            self.style.SUCCESS(
                f"Done in {time.monotonic() - started:.1f} s. Demo users sign in with password {password}"
            )
        )
