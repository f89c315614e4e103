"""A quality check of one page's extracted text, with an exact repair of Cyrillic mojibake.

A PDF's text layer can be wrong while the page looks right: an old "Cyr" font
whose codes are cp1251 bytes declared as Latin-1 gives "Ââåäåíèå" for
"Введение"; an unmapped font gives "(cid:12)" runs, private-use characters or
U+FFFD; a font with a shuffled encoding gives letter soup. `check_page` says
which, and repairs the mojibake when the repair is exact (a re-reading of the
same bytes), so the caller knows when to OCR the page instead.

Give it the page as extracted, before cleaning: U+00A0 and U+00AD, which
cleaning drops, are the letters "а" and "н" of cp866 mojibake.

Imported by the PDF child process: standard library only, no Django.
"""

from __future__ import annotations

import codecs
import itertools
import math
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass

OK = "ok"
REPAIRED = "repaired"
UNUSABLE = "unusable"
EMPTY = "empty"


@dataclass(frozen=True)
class Verdict:
    """What to keep of a page's text, and why."""

    text: str  # the text to keep: repaired if repaired, original otherwise
    status: str  # OK | REPAIRED | UNUSABLE | EMPTY
    # REPAIRED: "mojibake-cp1251", "mojibake-koi8-r", "mojibake-cp866", "mojibake-utf-8";
    # UNUSABLE: "mojibake" (no code page reads it as Russian), "cid", "private-use",
    # "replacement", "control", "not-language"; EMPTY: "no-text"; OK: "".
    reason: str = ""


# A page with fewer visible characters is an image or blank; the caller decides.
_MIN_VISIBLE = 20

# --- mojibake ---------------------------------------------------------------

# Code pages tried, in order; UTF-8 first because a strict UTF-8 decoding of
# multi-byte sequences cannot happen by chance and would otherwise be misread
# as cp1251 ("Ð¿Ñ€" -> "РїСЂ", all Cyrillic letters).
_CODE_PAGES = ("utf-8", "cp1251", "koi8_r", "cp866")
# A re-read block is kept only if this share of what its legacy bytes became,
# letters and symbols but not punctuation, is Cyrillic letters.
_MIN_CYRILLIC = 0.9
# A run of four legacy characters, two of them letters, is evidence that the
# page holds mojibake: a Russian word in mojibake is nothing but legacy
# characters, while genuine French, German, Spanish, Portuguese or Icelandic
# words have one or two accented letters between ASCII ones ("électricité",
# "Größe", "ætíð"), so their text never triggers a repair.
_EVIDENCE_RUN = 4
_EVIDENCE_LETTERS = 2
# An accented letter beside an ASCII one ("Größe", "für"): genuine Latin-1
# text, never mojibake, whose words are all legacy characters. A page with as
# many of these as evidence runs is in a Latin-1 language, and a run such as
# "äöüß" or "áéíóú" in a grammar table there is no evidence.
_GENUINE_ACCENT = re.compile(
    "[A-Za-z][\xc0-\xd6\xd8-\xf6\xf8-\xff]|[\xc0-\xd6\xd8-\xf6\xf8-\xff][A-Za-z]"
)
# Evidence runs past which the page is mojibake whatever else it holds (and
# the count above is not worth its time).
_EVIDENCE_PLENTY = 8
# Cyrillic letters a piece glued to a letter through a symbol must give.
_MIN_GLUED_LETTERS = 2
# Evidence words read to choose the code page: from five words on, the choice
# was right for every sample of the test prose in all three code pages.
_EVIDENCE_SAMPLE = 64
# A reading is taken for Russian only if its mean log-frequency per letter
# is within this many standard errors of Russian prose's (-3.1), and in any
# case within this margin of it however long the sample, as one text's words
# differ more than random draws. Greek cp1253 mojibake read as cp1251 is all
# Cyrillic letters (the two alphabets share their order) but scores -3.8.
_RUSSIAN_STANDARD_ERRORS = 4
_RUSSIAN_MARGIN = 0.5

# Windows-1252 puts punctuation at 0x80-0x9F; pdfium reads a WinAnsi font's
# bytes that way, so those characters stand for the same bytes as Latin-1's.
_CP1252_EXTRA = {
    ord(char): chr(byte)
    for byte in range(0x80, 0xA0)
    if (char := bytes([byte]).decode("cp1252", errors="ignore")) and ord(char) > 0xFF
}
_CP1252_ERRORS = "textcheck-cp1252"


