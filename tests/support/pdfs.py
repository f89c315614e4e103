"""PDFs that tests build on the fly: legacy-encoded Cyrillic ones, words broken at
line ends, and scans.

Nothing here is committed as a binary: each file is made from the text and the
fonts Debian ships, in well under a second.
"""

from __future__ import annotations

import atexit
import functools
import io
import random
import shutil
import tempfile
from pathlib import Path

DEJAVU_SANS = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")

# Three pages of study prose, one distinct set of facts per page, so a search
# test can ask for a fact and expect its page.
PROBABILITY_PAGES = [
    "Введение в теорию вероятностей\n\n"
    "Теория вероятностей изучает закономерности случайных явлений. Её история "
    "началась в 1654 году с переписки Блеза Паскаля и Пьера Ферма о задаче "
    "раздела ставки: как справедливо поделить банк между игроками, если игра "
    "прервана досрочно. Паскаль и Ферма независимо пришли к одному ответу, и "
    "этот обмен письмами считают рождением науки о случайном.\n\n"
    "Через три года Христиан Гюйгенс издал трактат «О расчётах в азартной "
    "игре», первую книгу по теории вероятностей. В нём появилось понятие "
    "математического ожидания, которое Гюйгенс называл ценой шанса.\n\n"
    "Строгое аксиоматическое построение теории дал Андрей Николаевич "
    "Колмогоров в 1933 году в книге «Основные понятия теории вероятностей». "
    "Колмогоров определил вероятность как меру на множестве элементарных "
    "исходов: она неотрицательна, вероятность достоверного события равна "
    "единице, а вероятность суммы несовместных событий равна сумме их "
    "вероятностей. С тех пор теория вероятностей стала разделом математики, "
    "а не собранием правил для игроков.",
    "Классическое определение вероятности\n\n"
    "Если опыт имеет конечное число равновозможных исходов, то вероятность "
    "события равна отношению числа благоприятных исходов к числу всех "
    "исходов. Бросим две игральные кости: всего существует тридцать шесть "
    "равновозможных исходов. Сумма очков, равная семи, выпадает в шести из "
    "них, поэтому её вероятность равна одной шестой. Сумма, равная двум, "
    "выпадает лишь в одном случае из тридцати шести.\n\n"
    "Геометрическая вероятность переносит ту же идею на бесконечные множества "
    "исходов: вероятность попадания точки в область пропорциональна площади "
    "этой области. Знаменитый пример предложил Жорж Бюффон в 1777 году: игла "
    "длиной l бросается на плоскость, расчерченную параллельными прямыми на "
    "расстоянии d друг от друга. Вероятность того, что игла пересечёт прямую, "
    "равна 2l/(d·пи), и опыт Бюффона позволяет оценивать число пи бросанием "
    "иглы.\n\n"
    "Условная вероятность события A при условии B равна P(AB)/P(B). Формула "
    "Байеса, опубликованная после смерти её автора в 1763 году, позволяет "
    "пересчитывать вероятности гипотез после наблюдения.",
    "Закон больших чисел\n\n"
    "Якоб Бернулли доказал первую форму закона больших чисел в книге "
    "«Искусство предположений», изданной в 1713 году, уже после смерти "
    "автора. Теорема Бернулли утверждает, что частота успеха в длинной серии "
    "независимых испытаний сходится по вероятности к вероятности успеха в "
    "одном испытании.\n\n"
    "Пафнутий Львович Чебышёв в 1867 году получил неравенство, которое носит "
    "его имя: вероятность того, что случайная величина отклонится от своего "
    "математического ожидания больше чем на k стандартных отклонений, не "
    "превосходит единицы, делённой на квадрат k. Из неравенства Чебышёва "
    "закон больших чисел следует в нескольких строках.\n\n"
    "Центральная предельная теорема объясняет, почему нормальное "
    "распределение встречается так часто: сумма многих независимых малых "
    "слагаемых распределена приблизительно нормально. Александр Михайлович "
    "Ляпунов доказал её при общих условиях в 1901 году, используя "
    "характеристические функции.",
]

