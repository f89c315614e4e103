"""Every page a student opens is the page of the sentence that matched or is quoted.

Passages run over page breaks; these tests build a PDF whose only passage
spans all four pages and check the page shown by search, the tutor and the study
items made from it — through the real worker, the API and the pages.
"""

import re

import pytest
from django.core.files.base import ContentFile

from materials.models import Chunk, Flashcard, Material, NoteSection, QuizQuestion
from materials.services import material_enqueue
from materials.text.sentences import sentence_for_text, sentences
from tests.support.factories import MaterialFactory
from tests.support.pdfs import make_pdf

PAGES = [
    "Plants make their food in the light. Photosynthesis converts light energy into chemical "
    "energy inside the chloroplasts of leaf cells. Chlorophyll is the green pigment that absorbs "
    "red and blue light. Oxygen is released as a by-product of splitting water. The sugar made "
    "in the leaves travels to the roots through the phloem. Stomata on the underside of the "
    "leaf let carbon dioxide in and water vapour out.",
    "Cells release the energy stored in sugar step by step. The Krebs cycle takes place in the "
    "mitochondrial matrix of every animal cell. Each turn of the cycle starts when acetyl "
    "groups join oxaloacetate to form citrate. Carbon dioxide leaves the cycle as a waste "
    "product. The electron transport chain then pumps protons across the inner membrane. "
    "Adenosine triphosphate is the currency the cell spends on its work.",
    "Proteins are built from instructions kept in the nucleus. Ribosomes translate messenger "
    "RNA into chains of amino acids. Transfer RNA brings each amino acid to the ribosome in "
    "turn. A codon is a group of three bases that names one amino acid. Folding gives the "
    "finished protein its shape and its function. Chaperone proteins help other proteins "
    "fold correctly after translation.",
    "Water crosses membranes without any energy from the cell. Osmosis moves water across a "
    "semipermeable membrane towards the more concentrated solution. A cell placed in salty "
    "water shrinks as it loses water. Turgor pressure keeps plant cells firm and upright. "
    "Diffusion spreads dissolved particles from crowded regions to emptier ones.",
]


def _normal(text: str) -> str:
    return re.sub(r"\s+", " ", text).casefold()


@pytest.fixture
def biology(user, run_jobs, django_capture_on_commit_callbacks):
    """The four-page PDF, processed by the real worker (offline study content included)."""
    material = MaterialFactory(owner=user, kind=Material.Kind.PDF, title="Biology")
    material.file.save("biology.pdf", ContentFile(make_pdf(PAGES)))
    with django_capture_on_commit_callbacks(execute=True):
        material_enqueue(material=material)
    run_jobs()
    material.refresh_from_db()
    assert material.status == Material.Status.READY, material.error
    return material


@pytest.mark.django_db
def test_search_api_links_the_page_of_the_matching_sentence(api, biology):
    first = biology.chunks.order_by("position").first()
    assert (first.page_start, first.page_end) == (1, 4), "one passage spans all four pages"
    response = api.get(
        "/api/search/", {"q": "Where does the Krebs cycle happen?", "material": biology.pk}
    )
    best = response.json()["results"][0]
    assert best["chunk"] == first.pk
    assert (best["page"], best["page_start"], best["page_end"]) == (2, 1, 4)
    assert "Krebs cycle takes place" in best["sentence"]
    assert best["sentence"] in best["text"]


@pytest.mark.django_db
def test_search_page_links_and_quotes_the_matching_page(logged_in, biology):
    page = logged_in.get(
        "/tutor/search/", {"q": "ribosomes translate RNA", "material": biology.pk}
    ).content.decode()
    first = page.index('class="results"')
    assert f'href="/materials/{biology.pk}/read/?page=3&amp;q=' in page[first : first + 600]
    assert "<mark>Ribosomes</mark> <mark>translate</mark>" in page
    # The snippet stays on its page: nothing of page 2 is quoted beside it.
    snippet = page[
        page.index("<mark>Ribosomes</mark>") - 300 : page.index("<mark>Ribosomes</mark>")
    ]
    assert "Adenosine" not in snippet


@pytest.mark.django_db
def test_tutor_cites_the_page_of_the_quoted_sentence(api, biology):
    conversation = api.post("/api/tutor/conversations/", {"material": biology.pk}, format="json")
    answer = api.post(
        f"/api/tutor/conversations/{conversation.json()['id']}/messages/",
        {"content": "What does osmosis do to water?"},
        format="json",
    ).json()
    assert answer["citations"], answer["content"]
    for citation in answer["citations"]:
        assert _normal(citation["quote"]) in _normal(PAGES[citation["page"] - 1])
    assert answer["citations"][0]["page"] == 4


@pytest.mark.django_db
def test_cards_questions_and_notes_show_the_page_of_their_sentence(biology):
    cards = list(Flashcard.objects.filter(material=biology))
    questions = list(QuizQuestion.objects.filter(material=biology))
    assert cards and questions
    for card in cards:
        assert _normal(card.back) in _normal(PAGES[card.page - 1]), (card.front, card.page)
    for question in questions:
        answer = question.choices[question.answer_index]
        assert _normal(answer) in _normal(PAGES[question.page - 1]), (
            question.question,
            question.page,
        )
    for section in NoteSection.objects.filter(material=biology):
        for point in section.points:
            assert _normal(point["text"]) in _normal(PAGES[point["page"] - 1]), point
    # Not all on the passage's first page: the pages really are the sentences' own.
    assert {card.page for card in cards} - {1}