def _cp1252_fallback(error: UnicodeError) -> tuple[str, int]:
    """Encode cp1252's punctuation to its byte where Latin-1 has none; the
    rest stays an error (the caller only passes legacy characters)."""
    if not isinstance(error, UnicodeEncodeError):
        raise error
    chunk = error.object[error.start : error.end]
    try:
        return chunk.encode("cp1252").decode("latin-1"), error.end
    except UnicodeEncodeError:
        raise error from None


codecs.register_error(_CP1252_ERRORS, _cp1252_fallback)
_LEGACY_CLASS = "\x80-\xff" + "".join(map(chr, _CP1252_EXTRA))
_LEGACY_LETTER = re.compile(
    "["
    + "".join(chr(code) for code in range(0x80, 0x100) if chr(code).isalpha())
    + "".join(chr(code) for code in _CP1252_EXTRA if chr(code).isalpha())
    + "]"
)
_EVIDENCE = re.compile(f"[{_LEGACY_CLASS}]{{{_EVIDENCE_RUN},}}")
# A block: legacy characters with the digits, ASCII punctuation and spaces
# between them; an ASCII letter or a character beyond Latin-1 ends it.
# Words split on ASCII white space only: U+00A0 and U+00AD are letters in cp866.
_ASCII_SPACE = " \t\n\r\f\v"
_TOKEN = re.compile(f"[^{_ASCII_SPACE}]+")
_BLOCK = re.compile(
    f"[{_LEGACY_CLASS}](?:[{_LEGACY_CLASS}0-9\\s!-/:-@\\[-`{{-~]*[{_LEGACY_CLASS}])?"
)
_LETTER = re.compile(r"[^\W\d_]")
_CYRILLIC_LETTER = re.compile(r"[\u0400-\u0481\u048a-\u04ff]")

# Russian letter frequencies in per cent, case folded; "ё" as in text that
# prints it (where it is mostly written "е", it is rarer still).
_RUSSIAN_FREQUENCY = {
    "о": 10.97, "е": 8.45, "а": 8.01, "и": 7.35, "н": 6.70, "т": 6.26, "с": 5.47,
    "р": 4.73, "в": 4.54, "л": 4.40, "к": 3.49, "м": 3.21, "д": 2.98, "п": 2.81,
    "у": 2.62, "я": 2.01, "ы": 1.90, "ь": 1.74, "г": 1.70, "з": 1.65, "б": 1.59,
    "ч": 1.44, "й": 1.21, "х": 0.97, "ж": 0.94, "ш": 0.73, "ю": 0.64, "ц": 0.48,
    "щ": 0.36, "э": 0.32, "ф": 0.26, "ъ": 0.04, "ё": 0.20,
}  # fmt: skip
_RUSSIAN_MEAN = sum(p / 100 * math.log(p / 100) for p in _RUSSIAN_FREQUENCY.values())
_RUSSIAN_DEVIATION = math.sqrt(
    sum(p / 100 * (math.log(p / 100) - _RUSSIAN_MEAN) ** 2 for p in _RUSSIAN_FREQUENCY.values())
)
# Prose is mostly lower case; a reading that swaps case (cp1251 read as koi8-r)
# pays this much per capital. On samples of the test prose in cp1251 and
# koi8-r, 0.5 picks a wrong code page for 3.4 % of single words and 0.4 % of
# two-word samples (no penalty: 9 % and 2 %), and still reads 7 of 8
# all-capital headings right (1.0: none).
_CAPITAL_PENALTY = 0.5


def _is_foreign(char: str) -> bool:
    """A re-read character that is neither a Cyrillic letter nor punctuation,
    space or digit: a Latin letter, box drawing, a currency or maths sign,
    U+FFFD. It counts against the 90 %, so that koi8-r read as cp866 (box
    drawing between a few letters) does not pass for Cyrillic."""
    if _CYRILLIC_LETTER.match(char) or char.isspace() or char == "№":
        return False
    return unicodedata.category(char)[0] not in "PNZ"


def _letter_score(char: str) -> float:
    if not _CYRILLIC_LETTER.match(char):
        return 0.0
    score = math.log(_RUSSIAN_FREQUENCY.get(char.lower(), 0.04) / 100)
    return score - _CAPITAL_PENALTY if char != char.lower() else score