# A page of a book set line by line (for `hyphenated_pdf`): a line ending in
# U+00AD ends in a word broken there. "кто-" breaks the compound at its own
# hyphen; the first paragraph writes it whole, so the document's vocabulary
# says it is a compound. BROKEN_WORDS_TEXT is the same page as it reads.
BROKEN_WORDS_LINES = [
    ["Если кто-нибудь найдёт в этой книжке ошибку, напишите автору."],
    [
        "Следующие символы являются зарезервированными символами, кото\xad",
        "рые либо имеют специальное значение, либо имеются не во всех шрифтах.",
        "Если вы введёте их в текст напрямую, то система обычно автома\xad",
        "тически сделает что-то другое. Каждый символ можно получить, если кто-",
        "нибудь поставит перед ним обратную косую черту. Для полной инфор\xad",
        "мации о других символах смотрите таблицу в конце этой главы.",
    ],
]
BROKEN_WORDS_TEXT = (
    "Если кто-нибудь найдёт в этой книжке ошибку, напишите автору. "
    "Следующие символы являются зарезервированными символами, которые либо имеют "
    "специальное значение, либо имеются не во всех шрифтах. Если вы введёте их в "
    "текст напрямую, то система обычно автоматически сделает что-то другое. Каждый "
    "символ можно получить, если кто-нибудь поставит перед ним обратную косую "
    "черту. Для полной информации о других символах смотрите таблицу в конце этой главы."
)


def unicode_pdf(pages: list[str]) -> bytes:
    """A real text PDF in a font with Cyrillic letters."""
    from fpdf import FPDF

    if not DEJAVU_SANS.exists():
        import pytest

        pytest.skip(f"{DEJAVU_SANS} is absent (Debian package fonts-dejavu-core)")
    pdf = FPDF()
    pdf.add_font("DejaVu", fname=str(DEJAVU_SANS))
    pdf.set_font("DejaVu", size=11)
    for text in pages:
        pdf.add_page()
        pdf.multi_cell(0, 6, text)
    return bytes(pdf.output())


def cp1251_as_latin1(text: str) -> str:
    """What a reader makes of text set in an old "Cyr" font: its cp1251 bytes
    read as Windows-1252 (WinAnsiEncoding), so «А» comes out as «À»."""
    return text.encode("cp1251").decode("cp1252")


