"""Study-content quality on unseen documents, as a student meets it.

`python -m bench.study_quality`: each document goes through the real
pipeline (extract → chunk → embed → generate, offline, no AI key) in a
throwaway database, under a new student of its own. Then, over the stored cards and quiz questions:

- items that open on a reference to text the student cannot see ("In this
  case the _____ …", "Это …"): the reader below is the measure, deliberately
  wider than the generator's own check (it also counts connectives such as
  "However" or "Поэтому", and pronouns in the first words);
- grounding: the share of items whose content words are (≥ 90 %) on the page
  the item cites;
- cards and questions per document;
- what "due today" shows the student after this one new material, and after
  all of them (a term's uploads).

Documents: the eval set (bench/eval_docs.py); Debian's are read from
`--cache` (default DATA_DIR/eval-docs). A missing one is skipped and named.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

from bench.eval import _setup_django, in_throwaway_database
from bench.eval_docs import DOCUMENTS, document_path

GROUNDED_SHARE = 0.9

# --- the reader's measure of "opens on a reference" -------------------------------------

_WORD = re.compile(r"[^\W_]+(?:[-'’][^\W_]+)*", re.UNICODE)
_OPENERS = {
    "en": {
        "this", "these", "that", "those", "it", "its", "they", "them", "their", "he", "she",
        "his", "her", "such", "here", "however", "therefore", "thus", "hence", "so", "also",
        "then", "otherwise", "similarly", "likewise", "moreover", "furthermore",
        "additionally", "again", "instead", "consequently", "accordingly", "nevertheless",
        "nonetheless", "besides", "conversely", "alternatively", "both", "latter", "former",
        "above", "below", "whereas",
    },
    "ru": {
        "это", "этот", "эта", "эти", "этого", "этой", "этим", "этих", "этому", "эту", "этом",
        "тот", "та", "то", "те", "того", "тому", "том", "тех", "такой", "такая", "такое",
        "такие", "такого", "таким", "таких", "такую", "он", "она", "оно", "они",
        "его", "ее", "их", "ему", "ей", "им", "ими", "нем", "ней", "них", "здесь", "тут",
        "там", "тогда", "поэтому", "однако", "также", "тоже", "затем", "потом",
        "следовательно", "итак", "аналогично", "данный", "данная", "данное", "данные",
        "данного", "данной", "данном", "данных", "указанный", "указанные", "вышеуказанный",
        "последний", "последняя", "последнее", "последние", "который", "которая",
        "которое", "которые", "выше", "ниже", "кроме", "причем", "притом", "впрочем",
        "иначе", "зато",
    },
}  # fmt: skip
# Words that point back wherever they stand among the first few words ("In this case").
_EARLY = {
    "en": {"this", "these", "those", "such", "it", "its", "they", "them", "their", "above"},
    "ru": {
        "это", "этот", "эта", "эти", "этого", "этой", "этим", "этих", "этому", "эту", "этом",
        "такой", "такая", "такое", "такие", "такого", "таким", "таких", "такую", "данный",
        "данная", "данное", "данные", "данного", "данной", "данном", "данных", "он", "она",
        "оно", "они", "их", "ему", "ней", "них", "нем", "этими", "такими", "данными",
    },
}  # fmt: skip
_EARLY_WORDS = 4
# "It is possible to …", "It is recommended that …": nothing is pointed at.
_DUMMY_IT = re.compile(r"^it\s+(?:is|was|may be|can be|will be)\s+\w+\s+(?:to|that)\b")
_DUMMY_IT_AFTER = re.compile(
    r"^(?:is|was|has been|had been|may be|might be|can be|could be|will be|would be|"
    r"seems|seemed|becomes|became)\s+(?:\w+\s+)?(?:to|that|\w+ing)\b"
)


def _words(text: str) -> list[str]:
    return [w.casefold().replace("ё", "е") for w in _WORD.findall(text)]


def opens_on_reference(text: str, language: str) -> bool:
    """Whether the item's text starts by pointing at text the student cannot see."""
    words = _words(text.replace("_____", " "))
    if words[:2] in (["что", "такое"], ["what", "is"], ["what", "are"]):
        words = words[2:]  # the question's own wording, pointing at nothing
    if not words:
        return False
    lang = "ru" if language == "ru" else "en"
    flat = " ".join(words)
    if lang == "en" and _DUMMY_IT.match(flat):
        return False
    if words[0] in _OPENERS[lang]:
        return True
    for index, word in enumerate(words[1:_EARLY_WORDS], start=1):
        if word == "it" and _DUMMY_IT_AFTER.match(" ".join(words[index + 1 :])):
            continue  # "For such data it is worth searching …": points at nothing
        if word in _EARLY[lang]:
            return True
    return False