@dataclass(frozen=True)
class _SingleByte:
    """How a single-byte code page reads legacy bytes, as tables over bytes, so
    a block is judged with bytes.translate rather than character by character."""

    name: str
    not_cyrillic: bytes  # bytes.translate deletes these to keep the Cyrillic letters
    not_foreign: bytes  # ... and these to keep the foreign characters
    score: tuple[float, ...]  # log-frequency in Russian prose of each byte's letter

    @classmethod
    def of(cls, name: str) -> _SingleByte:
        chars = bytes(range(256)).decode(name, errors="replace")
        return cls(
            name=name,
            not_cyrillic=bytes(
                b for b, char in enumerate(chars) if not _CYRILLIC_LETTER.match(char)
            ),
            not_foreign=bytes(b for b, char in enumerate(chars) if not _is_foreign(char)),
            score=tuple(map(_letter_score, chars)),
        )

    def shares(self, raw: bytes) -> tuple[int, int]:
        """Cyrillic letters and foreign characters among these bytes' reading."""
        return len(raw.translate(None, self.not_cyrillic)), len(
            raw.translate(None, self.not_foreign)
        )

    def russian_score(self, raw: bytes) -> float:
        """How far the mean log-frequency of the reading's letters in Russian
        prose lies above the lowest that Russian text of that length shows."""
        letters = raw.translate(None, self.not_cyrillic)
        if not letters:
            return -math.inf
        mean = sum(map(self.score.__getitem__, letters)) / len(letters)
        spread = _RUSSIAN_STANDARD_ERRORS * _RUSSIAN_DEVIATION / math.sqrt(len(letters))
        return mean - (_RUSSIAN_MEAN - max(spread, _RUSSIAN_MARGIN))


_SINGLE_BYTE = {name: _SingleByte.of(name) for name in _CODE_PAGES if name != "utf-8"}
# The characters of those readings that _is_foreign rejects, to find them in a
# re-read block.
_FOREIGN = re.compile(
    "["
    + re.escape(
        "".join(
            sorted(
                {
                    char
                    for name in _SINGLE_BYTE
                    for char in bytes(range(0x80, 0x100)).decode(name, errors="replace")
                    if _is_foreign(char)
                }
            )
        )
    )
    + "]"
)

# --- damage -----------------------------------------------------------------

_CID = re.compile(r"\(cid:\d+\)")
_PRIVATE_USE = re.compile("[\ue000-\uf8ff\U000f0000-\U0010fffd]")
_REPLACEMENT = re.compile("\ufffd")
# C0 controls other than white space, DEL and C1 controls (unmapped codes).
_CONTROL = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f]")
_DAMAGE_KINDS = {
    "cid": _CID,
    "private-use": _PRIVATE_USE,
    "replacement": _REPLACEMENT,
    "control": _CONTROL,
}
_DAMAGE = re.compile("|".join(pattern.pattern for pattern in _DAMAGE_KINDS.values()))
_LOST_CHAR = re.compile(
    "|".join(pattern.pattern for pattern in _DAMAGE_KINDS.values() if pattern is not _CID)
)
# Share of the page's words with a lost character from which OCR of the
# rendered page reads better: a sentence of fifteen words then has five holes,
# while a page with a few symbol-font bullets or formula glyphs stays far below.
_MAX_DAMAGED_WORDS = 0.3

# --- language -----------------------------------------------------------------

# Latin and Cyrillic words of three letters or more: one- and two-letter
# words are variables, units and prepositions, which say nothing about
# whether the page is language; other scripts are not judged.
_SCRIPT_LETTERS = "A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f\u0400-\u0481\u048a-\u04ff"
_WORD = re.compile(f"[{_SCRIPT_LETTERS}]{{3,}}")
_VOWELS = (
    "aeiouyAEIOUY"
    "àáâãäåæèéêëìíîïòóôõöøùúûüýÿÀÁÂÃÄÅÆÈÉÊËÌÍÎÏÒÓÔÕÖØÙÚÛÜÝ"
    "āăąēĕėęěīĭįıōŏőœūŭůűųŷĀĂĄĒĔĖĘĚĪĬĮİŌŎŐŒŪŬŮŰŲŶ"
    "аеёиоуыэюяіїєәөұүАЕЁИОУЫЭЮЯІЇЄӘӨҰҮ"
)
_VOWEL = re.compile(f"[{_VOWELS}]")
# Six consonants in a row, once vowels are marked "1": no plausible word of a
# European language has them (German "Angstschweiß" is the rare exception).
_CONSONANT_RUN = re.compile("[^1 ]{6}")
# Words judged per page, spread over it: enough for stable shares, and the
# check stays cheap on a dense page.
_SAMPLE_WORDS = 150
# Below this many words the page is too short to judge (a title, a table).
_MIN_WORDS = 20
# Vowels make 37-45 % of the letters of English, French, German, Spanish,
# Portuguese, Icelandic, Polish, Czech or Russian prose and of Python, C or SQL
# listings; shell scripts, Makefiles, assembly and chemistry reach 24-27 %,
# with up to 38 % of their words implausible ("rbp", "HCl"). Letter soup from a
# shifted or shuffled encoding that moves vowels away has under 22 % and
# about half its words implausible. A page is soup only when both say so,
# so no listing is ever flagged on its vowel share alone.
_SOUP_VOWEL_SHARE = 0.22
_SOUP_IMPLAUSIBLE = 0.35
# Past these bounds one signal is enough: no text of a language is this poor
# (or rich) in vowels.
_MIN_VOWEL_SHARE = 0.12
_MAX_VOWEL_SHARE = 0.75


