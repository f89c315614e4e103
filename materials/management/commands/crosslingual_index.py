from django.core.management.base import BaseCommand

from materials.index.crosslingual import crosslingual_drop, crosslingual_fill


class Command(BaseCommand):
    help = (
        "Give existing materials their multilingual vectors (cross-language search), "
        "with progress; --drop removes them all again (search then works as before)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--material", type=int, action="append", help="only these ids")
        parser.add_argument("--drop", action="store_true", help="remove every multilingual vector")

    def handle(self, *args: object, material: list[int] | None, drop: bool, **options) -> None:
        if drop:
            self.stdout.write(f"removed {crosslingual_drop()} multilingual vector(s)")
            return
        done = crosslingual_fill(
            material_ids=material,
            on_progress=lambda title, count, total: self.stdout.write(
                f"{title}: {count}/{total} passages"
            ),
        )
        self.stdout.write(f"added {done} multilingual vector(s)")
