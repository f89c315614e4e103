"""The page text check: real prose stays, mojibake is re-read exactly, junk is flagged."""

from __future__ import annotations

import random
import re
import string

import pypdfium2 as pdfium
import pytest

from materials.pipeline.textcheck import check_page
from tests.support.pdfs import PROBABILITY_PAGES, legacy_cyrillic_pdf, scan_pdf

RUSSIAN = PROBABILITY_PAGES[0]

PROSE = {
    "english": (
        "The theory of probability began in 1654 with letters between Blaise Pascal and "
        "Pierre de Fermat about the problem of points: how to divide the stakes fairly when "
        "a game of chance is interrupted. Both found the same answer by different routes. "
        "A rigorous foundation came in 1933, when Andrey Kolmogorov defined probability as "
        "a measure on a space of elementary outcomes."
    ),
    "russian": RUSSIAN,
    "french": (
        "La théorie des probabilités est née en 1654 d'une correspondance entre Blaise "
        "Pascal et Pierre de Fermat à propos du problème des partis : comment répartir "
        "équitablement les mises lorsqu'une partie est interrompue. Où est l'élève ? "
        "Il a été reçu à l'École. ÉTÉ À PARIS : ça a commencé dès août."
    ),
    "german": (
        "Die Wahrscheinlichkeitstheorie entstand 1654 aus einem Briefwechsel zwischen "
        "Blaise Pascal und Pierre de Fermat über das Teilungsproblem. Größere Übungen "
        "für Schülerinnen und Schüler folgen später; Öl, Bär und Fuß sind Beispiele "
        "für Umlaute und das scharfe ß."
    ),
    "spanish": (
        "La teoría de la probabilidad nació en 1654 de la correspondencia entre Pascal y "
        "Fermat. El niño añadió que aún no había comprendido la lección, ¿sí o no? "
        "Él sabía que la música del año pasado era mejor."
    ),
    "portuguese": (
        "A teoria das probabilidades nasceu em 1654 da correspondência entre Pascal e "
        "Fermat. A atenção à informação é a condição da educação; não há solução sem "
        "questões. Às vezes é difícil."
    ),
    "icelandic": (
        "Líkindafræði varð til árið 1654 í bréfaskiptum Pascal og Fermat. Þú átt að "
        "læra þetta á morgun, því að það er á prófinu í ár. Ætíð skal hafa það í huga "
        "að ég og þú erum í sömu stöðu."
    ),
}

CODE_LISTING = '''def chunk_search(*, owner, query: str, k: int = 5) -> list[Chunk]:
    """Passages of the owner's materials nearest to the query."""
    vector = embed([query])[0]
    qs = Chunk.objects.filter(material__owner=owner)
    qs = qs.annotate(distance=CosineDistance("embedding", vector))
    for chunk in qs.order_by("distance")[:k]:
        if chunk.distance > 0.8:
            break
        yield chunk

ctx = {"cfg": cfg, "pkg": pkg, "src": src, "dst": dst, "tmp": tmp}
print(f"{len(xs)=} {sum(xs)/len(xs):.3f}")
'''

ASSEMBLY = (
    "_start:\n    push rbp\n    mov rbp, rsp\n    sub rsp, 16\n    lea rdi, [rip + msg]\n"
    "    xor eax, eax\n    call printf\n    mov ecx, 10\n.loop:\n    dec ecx\n    jnz .loop\n"
    "    cmp rax, rbx\n    jge .done\n    shl rdx, 2\n    imul rcx, rdx\n    pop rbp\n    ret\n"
) * 3

MAKEFILE = (
    "CC ?= gcc\nCFLAGS += -Wall -Wextra -O2 -std=c11\nLDFLAGS += -lm -lpthread\n"
    "SRCS := $(wildcard src/*.c)\nOBJS := $(SRCS:src/%.c=build/%.o)\nall: build/libmx.a\n"
    "build/%.o: src/%.c | build\n\t$(CC) $(CFLAGS) -c $< -o $@\n"
    "build/libmx.a: $(OBJS)\n\t$(AR) rcs $@ $^\nclean:\n\trm -rf build dist\n"
) * 3