def content_words(text: str) -> list[str]:
    return [w for w in _words(text) if len(w) > 3 and not w.isdigit()]


def grounded(item_text: str, page_words: set[str]) -> bool:
    wanted = content_words(item_text)
    if not wanted:
        return True
    return sum(w in page_words for w in wanted) / len(wanted) >= GROUNDED_SHARE


def _strip_stem(question: str) -> str:
    """The question without the generator's fixed wording ("Fill in the blank: ")."""
    from materials.study.offline import STEMS

    for stems in STEMS.values():
        prefix = stems["cloze"].split("{sentence}")[0]
        if prefix and question.startswith(prefix):
            return question[len(prefix) :]
    return question


# --- running -------------------------------------------------------------------------------


def _process(owner, key: str, path: Path):
    from django.core.files.base import ContentFile

    from materials.ingest import material_process
    from materials.models import Material

    material = Material.objects.create(owner=owner, title=key, kind=Material.Kind.PDF)
    material.file.save(path.name, ContentFile(path.read_bytes()))
    started = time.perf_counter()
    material_process(material=material)
    material.refresh_from_db()
    return material, time.perf_counter() - started


def _page_words(path: Path) -> dict[int, set[str]]:
    from materials.pipeline.pdf import OcrOptions, clean_pages, extract_pages

    pages = clean_pages(list(extract_pages(path, ocr=OcrOptions(enabled=False))))
    return {p.number: set(_words(p.text)) for p in pages}


def measure_material(material, page_words: dict[int, set[str]], *, examples: int = 0) -> dict:
    from materials.models import Flashcard

    language = material.language
    cards = list(material.flashcards.filter(origin=Flashcard.Origin.GENERATED))
    questions = list(material.quiz_questions.all())
    card_refs = [c for c in cards if opens_on_reference(c.front, language)]
    question_refs = [q for q in questions if opens_on_reference(_strip_stem(q.question), language)]
    card_grounded = [
        grounded(f"{c.front} {c.back}", page_words.get(c.page or 0, set())) for c in cards
    ]
    question_grounded = [
        grounded(f"{_strip_stem(q.question)} {q.answer}", page_words.get(q.page or 0, set()))
        for q in questions
    ]
    study_set = getattr(material, "study_set", None)
    figures = {
        "pages": material.page_count,
        "language": language,
        "cards": len(cards),
        "questions": len(questions),
        "card_refs": len(card_refs),
        "question_refs": len(question_refs),
        "cards_grounded": sum(card_grounded),
        "questions_grounded": sum(question_grounded),
        "summary_chars": len(study_set.summary) if study_set else 0,
        "stats": study_set.stats if study_set else {},
    }
    if examples:
        figures["examples"] = {
            "card_refs": [c.front for c in card_refs[:examples]],
            "question_refs": [_strip_stem(q.question) for q in question_refs[:examples]],
            "cards": [f"{c.front} → {c.back}" for c in cards[:examples]],
            "questions": [f"{q.question} → {q.answer} | {q.choices}" for q in questions[:examples]],
            "summary": study_set.summary[:1500] if study_set else "",
        }
    return figures


def _share(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f} %" if whole else "—"