@functools.cache
def legacy_cyr_font() -> Path:
    """DejaVu Sans re-mapped like the old Windows "Cyr" fonts.

    Its cmap sends the codes of cp1251's Cyrillic letters, read as Latin-1
    (U+00C0–U+00FF, U+00A8, U+00B8, U+00B9), to the Cyrillic glyphs: a page set
    in it shows Russian while its text layer says "Ââåäåíèå". Code 127 draws a
    hyphen, as in TeX's T2A fonts, which break words with it: a text layer
    then says DEL where the page shows the hyphen. Built once per test run
    into a temporary file. Debian's fonts-dejavu-core provides the original;
    without it the calling test is skipped.
    """
    if not DEJAVU_SANS.exists():
        import pytest

        pytest.skip(f"{DEJAVU_SANS} is absent (Debian package fonts-dejavu-core)")
    from fontTools import subset
    from fontTools.ttLib import TTFont

    font = TTFont(DEJAVU_SANS)
    best = font.getBestCmap()
    keep = {code: glyph for code, glyph in best.items() if code < 0x0250 or 0x2000 <= code < 0x2200}
    for byte in range(0x80, 0x100):
        legacy = bytes([byte]).decode("cp1251", errors="ignore")
        if legacy and (legacy.isalpha() or legacy == "№"):
            keep[ord(bytes([byte]).decode("latin-1"))] = best[ord(legacy)]
    keep[0x7F] = best[ord("-")]
    # Only the legacy codes reach the Cyrillic glyphs, as in the real fonts.
    for table in font["cmap"].tables:
        if table.isUnicode():
            table.cmap = dict(keep)
    options = subset.Options()
    options.name_IDs = ["*"]
    options.notdef_outline = True
    options.drop_tables += ["FFTM"]
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=keep.keys())
    subsetter.subset(font)
    folder = Path(tempfile.mkdtemp(prefix="legacy-cyr-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    path = folder / "DejaVuSansCyr.ttf"
    font.save(path)
    return path


def legacy_cyrillic_pdf(pages: list[str] | None = None) -> bytes:
    """A PDF whose pages show Russian but whose text layer is cp1251 mojibake.

    ``pages`` are written in Russian (default: three pages on probability);
    each string is one page.
    """
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_font("DejaVuCyr", fname=str(legacy_cyr_font()))
    pdf.set_font("DejaVuCyr", size=12)
    for text in pages or PROBABILITY_PAGES:
        pdf.add_page()
        pdf.multi_cell(0, 7, cp1251_as_latin1(text))
    return bytes(pdf.output())


def legacy_copy(pages: list[str]) -> bytes:
    """A legacy-encoded copy of a real document: each page's text on one page.

    The font shrinks until a page's text fits its page, so page N of the copy
    holds exactly page N's text (the evaluation checks answers by page).
    Characters cp1251 has no code for become "?", as they did in such fonts.
    """
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_font("DejaVuCyr", fname=str(legacy_cyr_font()))
    pdf.set_auto_page_break(False)
    room = pdf.h - 2 * pdf.t_margin
    for text in pages:
        legacy = text.encode("cp1251", errors="replace").decode("cp1252", errors="replace")
        legacy = legacy.replace("\ufffd", "?")
        pdf.add_page()
        size = 11.0
        while True:
            pdf.set_font("DejaVuCyr", size=size)
            lines = pdf.multi_cell(0, size * 0.45, legacy, dry_run=True, output="LINES")
            if len(lines) * size * 0.45 <= room or size <= 4:
                break
            size -= 0.5
        pdf.multi_cell(0, size * 0.45, legacy)
    return bytes(pdf.output())


def hyphenated_pdf(
    paragraphs: list[list[str]], *, line_end: str = "\xad", legacy: bool = False
) -> bytes:
    """One page set line by line as given, like a book that breaks words at line ends.

    Each paragraph is a list of lines. A line that ends in U+00AD ends in a
    word broken there: the page shows a hyphen, and the text layer holds
    ``line_end`` ("-", U+00AD, U+2010 or U+2011). With ``legacy`` the page is
    set in `legacy_cyr_font`, so its text layer is cp1251 mojibake, and
    ``line_end`` is "-", U+00AD or U+007F (where TeX's T2A fonts draw their
    hyphen).
    """
    from fpdf import FPDF

    pdf = FPDF()
    if legacy:
        pdf.add_font("Body", fname=str(legacy_cyr_font()))
    else:
        if not DEJAVU_SANS.exists():
            import pytest

            pytest.skip(f"{DEJAVU_SANS} is absent (Debian package fonts-dejavu-core)")
        pdf.add_font("Body", fname=str(DEJAVU_SANS))
    pdf.set_font("Body", size=11)
    pdf.add_page()
    for lines in paragraphs:
        for line in lines:
            if line.endswith("\xad"):
                line = line[:-1] + line_end
            if legacy:
                line = cp1251_as_latin1(line)
            pdf.cell(0, 6, line, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(6)
    return bytes(pdf.output())


def scan_pdf(
    pdf: bytes, *, dpi: int = 200, seed: int = 0, max_skew: float = 1.5, noise: float = 8.0
) -> bytes:
    """The PDF as a scanner would return it: one grayscale image per page, no text.

    Each page is rendered at ``dpi``, turned by a random angle within
    ``±max_skew`` degrees and sprinkled with Gaussian noise of standard
    deviation ``noise`` grey levels; ``seed`` makes both repeatable.
    """
    import numpy as np
    import pypdfium2 as pdfium
    from PIL import Image

    rng = random.Random(seed)
    noise_rng = np.random.default_rng(seed)
    images: list[Image.Image] = []
    document = pdfium.PdfDocument(pdf)
    try:
        for page in document:
            bitmap = page.render(scale=dpi / 72, grayscale=True)
            image = bitmap.to_pil().convert("L")
            angle = rng.uniform(-max_skew, max_skew)
            image = image.rotate(angle, resample=Image.Resampling.BICUBIC, fillcolor=255)
            pixels = np.asarray(image, dtype=np.float32)
            pixels += noise_rng.normal(0.0, noise, pixels.shape).astype(np.float32)
            images.append(Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "L"))
    finally:
        document.close()
    out = io.BytesIO()
    images[0].save(out, "PDF", save_all=True, append_images=images[1:], resolution=dpi)
    return out.getvalue()


def make_pdf(pages: list[str]) -> bytes:
    """A real text PDF, one string per page."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("Helvetica", size=11)
    for text in pages:
        pdf.add_page()
        pdf.multi_cell(0, 6, text)
    return bytes(pdf.output())


def make_scanned_pdf(text_pages: list[str], scans: list[str]) -> bytes:
    """Text pages, then image-only pages: recognising those holds extraction open a while."""
    import pypdfium2 as pdfium

    scanned = scan_pdf(make_pdf(scans))
    if not text_pages:
        return scanned
    document = pdfium.PdfDocument(make_pdf(text_pages))
    document.import_pages(pdfium.PdfDocument(scanned))
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()