def check_page(text: str) -> Verdict:
    """Judge one page's text: keep it, repair it, or tell the caller to OCR it."""
    if _visible(text) < _MIN_VISIBLE:
        return Verdict(text, EMPTY, "no-text")
    repaired, code_page, unrepaired = _repair_mojibake(text)
    damage = _damage_reason(repaired, unrepaired)
    if damage:
        return Verdict(text, UNUSABLE, damage)
    if not _is_language(repaired):
        return Verdict(text, UNUSABLE, "not-language")
    if code_page:
        return Verdict(repaired, REPAIRED, f"mojibake-{code_page}")
    return Verdict(text, OK)


def _visible(text: str) -> int:
    return len(text) - sum(map(text.count, " \t\n\r\f\v\xa0"))


# --- mojibake ---------------------------------------------------------------


def _repair_mojibake(text: str) -> tuple[str, str, int]:
    """The text with its mojibake blocks re-read, the code page used, and the
    number of mojibake words left as they were."""
    sample = list(itertools.islice(_evidence(text), _EVIDENCE_SAMPLE))
    if not sample:
        return text, "", 0
    if len(sample) < _EVIDENCE_PLENTY and len(_GENUINE_ACCENT.findall(text)) >= len(sample):
        return text, "", 0  # a Latin-1 language's page listing "äöüß" or "áéíóú"
    code_page = _best_code_page(_legacy_bytes(" ".join(sample)))
    if not code_page:
        return text, "", sum(1 for _ in _evidence(text))
    pieces: list[str] = []
    done = 0
    unrepaired = 0
    for block in _BLOCK.finditer(text):
        for start, end, reading in _block_readings(text, *block.span(), code_page):
            if reading is None:
                unrepaired += sum(1 for _ in _evidence(text[start:end]))
                continue
            pieces += [text[done:start], reading]
            done = end
    if not pieces:
        return text, "", unrepaired
    pieces.append(text[done:])
    return "".join(pieces), code_page.replace("_", "-"), unrepaired


def _block_readings(
    text: str, start: int, end: int, code_page: str
) -> Iterator[tuple[int, int, str | None]]:
    """Re-readings of the block text[start:end] as (start, end, reading or None).

    A word of the block glued to a letter outside it ("x²", "Größe", "d·ïè")
    is judged alone (see `_reread`); the rest is judged as one block, and word
    by word only if it fails as a whole.
    """
    words = [match.span() for match in _TOKEN.finditer(text, start, end)]
    first, last = 0, len(words)
    if start > 0 and text[start - 1].isalpha():
        first = 1
        yield words[0][0], words[0][1], _reread(text, *words[0], code_page)
    if last > first and end < len(text) and text[end].isalpha():
        last -= 1
        yield words[-1][0], words[-1][1], _reread(text, *words[-1], code_page)
    if first < last:
        middle_start, middle_end = words[first][0], words[last - 1][1]
        reading = _reread(text, middle_start, middle_end, code_page)
        if reading is not None:
            yield middle_start, middle_end, reading
        else:
            for word_start, word_end in words[first:last]:
                yield word_start, word_end, _reread(text, word_start, word_end, code_page)


def _evidence(text: str) -> Iterator[str]:
    for match in _EVIDENCE.finditer(text):
        run = match.group()
        if len(_LEGACY_LETTER.findall(run)) >= _EVIDENCE_LETTERS:
            yield run


def _legacy_bytes(text: str) -> bytes:
    """The bytes a legacy font drew, from characters of Latin-1 or cp1252."""
    return text.encode("latin-1", errors=_CP1252_ERRORS)