@pytest.mark.django_db
def test_a_russian_question_about_an_english_material_opens_the_right_page(api, biology):
    response = api.get("/api/search/", {"q": "Где происходит цикл Кребса?", "material": biology.pk})
    best = response.json()["results"][0]
    # The multilingual vectors are per page: the link opens the page nearest the question.
    assert best["page"] == 2 and _normal(best["sentence"]) in _normal(PAGES[1])


def test_sentences_are_cut_where_a_page_begins():
    chunk = Chunk(
        text="Alpha beta gamma. Delta epsilon zeta eta.", anchors=[[0, 1], [5, 2]], page_start=1
    )
    found = sentences(chunk)
    assert [s.text for s in found] == ["Alpha beta gamma.", "Delta epsilon zeta eta."]
    assert [(chunk.text[p.start : p.end], p.anchor) for p in found[1].pieces] == [
        ("Delta epsilon ", 1),
        ("zeta eta.", 2),
    ]
    sentence = sentence_for_text(chunk, "What do zeta and eta mean?")
    assert sentence.text == "Delta epsilon zeta eta." and sentence.page == 2


def test_a_long_run_without_full_stops_is_cut_into_windows():
    chunk = Chunk(text=" ".join(f"word{n}" for n in range(100)), anchors=[], page_start=7)
    found = sentences(chunk)
    assert [len(s.text.split()) for s in found] == [40, 40, 20]
    assert {s.page for s in found} == {7}


def test_video_sentences_start_at_their_own_caption():
    chunk = Chunk(
        text="Welcome to the lecture. Today we study matrices and their inverses.",
        anchors=[[0, 0.0], [4, 5.5]],
        start_seconds=0.0,
    )
    sentence = sentence_for_text(chunk, "inverses of matrices")
    assert sentence.page is None and sentence.start_seconds == 5.5


# --- sentences stored at ingest ----------------------------------------------

QUESTIONS = [
    "Where does the Krebs cycle happen?",
    "What keeps plant cells firm?",
    "Which RNA brings amino acids to the ribosome?",
    "Как фотосинтез превращает свет?",
]


def _answers(api, material) -> list[list[tuple]]:
    return [
        [
            (hit["chunk"], hit["page"], hit["sentence"], hit["score"])
            for hit in api.get("/api/search/", {"q": q, "material": material.pk}).json()["results"]
        ]
        for q in QUESTIONS
    ]


@pytest.mark.django_db
def test_ingest_stores_each_passage_s_sentences_and_search_answers_the_same_without(api, biology):
    chunks = list(biology.chunks.order_by("position"))
    assert chunks and all(chunk.sentences for chunk in chunks)
    stored = sentences(chunks[0])
    assert all(piece.lexemes is not None for s in stored for piece in s.pieces)
    stems = set().union(*(piece.lexemes for s in stored for piece in s.pieces))
    assert {"kreb", "mitochondri"} <= stems
    with_stored = _answers(api, biology)

    Chunk.objects.filter(material=biology).update(sentences=None)
    chunks[0].refresh_from_db()
    cut = sentences(chunks[0])
    assert [(s.start, s.end, [(p.start, p.end, p.anchor) for p in s.pieces]) for s in cut] == [
        (s.start, s.end, [(p.start, p.end, p.anchor) for p in s.pieces]) for s in stored
    ]
    assert _answers(api, biology) == with_stored


@pytest.mark.django_db
def test_sentence_index_command_fills_passages_stored_before_it(biology):
    from io import StringIO

    from django.core.management import call_command

    Chunk.objects.filter(material=biology).update(sentences=None)
    out = StringIO()
    call_command("sentence_index", stdout=out)
    assert "stored the sentences of" in out.getvalue()
    assert not Chunk.objects.filter(material=biology, sentences__isnull=True).exists()


@pytest.mark.django_db
def test_a_moderator_s_edit_of_a_passage_drops_its_stored_sentences(biology, rf):
    from django.contrib.admin.sites import site

    from tests.support.factories import UserFactory

    chunk = biology.chunks.order_by("position").first()
    assert chunk.sentences
    model_admin = site._registry[Chunk]
    request = rf.post("/")
    request.user = UserFactory(is_staff=True, is_superuser=True)
    form_class = model_admin.get_form(request, chunk, change=True)
    data = {name: field.initial for name, field in form_class(instance=chunk).fields.items()}
    data.update(form_class(instance=chunk).initial)
    data["text"] = chunk.text.replace("Krebs", "Citric acid")
    form = form_class(data, instance=chunk)
    assert form.is_valid(), form.errors
    model_admin.save_model(request, form.save(commit=False), form, change=True)
    chunk.refresh_from_db()
    assert chunk.sentences is None and "Citric acid" in chunk.text
    assert any("Citric acid" in s.text for s in sentences(chunk))