NUMBERS_TABLE = "Year  Mean  SD  n\n" + "\n".join(
    f"{2000 + row}  {row * 1.37:6.2f}  {row * 0.21:5.2f}  {100 + row * 7}" for row in range(30)
)

FORMULAS = (
    "f(x) = Σ an xn,  an = f(n)(0)/n!\n"
    "lim x→0 sin x / x = 1,   eiπ + 1 = 0\n"
    "∫ x2 dx = x3/3 + C,   d/dx xn = n xn−1\n"
    "P(A|B) = P(B|A) P(A) / P(B),   E[X] = Σ xi pi,   Var(X) = E[X2] − (E[X])2\n"
    "dy/dx = ky ⇒ y = C ekx,   ∇·E = ρ/ε0,   ∇×B = μ0 J + μ0 ε0 ∂E/∂t\n"
    "tg x = sin x / cos x,  ctg x = cos x / sin x,  ln(xy) = ln x + ln y\n"
) * 3

CHEMISTRY = (
    "Reagents: H2SO4, HNO3, HCl, NaCl, KMnO4, CH3COOH, NaOH, MgCl2, CaCO3, NH4Cl, BaSO4, "
    "AgNO3, KCl, CuSO4, FeCl3, ZnCl2, Na2CO3, KNO3, NH3, CO2, SO2, NO2, H2O2, HBr, HF\n"
    "2 KMnO4 + 16 HCl → 2 KCl + 2 MnCl2 + 5 Cl2 + 8 H2O\n"
    "CaCO3 + 2 HCl → CaCl2 + CO2 + H2O;  NH4Cl + NaOH → NaCl + NH3 + H2O\n"
) * 3


def cp1251_mojibake(text: str) -> str:
    return text.encode("cp1251").decode("latin-1")


def shifted(text: str, by: int = -29) -> str:
    """What a font whose codes are glyph indices gives: "7KH" for "The"."""
    return "".join(chr(ord(c) + by) if c.isascii() and c.isalpha() else c for c in text)


def consonant_soup(seed: int = 0, words: int = 120) -> str:
    rng = random.Random(seed)
    consonants = [c for c in string.ascii_lowercase if c not in "aeiouy"]
    letters = consonants * 4 + list("aeiou")
    return " ".join(
        "".join(rng.choice(letters) for _ in range(rng.randint(3, 8))) for _ in range(words)
    )


# --- text that is fine as it is --------------------------------------------


@pytest.mark.parametrize("language", sorted(PROSE))
def test_real_prose_is_kept_as_it_is(language: str) -> None:
    verdict = check_page(PROSE[language])

    assert (verdict.status, verdict.reason) == ("ok", "")
    assert verdict.text == PROSE[language]


@pytest.mark.parametrize(
    "text",
    [CODE_LISTING, ASSEMBLY, MAKEFILE, NUMBERS_TABLE, FORMULAS, CHEMISTRY],
    ids=["code", "assembly", "makefile", "numbers", "formulas", "chemistry"],
)
def test_listings_tables_and_formulas_are_not_flagged(text: str) -> None:
    verdict = check_page(text)

    assert verdict.status == "ok"
    assert verdict.text == text


def test_a_short_page_of_odd_words_is_not_judged() -> None:
    page = "Fig. 3: xkcd zzq brr psst — hmm"

    assert check_page(page).status == "ok"


def test_curly_quotes_and_dashes_in_english_stay() -> None:
    page = "“Kolmogorov’s axioms” — three of them — define probability… as a measure. " * 5

    assert check_page(page).status == "ok"
    assert check_page(page).text == page


@pytest.mark.parametrize("text", ["", "   \n\t ", "12", "Рис. 4", "\x0c", "(cid:3)"])
def test_blank_or_nearly_blank_page_is_empty(text: str) -> None:
    verdict = check_page(text)

    assert (verdict.status, verdict.reason) == ("empty", "no-text")
    assert verdict.text == text


# --- mojibake ----------------------------------------------------------------