def _best_code_page(raw: bytes) -> str:
    """The code page that reads these bytes as Russian, or "" if none does."""
    try:
        reading = raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        cyrillic = len(_CYRILLIC_LETTER.findall(reading))
        if cyrillic and cyrillic >= _MIN_CYRILLIC * len(_LETTER.findall(reading)):
            return "utf-8"
    best, best_score = "", 0.0
    for single_byte in _SINGLE_BYTE.values():
        cyrillic, foreign = single_byte.shares(raw)
        if not cyrillic or cyrillic < _MIN_CYRILLIC * (cyrillic + foreign):
            continue
        score = single_byte.russian_score(raw)
        if score > best_score:
            best, best_score = single_byte.name, score
    return best


def _reread(text: str, start: int, end: int, code_page: str) -> str | None:
    """The piece text[start:end] read in ``code_page``, or None unless it is
    then 90 % Cyrillic.

    A piece that begins or ends in a letter glued to letters outside it counts
    with them, so "Größe" on a mojibake page is not made "GrцЯe". A piece glued
    to a letter through a symbol must give two Cyrillic letters: "d·ïè" is
    "d·пи", but "x²" stays, not "xІ". Characters a single-byte code page reads
    as foreign stay as they were (a genuine "°" beside mojibake): such a
    reading is one character per byte, so positions match.
    """
    piece = text[start:end]
    raw = _legacy_bytes(piece)
    before = _letters_before(text, start) if piece[0].isalpha() else start
    after = _letters_after(text, end) if piece[-1].isalpha() else end
    glued = (start > 0 and text[start - 1].isalpha()) or (end < len(text) and text[end].isalpha())
    edges = text[before:start] + text[end:after]
    cyrillic = len(_CYRILLIC_LETTER.findall(edges))
    foreign = len(_LETTER.findall(edges)) - cyrillic
    if code_page == "utf-8":
        try:
            reading = raw.decode("utf-8")
        except UnicodeDecodeError:
            return None
        piece_cyrillic = len(_CYRILLIC_LETTER.findall(reading))
        piece_foreign = len(_LETTER.findall(reading)) - piece_cyrillic
    else:
        piece_cyrillic, piece_foreign = _SINGLE_BYTE[code_page].shares(raw)
        reading = raw.decode(code_page, errors="replace")
        if piece_foreign:
            reading = _FOREIGN.sub(lambda match: piece[match.start()], reading)
    cyrillic += piece_cyrillic
    foreign += piece_foreign
    if not cyrillic or cyrillic < _MIN_CYRILLIC * (cyrillic + foreign):
        return None
    if glued and not edges and piece_cyrillic < _MIN_GLUED_LETTERS:
        return None
    return reading


def _letters_before(text: str, index: int) -> int:
    while index > 0 and text[index - 1].isalpha():
        index -= 1
    return index


def _letters_after(text: str, index: int) -> int:
    while index < len(text) and text[index].isalpha():
        index += 1
    return index


# --- damage -----------------------------------------------------------------


def _damage_reason(text: str, unrepaired_mojibake: int) -> str:
    """Why too many of the page's words are lost, or "" if they are not."""
    if not unrepaired_mojibake and "(cid:" not in text and not _LOST_CHAR.search(text):
        return ""
    words = text.split()
    counts = {"mojibake": unrepaired_mojibake}
    for word in words:
        if not _DAMAGE.search(word):
            continue
        for reason, pattern in _DAMAGE_KINDS.items():
            if pattern.search(word):
                counts[reason] = counts.get(reason, 0) + 1
                break
    damaged = sum(counts.values())
    if damaged < _MAX_DAMAGED_WORDS * len(words):
        return ""
    return max(counts, key=counts.__getitem__)


# --- language -----------------------------------------------------------------


def _is_language(text: str) -> bool:
    """False when the page's words are letter soup rather than a language."""
    words = _WORD.findall(text)
    if len(words) < _MIN_WORDS:
        return True
    sample = words[:: max(1, len(words) // _SAMPLE_WORDS)]
    marked, vowels = _VOWEL.subn("1", " ".join(sample))
    vowel_share = vowels / (len(marked) - len(sample) + 1)
    if not _MIN_VOWEL_SHARE <= vowel_share <= _MAX_VOWEL_SHARE:
        return False
    vowelless = sum("1" not in word for word in marked.split(" "))
    implausible = (vowelless + len(_CONSONANT_RUN.findall(marked))) / len(sample)
    return vowel_share >= _SOUP_VOWEL_SHARE or implausible <= _SOUP_IMPLAUSIBLE
