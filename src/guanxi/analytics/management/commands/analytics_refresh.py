"""`guanxi analytics_refresh`: score every customer and rebuild the KPI values now, in this process."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = (
        "Compute customer scores (RFM, lifetime value, churn risk, suggestions) as of yesterday and a quarter "
        "before, and rebuild the KPI values of the last months: what the nightly jobs do, at once."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--months", type=int, default=13, help="KPI months to rebuild (default 13).")

    def handle(self, *args: Any, months: int, **options: Any) -> None:
        from guanxi.analytics.demo import analytics_refresh_all

        if months < 1:
            self.stderr.write("--months must be at least 1.")
            raise SystemExit(2)
        result = analytics_refresh_all(months=months)
        self.stdout.write(", ".join(f"{what} {n}" for what, n in result.items()))
