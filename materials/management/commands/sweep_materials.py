from datetime import timedelta

from django.core.management.base import BaseCommand

from materials.services import material_requeue_stalled
from materials.study.generation import study_sets_fail_stalled


class Command(BaseCommand):
    help = (
        "Queue again materials whose processing job is gone, and fail study content left "
        "being made with no job (RQ is asked first; the cron runs this every 5 minutes)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--stale-minutes", type=float, default=10.0)

    def handle(self, *args: object, stale_minutes: float, **options: object) -> None:
        stale_after = timedelta(minutes=stale_minutes)
        failed = study_sets_fail_stalled(stale_after=stale_after)
        count = material_requeue_stalled(stale_after=stale_after)
        self.stdout.write(f"requeued {count} stalled material(s); failed {failed} study set(s)")