def test_cp1251_mojibake_is_re_read_exactly() -> None:
    verdict = check_page(cp1251_mojibake(RUSSIAN))

    assert (verdict.status, verdict.reason) == ("repaired", "mojibake-cp1251")
    assert verdict.text == RUSSIAN


def test_cp1251_mojibake_through_windows_1252_punctuation_is_re_read() -> None:
    # A WinAnsi font's bytes 0x80-0x9F come out as cp1252 punctuation ("—", "…").
    russian = "Ёжик — это «ёж» … и всё. " + RUSSIAN
    mojibake = russian.encode("cp1251").decode("cp1252")

    verdict = check_page(mojibake)

    assert verdict.status == "repaired"
    assert verdict.text == russian


@pytest.mark.parametrize("code_page", ["koi8_r", "cp866"])
def test_other_legacy_code_pages_are_re_read_exactly(code_page: str) -> None:
    russian = RUSSIAN.replace("«", '"').replace("»", '"')  # neither code page has «»

    verdict = check_page(russian.encode(code_page).decode("latin-1"))

    assert (verdict.status, verdict.reason) == (
        "repaired",
        f"mojibake-{code_page.replace('_', '-')}",
    )
    assert verdict.text == russian


def test_utf8_read_as_latin1_is_re_read_as_utf8() -> None:
    verdict = check_page(RUSSIAN.encode("utf-8").decode("latin-1"))

    assert (verdict.status, verdict.reason) == ("repaired", "mojibake-utf-8")
    assert verdict.text == RUSSIAN


def test_utf8_mojibake_that_lost_bytes_is_not_read_as_cp1251() -> None:
    # cp1252 has no character for 0x81 or 0x8F ("с", "я" in UTF-8): they are gone.
    verdict = check_page(RUSSIAN.encode("utf-8").decode("cp1252", errors="ignore"))

    assert (verdict.status, verdict.reason) == ("unusable", "mojibake")


def test_yo_capital_yo_and_numero_survive_the_repair() -> None:
    russian = RUSSIAN + "\nЁлка и ёж в задаче № 12. Её решил Чебышёв.\n"

    assert check_page(cp1251_mojibake(russian)).text == russian


def test_an_all_capital_heading_is_read_with_its_page() -> None:
    russian = "ВВЕДЕНИЕ В ТЕОРИЮ ВЕРОЯТНОСТЕЙ\n\n" + RUSSIAN

    assert check_page(cp1251_mojibake(russian)).text == russian


def test_a_lone_mojibake_heading_on_an_english_page_is_repaired() -> None:
    page = cp1251_mojibake("Введение") + "\n\n" + PROSE["english"]

    verdict = check_page(page)

    assert verdict.status == "repaired"
    assert verdict.text == "Введение\n\n" + PROSE["english"]


def test_only_the_mojibake_of_a_mixed_page_is_repaired() -> None:
    # Russian set in a legacy font; English, code, numbers and symbols in real ones.
    russian = (
        "Lecture 3. Probability (see Feller, vol. 1, p. 45).\n"
        "Бросим две игральные кости: сумма, равная семи, выпадает в шести случаях.\n"
        "Python: random.seed(1654); x = [random.random() for _ in range(10**6)]\n"
        "Функция f(x) = x² растёт при x > 0, а x-координата её вершины равна 0.\n"
        "Table 2: 0.125  0.250  0.375  1e-3  3.14159\n"
        "Café, naïve and Größe stay; температура 25°C, точность ±0,5 — см. раздел 2.\n"
    )
    mojibake = re.sub("[А-Яа-яЁё]+", lambda match: cp1251_mojibake(match.group()), russian)
    assert "Ôóíêöèÿ f(x) = x² ðàñò¸ò" in mojibake

    verdict = check_page(mojibake)

    assert verdict.status == "repaired"
    assert verdict.text == russian


@pytest.mark.parametrize("language", ["french", "german", "spanish", "portuguese", "icelandic"])
def test_genuine_accented_text_is_never_re_read(language: str) -> None:
    # Pad with English so the page is long; the accented words are what count.
    page = PROSE[language] + "\n" + PROSE["english"]

    assert check_page(page).text == page


