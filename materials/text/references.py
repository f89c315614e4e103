"""Whether a sentence reads alone, or points at text the student cannot see.

For the study generators and their checks: no Django, no I/O.
"""

from __future__ import annotations

import re

from materials.text.words import words

# A card or question is read alone: one that opens by pointing at text the
# student cannot see ("In this case the _____ …", "Это …") cannot be answered.
_REFERENCE_OPENERS = {
    "en": {
        "this", "these", "that", "those", "it", "its", "they", "them", "their", "he", "she",
        "his", "her", "such", "here", "however", "therefore", "thus", "hence", "so", "also",
        "then", "otherwise", "similarly", "likewise", "moreover", "furthermore",
        "additionally", "again", "instead", "consequently", "accordingly", "nevertheless",
        "nonetheless", "besides", "conversely", "alternatively", "both", "latter", "former",
        "above", "below", "whereas", "other", "another",
    },
    "ru": {
        "это", "этот", "эта", "эти", "этого", "этой", "этим", "этих", "этому", "эту", "этом",
        "тот", "та", "то", "те", "того", "тому", "том", "тех", "такой", "такая", "такое",
        "такие", "такого", "таким", "таких", "такую", "он", "она", "оно", "они", "его", "ее",
        "их", "ему", "ей", "им", "ими", "нем", "ней", "них", "здесь", "тут", "там", "тогда",
        "поэтому", "однако", "также", "тоже", "затем", "потом", "следовательно", "итак",
        "аналогично", "данный", "данная", "данное", "данные", "данного", "данной", "данном",
        "данных", "указанный", "указанные", "вышеуказанный", "последний", "последняя",
        "последнее", "последние", "который", "которая", "которое", "которые", "выше", "ниже",
        "кроме", "причем", "притом", "впрочем", "иначе", "зато", "другие", "другой", "другая",
    },
}  # fmt: skip
# Words that point back wherever they stand among the first few ("In this case", "При этом").
_REFERENCE_EARLY = {
    "en": {"this", "these", "those", "such", "it", "its", "they", "them", "their", "above"},
    "ru": {
        "это", "этот", "эта", "эти", "этого", "этой", "этим", "этих", "этому", "эту", "этом",
        "такой", "такая", "такое", "такие", "такого", "таким", "таких", "такую", "данный",
        "данная", "данное", "данные", "данного", "данной", "данном", "данных", "он", "она",
        "оно", "они", "их", "ему", "ней", "них", "нем", "этими", "такими", "данными",
    },
}  # fmt: skip
_EARLY_WORDS = 4
# Personal pronouns early on point back only after nothing but function words ("If it
# is", "При нём"); after a subject they are its own ("Plants make their own food").
_PERSONAL = {
    "it", "its", "they", "them", "their", "он", "она", "оно", "они", "их", "ему", "ней", "них",
    "нем",
}  # fmt: skip
_FUNCTION_WORDS = {
    "in", "on", "at", "for", "with", "by", "from", "of", "to", "as", "if", "when", "while",
    "since", "because", "after", "before", "during", "under", "over", "like", "and", "or",
    "but", "so", "the", "a", "an", "all", "both", "each", "not", "only", "also", "even",
    "then", "is", "are", "was", "were", "be", "note", "that", "в", "во", "на", "при", "для",
    "с", "со", "по", "из", "от", "к", "о", "об", "до", "после", "перед", "если", "когда",
    "хотя", "так", "как", "и", "а", "но", "или", "не", "же", "все", "всё", "у", "без",
}  # fmt: skip
# "It is possible to …": a dummy subject, nothing is pointed at.
_DUMMY_IT = re.compile(r"^it\s+(?:is|was|may be|can be|will be)\s+\w+\s+(?:to|that)\b")
# "… it is worth searching", "… it has been necessary that": a dummy "it" mid-clause.
_DUMMY_IT_AFTER = re.compile(
    r"^(?:is|was|has been|had been|may be|might be|can be|could be|will be|would be|"
    r"seems|seemed|becomes|became)\s+(?:\w+\s+)?(?:to|that|\w+ing)\b"
)
# Connectives that only join a sentence to the one before; dropped, the sentence stands alone.
_LEADING_CONNECTIVE = re.compile(
    r"^(?:however|therefore|thus|hence|moreover|furthermore|additionally|consequently|"
    r"nevertheless|nonetheless|in addition|in particular|in practice|of course|also|"
    r"однако|поэтому|кроме того|таким образом|следовательно|итак|впрочем|также|"
    r"в частности|на практике|конечно)\s*,\s*",
    re.IGNORECASE,
)
# "see Section 5.4", "Chapter 3 [Importing], page 15", "смотрите Раздел 6.1.1": pointers to
# pages the student is not looking at.
_CROSS_REFERENCE = re.compile(
    r"\b(?:see|смотрите|см\.)\s+(?:also\s+)?(?:the\s+)?"
    r"(?:section|chapter|appendix|table|figure|раздел|главу|глава|приложение|таблицу|рис)"
    r"|\b(?:section|chapter|appendix|раздел[еау]?|глав[аеуы]|приложени[еи])\s+[A-ZА-Я]?\d"
    r"|\],?\s+(?:page|стр\.?|страниц[аеу])\s*\d"
    r"|\b(?:table|figure|fig\.|таблиц[аеыу]?|рис\.?|рисун\w*)\s*\d"
    r"|\b(?:на|in)\s+(?:рис\.|fig\.)",
    re.IGNORECASE,
)
# "What is …?" / "Что такое …?" asks; "такое" there points at nothing.
_QUESTION_OPENING = re.compile(r"^(?:что такое|what (?:is|are))\s+", re.IGNORECASE)


def reference_language(language: str) -> str:
    return "ru" if language == "ru" else "en"


def opens_on_reference(text: str, language: str, *, strict: bool = True) -> bool:
    """Whether the text starts by pointing at text the student cannot see.

    Strict (cards and questions, read alone): any pronoun among the first
    words points outside, unless it is a dummy "it" ("it is worth trying").
    Lenient (a sentence of the summary or the notes, read among others): a
    personal pronoun after the sentence's own subject is the subject's.
    """
    tokens = words(_QUESTION_OPENING.sub("", text.replace("_____", " ").strip()))
    if not tokens:
        return False
    lang = reference_language(language)
    if lang == "en" and _DUMMY_IT.match(" ".join(tokens)):
        return False
    if tokens[0] in _REFERENCE_OPENERS[lang]:
        return True
    for index in range(1, min(_EARLY_WORDS, len(tokens))):
        word = tokens[index]
        if word not in _REFERENCE_EARLY[lang]:
            continue
        if word == "it" and _DUMMY_IT_AFTER.match(" ".join(tokens[index + 1 :])):
            continue
        if strict or word not in _PERSONAL:
            return True
        if all(w in _FUNCTION_WORDS for w in tokens[:index]):
            return True
    return False


def points_elsewhere(text: str) -> bool:
    """Whether the text sends the reader to another section, chapter or page."""
    return bool(_CROSS_REFERENCE.search(text))


def without_connective(text: str) -> str:
    """The sentence without a leading "However," or "Поэтому,", capitalised again."""
    stripped = _LEADING_CONNECTIVE.sub("", text, count=1)
    if stripped == text or not stripped:
        return text
    return stripped[:1].upper() + stripped[1:]
