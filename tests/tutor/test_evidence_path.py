"""The offline tutor quotes what search ranked and opens, in the question's language."""

import pytest
from django.utils import translation

from materials.search.selectors import search
from tutor import relevance
from tutor.models import Conversation
from tutor.services import message_ask

pytestmark = pytest.mark.django_db

# A handbook whose pages share words, so the picked page is a real choice.
HANDBOOK = [
    "The kernel is the core of the operating system. It manages memory and processes.",
    "Packages are installed with apt. The command apt install takes the package name.",
    "To remove a package but keep its configuration files, use apt remove. "
    "To remove the configuration files too, use apt purge.",
    "The swap partition extends memory to the disk. Its size is usually twice the memory.",
]
LONG = (
    "The boot loader reads its settings from a file whose entries name the kernel image, "
    "the initial ramdisk, the root file system, the console to print messages on, the "
    "timeout before the default entry starts, the password that protects the editor and, "
    "for each entry, the title shown in the menu, the second character of which is "
    "underlined as the key that selects it in the menu."
)
RUSSIAN = [
    "Ядро управляет памятью и процессами операционной системы.",
    "Пакеты устанавливаются командой apt install с именем пакета.",
    "Чтобы удалить пакет вместе с его файлами настройки, используйте apt purge.",
    "Раздел подкачки расширяет оперативную память на диск.",
]


def ask(user, material, question: str):
    conversation = Conversation.objects.create(owner=user, material=material)
    return message_ask(conversation=conversation, content=question)


@pytest.mark.parametrize(
    "question",
    [
        "How do I get rid of a package together with its settings?",
        "How big should swap be?",
        "What does the kernel manage?",
    ],
)
def test_the_first_citation_is_the_search_top_hit_and_its_best_sentence(user, indexed, question):
    material = indexed(user, HANDBOOK, title="Handbook")
    top = search(owner=user, query=question, material=material).hits[0]
    message = ask(user, material, question)
    first = message.citations[0]
    assert (first["chunk"], first["page"]) == (top.chunk.pk, top.page)
    assert first["quote"] == top.quote


def test_a_long_sentence_is_quoted_whole_not_cut_at_its_window(user, indexed):
    material = indexed(user, [LONG], title="Boot")
    message = ask(user, material, "Which key selects a boot menu entry?")
    assert message.citations[0]["quote"] == LONG
    assert LONG + " [1]" in message.content


def test_a_russian_question_is_answered_and_framed_in_russian_whatever_the_interface(user, indexed):
    material = indexed(user, RUSSIAN, title="Справочник", language="ru")
    with translation.override("en"):
        message = ask(user, material, "Как удалить пакет вместе с настройками?")
        declined = ask(user, material, "Как испечь хлеб на закваске?")
    assert message.content.startswith("Ответ из цитат") and message.citations[0]["page"] == 3
    assert declined.citations == [] and declined.content.startswith("Не удалось найти")


def test_an_english_question_is_framed_in_english_in_a_russian_interface(user, indexed):
    material = indexed(user, HANDBOOK, title="Handbook")
    with translation.override("ru"):
        message = ask(user, material, "How do I remove a package and its configuration?")
    assert message.content.startswith("Extractive answer")


def test_a_russian_question_in_other_words_finds_its_russian_page_by_meaning(user, indexed):
    """No word of the question is on the page: only the multilingual vectors can find it."""
    material = indexed(user, RUSSIAN, title="Справочник", language="ru")
    results = search(
        owner=user, query="Что отвечает за оперативку и задачи в ОС?", material=material
    )
    assert results.ranking.cross_vector is not None
    assert results.hits[0].page == 1


def test_language_pairs():
    assert relevance.pair("ru", "ru") == "ru"
    assert relevance.pair("ru", "en") == "ru→en"
    assert relevance.pair("en", "ru") == "en→ru"
    assert relevance.pair("", "ru") == "ru"
    assert relevance.pair("en", "simple") == "en"
    assert relevance.calibration("xx") == relevance.CALIBRATIONS["en"]


def test_the_calibrated_score_rises_with_each_signal():
    for name in relevance.CALIBRATIONS:
        low = relevance.probability(name, 0.1, 0.1)
        assert relevance.probability(name, 0.9, 0.1) > low
        assert relevance.probability(name, 0.1, 0.9) > low


def test_a_list_too_long_to_quote_whole_is_cut_at_a_clause_and_marked(user, indexed):
    items = ", ".join(f"saddle number {n} costs {n} coins" for n in range(30))
    text = f"The saddle price list reads {items}, and the zebra saddle costs ninety coins."
    material = indexed(user, [text], title="Prices")
    question = "How many coins does the zebra saddle cost on the saddle price list?"
    quote = ask(user, material, question).citations[0]["quote"]
    assert quote.endswith(",…") and quote.strip("…") in text
    assert 40 <= len(quote.split()) < len(text.split())


# Two pages that say the same thing in other words, and one that only names the subject.
TWINS = [
    "Swap is a disk partition that holds memory pages when the memory is full.",
    "The swap partition holds memory pages on the disk when memory runs out.",
    "Partitions are made with a partitioning tool before the system is installed.",
]


@pytest.mark.parametrize("language", ["en", "ru"])
def test_two_pages_search_cannot_tell_apart_are_both_quoted(user, indexed, language):
    texts = TWINS
    question = "What does the swap partition hold?"
    if language == "ru":
        texts = [
            "Подкачка — раздел диска, который хранит страницы памяти, когда память занята.",
            "Раздел подкачки хранит страницы памяти на диске, когда память кончается.",
            "Разделы создают программой разметки до установки системы.",
        ]
        question = "Что хранит раздел подкачки?"
    material = indexed(user, texts, title="Swap", language=language)
    message = ask(user, material, question)
    assert sorted(c["page"] for c in message.citations) == [1, 2]