@pytest.mark.parametrize("letters", ["äöüß", "áéíóú", "ÀÂÆÇÉÈÊËÎÏÔŒÙÛÜ"])
def test_a_grammar_table_of_accented_letters_is_not_mojibake(letters: str) -> None:
    page = f"Die Umlaute und Akzente: {letters}.\n" + PROSE["german"] + "\n" + PROSE["spanish"]

    assert check_page(page).text == page


def test_mojibake_of_another_script_is_unusable() -> None:
    greek = "Η θεωρία πιθανοτήτων γεννήθηκε το 1654 από την αλληλογραφία του Πασκάλ. " * 3

    verdict = check_page(greek.encode("cp1253").decode("latin-1"))

    assert (verdict.status, verdict.reason) == ("unusable", "mojibake")


# --- lost characters -----------------------------------------------------------


def test_cid_runs_make_the_page_unusable() -> None:
    page = " ".join(
        "".join(f"(cid:{(word * 7 + letter) % 90 + 3})" for letter in range(5))
        for word in range(40)
    )

    verdict = check_page(page)

    assert (verdict.status, verdict.reason) == ("unusable", "cid")
    assert verdict.text == page


def test_a_few_cid_bullets_leave_the_page_usable() -> None:
    page = "\n".join(f"(cid:127) {line}" for line in PROSE["english"].split(". "))

    assert check_page(page).status == "ok"


def test_private_use_text_is_unusable() -> None:
    page = " ".join(
        "".join(chr(0xE000 + (word * 5 + letter) % 200) for letter in range(6))
        for word in range(50)
    )

    assert check_page(page).reason == "private-use"


def test_a_few_private_use_symbols_leave_the_page_usable() -> None:
    page = PROSE["english"] + " \uf0b7 first \uf0b7 second \uf0b7 third"

    assert check_page(page).status == "ok"


def test_replacement_characters_make_the_page_unusable() -> None:
    page = "".join("\ufffd" if i % 3 == 0 else c for i, c in enumerate(RUSSIAN))

    assert check_page(page).reason == "replacement"


def test_control_characters_for_spaces_make_the_page_unusable() -> None:
    # A font indexed by glyph: letters shifted and spaces become U+0003.
    page = shifted(PROSE["english"]).replace(" ", "\x03")

    assert (check_page(page).status, check_page(page).reason) == ("unusable", "control")


# --- not language --------------------------------------------------------------


def test_shifted_encoding_soup_is_not_language() -> None:
    verdict = check_page(shifted(PROSE["english"] * 2))

    assert (verdict.status, verdict.reason) == ("unusable", "not-language")


def test_consonant_soup_is_not_language() -> None:
    verdict = check_page(consonant_soup())

    assert (verdict.status, verdict.reason) == ("unusable", "not-language")


# --- the legacy-encoded PDF and its scan -----------------------------------------


@pytest.fixture(scope="module")
def legacy_pdf() -> bytes:
    return legacy_cyrillic_pdf()


def _page_texts(pdf: bytes) -> list[str]:
    document = pdfium.PdfDocument(pdf)
    try:
        return [page.get_textpage().get_text_range() for page in document]
    finally:
        document.close()


def test_legacy_pdf_text_layer_is_mojibake_that_check_page_repairs(legacy_pdf: bytes) -> None:
    texts = _page_texts(legacy_pdf)

    assert len(texts) == len(PROBABILITY_PAGES)
    assert "Ââåäåíèå â òåîðèþ" in texts[0]
    for text, russian in zip(texts, PROBABILITY_PAGES, strict=True):
        verdict = check_page(text)
        assert (verdict.status, verdict.reason) == ("repaired", "mojibake-cp1251")
        assert verdict.text.split() == russian.split()


def test_scan_has_the_pages_and_no_text(legacy_pdf: bytes) -> None:
    scan = scan_pdf(legacy_pdf, dpi=100)

    texts = _page_texts(scan)
    assert len(texts) == len(PROBABILITY_PAGES)
    assert all(text.strip() == "" for text in texts)
    assert [check_page(text).status for text in texts] == ["empty"] * len(texts)
