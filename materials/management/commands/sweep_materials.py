from datetime import timedelta

from django.core.management.base import BaseCommand

from materials.services import material_requeue_stalled


class Command(BaseCommand):
    help = "Queue again materials whose processing job went silent (run it every few minutes)."

    def add_arguments(self, parser) -> None:  # noqa: ANN001
        parser.add_argument("--stale-minutes", type=float, default=10.0)

    def handle(self, *args: object, stale_minutes: float, **options: object) -> None:
        count = material_requeue_stalled(stale_after=timedelta(minutes=stale_minutes))
        self.stdout.write(f"requeued {count} stalled material(s)")
