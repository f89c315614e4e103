"""The owner's edits of a quiz question: its wording, choices, answer, explanation, hiding.

A question row is shared by every course student who takes the quiz, so an
edit or a hide reaches them all at once; nobody's card schedule is touched.

Attempts are never rewritten. Each QuizAttempt keeps, in its results, the
question's text, choices, answer index and explanation as the student saw
them, so an old attempt's page and score read as they were, and re-marking
the correct choice does not regrade it. Where figures are counted over
attempts (a course's progress: "most picked wrong choice"), a pick is read
by its text in that attempt's own copy of the choices, never as an index
into the current ones: reordering or rewording the choices cannot move an
old pick onto another choice (courses.progress._ChosenText). A pick of a
choice that has since been reworded keeps its old wording there.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from materials.models import QuizQuestion

MAX_QUESTION_CHARS = 2000
MAX_CHOICE_CHARS = 500
MAX_CHOICES = 8


def _clean_text(value: str, limit: int, empty: str, too_long: str) -> str:
    value = (value or "").strip()
    if not value:
        raise ValidationError(empty)
    if len(value) > limit:
        raise ValidationError(too_long % {"limit": limit})
    return value


def clean_choices(choices: list[str], answer_index: int | None) -> tuple[list[str], int]:
    """At least two distinct, non-empty choices, and exactly one of them marked correct."""
    cleaned = [" ".join(str(choice).split()) for choice in choices]
    if any(not choice for choice in cleaned):
        raise ValidationError(_("Every choice needs some text."))
    if len(cleaned) < 2:
        raise ValidationError(_("A question needs at least two choices."))
    if len(cleaned) > MAX_CHOICES:
        raise ValidationError(
            _("A question may have at most %(limit)s choices.") % {"limit": MAX_CHOICES}
        )
    if any(len(choice) > MAX_CHOICE_CHARS for choice in cleaned):
        raise ValidationError(
            _("A choice may be at most %(limit)s characters long.") % {"limit": MAX_CHOICE_CHARS}
        )
    if len({choice.casefold() for choice in cleaned}) != len(cleaned):
        raise ValidationError(_("Two choices say the same thing."))
    if answer_index is None or not 0 <= answer_index < len(cleaned):
        raise ValidationError(_("Mark the one correct choice."))
    return cleaned, answer_index


def question_update(
    *,
    question: QuizQuestion,
    text: str | None = None,
    choices: list[str] | None = None,
    answer_index: int | None = None,
    explanation: str | None = None,
    is_suspended: bool | None = None,
) -> QuizQuestion:
    """Edit or hide (`is_suspended`) one question; None leaves a part as it is.

    The caller has checked that the user owns the question's material
    (selectors.quiz_question_list_editable). New choices come with the index
    of the correct one (their old index may now name another choice). An edited question is the
    owner's from then on (`edited_at`): a regeneration keeps it.
    """
    fields: list[str] = []
    if text is not None:
        question.question = _clean_text(
            text,
            MAX_QUESTION_CHARS,
            _("The question needs some text."),
            _("A question may be at most %(limit)s characters long."),
        )
        fields.append("question")
    if choices is not None or answer_index is not None:
        # New choices must say which one is correct: the old index may now
        # point at another choice.
        question.choices, question.answer_index = clean_choices(
            choices if choices is not None else list(question.choices), answer_index
        )
        fields += ["choices", "answer_index"]
    if explanation is not None:
        explanation = explanation.strip()
        if len(explanation) > MAX_QUESTION_CHARS:
            raise ValidationError(
                _("An explanation may be at most %(limit)s characters long.")
                % {"limit": MAX_QUESTION_CHARS}
            )
        question.explanation = explanation
        fields.append("explanation")
    if fields:
        question.edited_at = timezone.now()
        fields.append("edited_at")
    if is_suspended is not None:
        question.is_suspended = is_suspended
        fields.append("is_suspended")
    if fields:
        question.save(update_fields=fields)
    return question


def choices_from_rows(texts: list[str], correct: str | None) -> tuple[list[str], int | None]:
    """The edit page's rows as choices and the correct one's index.

    An empty row is dropped, unless it is the one marked correct (then the
    "every choice needs text" check refuses it, rather than dropping the answer).
    """
    choices: list[str] = []
    answer: int | None = None
    for index, text in enumerate(texts):
        marked = correct == str(index)
        if not text.strip() and not marked:
            continue
        if marked:
            answer = len(choices)
        choices.append(text)
    return choices, answer
