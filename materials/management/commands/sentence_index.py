from django.core.management.base import BaseCommand

from materials.text.sentences import sentence_fill


class Command(BaseCommand):
    help = (
        "Store the sentences (and their lexemes) of passages processed before ingest kept "
        "them, so their searches stop cutting and stemming them; prints its progress."
    )

    def handle(self, *args: object, **options: object) -> None:
        done = sentence_fill(on_progress=lambda count: self.stdout.write(f"{count} passages"))
        self.stdout.write(f"stored the sentences of {done} passage(s)")
