from datetime import timedelta

from django.core.management.base import BaseCommand

from materials.services import material_orphan_files


class Command(BaseCommand):
    help = (
        "List uploaded files that no material refers to (older than --min-age-minutes); "
        "--delete removes them."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--min-age-minutes", type=float, default=60.0)
        parser.add_argument("--delete", action="store_true", help="remove the files listed")

    def handle(
        self, *args: object, min_age_minutes: float, delete: bool, **options: object
    ) -> None:
        orphans = material_orphan_files(older_than=timedelta(minutes=min_age_minutes))
        total = 0
        for path in orphans:
            size = path.stat().st_size
            total += size
            self.stdout.write(f"{path}\t{size}")
            if delete:
                path.unlink(missing_ok=True)
        verb = "deleted" if delete else "found"
        self.stdout.write(f"{verb} {len(orphans)} orphaned file(s), {total} bytes")