def _evaluate(args: argparse.Namespace) -> int:
    import tempfile

    from django.conf import settings

    from accounts.models import User
    from materials.models import Flashcard, Material
    from materials.study.selectors import flashcard_due_list

    settings.MEDIA_ROOT = Path(tempfile.mkdtemp(prefix="study-quality-media-"))
    cache = Path(args.cache) if args.cache else Path(settings.DATA_DIR) / "eval-docs"
    wanted = args.documents.split(",") if args.documents else list(DOCUMENTS)
    rows: dict[str, dict] = {}
    materials = []
    for key in wanted:
        path, why = document_path(DOCUMENTS[key], cache)
        if path is None:
            print(f"SKIP {key}: {why}")
            continue
        owner = User.objects.create_user(email=f"{key}@example.org", password="unused-pass-1")
        material, seconds = _process(owner, key, path)
        materials.append(material)
        row = measure_material(material, _page_words(path), examples=args.examples)
        row["due_today"] = flashcard_due_list(owner=owner).count()
        row["seconds"] = round(seconds, 1)
        rows[key] = row
        print(
            f"{key} ({row['language']}, {row['pages']} p.): {row['cards']} cards,"
            f" {row['questions']} questions; open on a reference: cards {row['card_refs']},"
            f" questions {row['question_refs']}; grounded: cards {row['cards_grounded']},"
            f" questions {row['questions_grounded']}; due today {row['due_today']}"
            f" ({seconds:.0f}s)",
            flush=True,
        )
        if args.examples:
            print(json.dumps(row["examples"], ensure_ascii=False, indent=1))
    if not rows:
        print("SKIP: no document could be read")
        return 0

    # A term's uploads: every material of the run becomes one student's.
    term = User.objects.create_user(email="term@example.org", password="unused-pass-1")
    Material.objects.filter(pk__in=[m.pk for m in materials]).update(owner=term)
    Flashcard.objects.filter(material__in=materials).update(owner=term)
    term_due = flashcard_due_list(owner=term).count()

    print(
        "\n| language | documents | cards | questions | cards opening on a reference |"
        " questions opening on a reference | cards grounded | questions grounded |"
    )
    print("|---|---|---|---|---|---|---|---|")
    summary: dict = {"documents": rows, "term_due_today": term_due, "by_language": {}}
    for language in ("en", "ru"):
        group = [r for r in rows.values() if r["language"] == language]
        if not group:
            continue
        totals = {
            name: sum(r[name] for r in group)
            for name in (
                "cards", "questions", "card_refs", "question_refs", "cards_grounded",
                "questions_grounded",
            )
        }  # fmt: skip
        summary["by_language"][language] = {**totals, "documents": len(group)}
        print(
            f"| {language} | {len(group)} | {totals['cards']} | {totals['questions']} |"
            f" {_share(totals['card_refs'], totals['cards'])} |"
            f" {_share(totals['question_refs'], totals['questions'])} |"
            f" {_share(totals['cards_grounded'], totals['cards'])} |"
            f" {_share(totals['questions_grounded'], totals['questions'])} |"
        )
    print("\n| document | pages | cards | questions | due today after it alone |")
    print("|---|---|---|---|---|")
    for key, row in rows.items():
        print(
            f"| {key} | {row['pages']} | {row['cards']} | {row['questions']} | {row['due_today']} |"
        )
    print(f"\nDue today after all {len(rows)} materials (one student): {term_due}")
    if args.json:
        args.json.write_text(json.dumps(summary, ensure_ascii=False, indent=1))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--documents", help="comma-separated keys (default: all)")
    parser.add_argument("--cache", help="folder of the Debian documents' PDFs")
    parser.add_argument("--examples", type=int, default=0, help="print this many items each")
    parser.add_argument("--json", type=Path, help="write the figures here too")
    args = parser.parse_args(argv)
    _setup_django()
    return in_throwaway_database(lambda: _evaluate(args))


if __name__ == "__main__":
    sys.exit(main())
