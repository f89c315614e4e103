"""Writes on study content: reviews (FSRS), the student's own cards, quiz attempts, reports."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Case, Exists, Max, OuterRef, QuerySet, When
from django.utils import timezone
from django.utils.translation import gettext as _
from fsrs import Card as FsrsCard
from fsrs import Rating, Scheduler
from fsrs import State as FsrsState

from accounts.models import User
from eduplatform.queue import LOW_QUEUE, enqueue_on_commit
from materials.models import (
    CardState,
    ContentReport,
    Flashcard,
    Material,
    PrivateEdit,
    QuizAttempt,
    QuizQuestion,
    ReviewLog,
    StudyProfile,
)
from materials.study.exam import exam_due
from materials.study.fitting import fit_parameters
from materials.study.selectors import reviews_by, study_profile_get
from materials.text.words import normalize

logger = logging.getLogger(__name__)

# FSRS-6 default parameters until a student's own are fitted; fuzzing spreads
# cards made together over neighbouring days.
SCHEDULER = Scheduler()
OPTIMIZE_JOB = "materials.study.jobs.fsrs_optimize"
# Share of content words a card and a cited sentence share to be "the same sentence".
MISTAKE_SAME_SENTENCE = 0.6


def scheduler_for(user: User) -> Scheduler:
    """The student's scheduler: their desired retention, and their own parameters once fitted."""
    profile = study_profile_get(user=user)
    parameters = profile.fsrs_parameters or SCHEDULER.parameters
    if (
        tuple(parameters) == tuple(SCHEDULER.parameters)
        and profile.desired_retention == SCHEDULER.desired_retention
    ):
        return SCHEDULER
    return Scheduler(parameters=parameters, desired_retention=profile.desired_retention)


def _utc(moment: datetime | None) -> datetime | None:
    return moment.astimezone(UTC) if moment is not None else None


def _to_fsrs(card: Flashcard | CardState) -> FsrsCard:
    return FsrsCard(
        card_id=card.card_id if isinstance(card, CardState) else card.pk,
        state=FsrsState(card.state),
        step=card.step,
        stability=card.stability,
        difficulty=card.difficulty,
        due=_utc(card.due),
        last_review=_utc(card.last_review),
    )


def _state_fields(source: Flashcard | CardState) -> dict:
    return {
        "state": source.state,
        "step": source.step,
        "stability": source.stability,
        "difficulty": source.difficulty,
        "due": source.due,
        "last_review": source.last_review,
    }


def card_state_get(*, user: User, card: Flashcard, now: datetime | None = None) -> CardState:
    """The user's own state of a card, made on first use.

    The owner's starts from the card's columns (their schedule so far); a
    course student's starts new, due now, whatever the teacher has done.
    """
    if user.pk == card.owner_id:
        defaults = {**_state_fields(card), "mistake_at": card.mistake_at}
    else:
        defaults = {"due": now or timezone.now()}
    state, _created = CardState.objects.get_or_create(user=user, card=card, defaults=defaults)
    return state


@transaction.atomic
def flashcard_review(
    *,
    card: Flashcard,
    rating: int,
    now: datetime | None = None,
    duration_ms: int | None = None,
    scheduler: Scheduler | None = None,
    user: User | None = None,
) -> Flashcard:
    """Rate a card 1-4 (Again, Hard, Good, Easy); FSRS decides when it is due next.

    The reviewer's own scheduler decides (their retention, their parameters);
    once they have reviewed enough, fitting their parameters is queued. A
    rating within STUDY_REVIEW_REPEAT_SECONDS of the last one is ignored.
    `user` is the reviewer: by default the owner, whose card columns and
    CardState move together; a course student's review moves only their
    CardState, so the shared card and classmates' schedules stay as they are.
    A course with an exam ahead brings the next review into its final window.
    """
    if rating not in (1, 2, 3, 4):
        raise ValidationError({"rating": _("The rating must be 1, 2, 3 or 4.")})
    card = Flashcard.objects.select_for_update().get(pk=card.pk)
    reviewer = user or card.owner
    moment = (now or timezone.now()).astimezone(UTC)
    own = reviewer.pk == card.owner_id
    state = card_state_get(user=reviewer, card=card, now=moment)
    state = CardState.objects.select_for_update().get(pk=state.pk)
    target: Flashcard | CardState = card if own else state
    if _repeated(target, moment):
        return _as_seen(card, state)
    scheduler = scheduler or scheduler_for(reviewer)
    reviewed, _log = scheduler.review_card(
        _to_fsrs(target), Rating(rating), review_datetime=moment, review_duration=duration_ms
    )
    # A course exam ahead caps the interval at its final window (materials/study/exam.py).
    due = exam_due(user=reviewer, card=card, due=reviewed.due, now=moment)
    fields = ["state", "step", "stability", "difficulty", "due", "last_review", "updated_at"]
    for row in (card, state) if own else (state,):
        row.state = int(reviewed.state)
        row.step = reviewed.step
        row.stability = reviewed.stability
        row.difficulty = reviewed.difficulty
        row.due = due
        row.last_review = reviewed.last_review
        row.save(update_fields=fields)
    ReviewLog.objects.create(
        card=card,
        user=reviewer,
        rating=rating,
        reviewed_at=moment,
        review_duration_ms=duration_ms,
        due_after=target.due,
    )
    _optimize_when_due(reviewer)
    return _as_seen(card, state)


def _as_seen(card: Flashcard, state: CardState) -> Flashcard:
    """The shared card as this reviewer sees it: their schedule on it, not saved."""
    for field, value in _state_fields(state).items():
        setattr(card, field, value)
    card.mistake_at = state.mistake_at if state.user_id != card.owner_id else card.mistake_at
    return card


def _repeated(card: Flashcard | CardState, moment: datetime) -> bool:
    """Rated again within seconds: a double click or a replayed request, not a second recall.

    Checked under the card's row lock, so two requests at once count once.
    """
    if card.last_review is None:
        return False
    since = moment - card.last_review
    return timedelta(0) <= since < timedelta(seconds=settings.STUDY_REVIEW_REPEAT_SECONDS)


def _review_count(user: User) -> int:
    return reviews_by(user=user).count()


def _optimize_when_due(user: User) -> None:
    """Queue fitting the student's FSRS parameters at each further STUDY_FSRS_MIN_REVIEWS.

    One fit per student at a time, on the low queue: however fast one
    student reviews, their fits never stand between anyone's upload and a
    worker, and never pile up (a fit reads every review, so the one waiting
    also covers the reviews made meanwhile).
    """
    step = settings.STUDY_FSRS_MIN_REVIEWS
    if step <= 0:
        return
    count = _review_count(user)
    done = study_profile_get(user=user).optimized_reviews
    if count < step or count < done + step:
        return
    enqueue_on_commit(
        OPTIMIZE_JOB,
        user.pk,
        job_id=f"fsrs-optimize-{user.pk}",
        queue=LOW_QUEUE,
        once=True,
        on_unreachable=lambda: None,  # the next review asks again
        job_timeout=600,
        result_ttl=3600,
    )


@transaction.atomic
def study_profile_update(
    *,
    user: User,
    new_cards_per_day: int | None = None,
    desired_retention: float | None = None,
) -> StudyProfile:
    """Change the student's new cards a day (0-1000) or desired retention (0.70-0.97)."""
    profile = study_profile_get(user=user)
    errors = {}
    if new_cards_per_day is not None:
        if not 0 <= new_cards_per_day <= 1000:
            errors["new_cards_per_day"] = _("Choose between 0 and 1000 new cards a day.")
        profile.new_cards_per_day = new_cards_per_day
    if desired_retention is not None:
        if not 0.7 <= desired_retention <= 0.97:
            errors["desired_retention"] = _("Choose a desired retention between 70 and 97 percent.")
        profile.desired_retention = desired_retention
    if errors:
        raise ValidationError(errors)
    profile.save()
    return profile


def fsrs_optimize(*, user: User) -> StudyProfile:
    """Fit FSRS parameters to the student's own reviews (fsrs-rs, materials/study/fitting.py).

    The student keeps what they had when the fit predicts their reviews no
    better (too few of them made on a later day than the one before, for
    one). Parameters the Scheduler would refuse are never stored: every
    later review would fail on them. Reviews of deleted cards are gone with
    them, so only the cards' own logs count.
    """
    reviews = list(reviews_by(user=user).values_list("card_id", "rating", "reviewed_at"))
    profile = study_profile_get(user=user)
    current = profile.fsrs_parameters or list(SCHEDULER.parameters)
    parameters = fit_parameters(
        reviews, current=current, relearning_steps=len(SCHEDULER.relearning_steps)
    )
    if parameters != list(current):
        try:
            Scheduler(parameters=parameters)
        except ValueError:
            logger.warning("FSRS parameters fitted for user %s refused: %s", user.pk, parameters)
        else:
            profile.fsrs_parameters = parameters
            profile.optimized_at = timezone.now()
    profile.optimized_reviews = len(reviews)
    profile.save()
    return profile


def _clean_side(value: str, field: str) -> str:
    value = (value or "").strip()
    if not value:
        raise ValidationError({field: _("This side of the card cannot be empty.")})
    if len(value) > 2000:
        raise ValidationError({field: _("Keep each side under 2000 characters.")})
    return value


def flashcard_create(
    *,
    owner: User,
    material: Material,
    front: str,
    back: str,
    origin: str = Flashcard.Origin.USER,
    source: QuizQuestion | None = None,
) -> Flashcard:
    """A card the student made (by hand, or from a quiz mistake); it survives regeneration."""
    last = material.flashcards.order_by("-position").values_list("position", flat=True).first()
    return Flashcard.objects.create(
        owner=owner,
        material=material,
        front=_clean_side(front, "front"),
        back=_clean_side(back, "back"),
        kind=Flashcard.Kind.QA,
        origin=origin,
        position=(last or 0) + 1,
        page=source.page if source else None,
        page_end=source.page_end if source else None,
        start_seconds=source.start_seconds if source else None,
        passage=source.passage if source else "",
        due=timezone.now(),
    )


def flashcard_update(
    *,
    card: Flashcard,
    front: str | None = None,
    back: str | None = None,
    is_suspended: bool | None = None,
) -> Flashcard:
    """Edit or (un)suspend a card; an edited generated card becomes the student's own.

    Its wording is theirs from then on, so regenerating the material keeps it.
    """
    fields = ["updated_at"]
    if front is not None and front.strip() != card.front:
        card.front = _clean_side(front, "front")
        fields.append("front")
    if back is not None and back.strip() != card.back:
        card.back = _clean_side(back, "back")
        fields.append("back")
    if ("front" in fields or "back" in fields) and card.origin == Flashcard.Origin.GENERATED:
        card.origin = Flashcard.Origin.USER
        fields.append("origin")
    if is_suspended is not None:
        card.is_suspended = is_suspended
        fields.append("is_suspended")
    card.save(update_fields=fields)
    return card


def _private_side(value: str | None, field: str) -> str:
    """A private side, or empty for "the teacher's text"; over-long is refused like a card's."""
    value = (value or "").strip()
    return _clean_side(value, field) if value else ""


def private_edit_save(
    *,
    user: User,
    card: Flashcard,
    is_hidden: bool | None = None,
    front: str | None = None,
    back: str | None = None,
) -> PrivateEdit | None:
    """Hide a shared card for this student, or keep their own wording of it.

    Only what is given changes; an empty side goes back to the teacher's text.
    The card row and the student's schedule stay as they are. An edit that
    neither hides nor rewords is deleted (None): nothing private is left.
    """
    if user.pk == card.owner_id:
        raise ValidationError(_("This is your own card: edit it instead."))
    edit = PrivateEdit.objects.filter(user=user, card=card).first() or PrivateEdit(
        user=user, card=card
    )
    if is_hidden is not None:
        edit.is_hidden = is_hidden
    if front is not None:
        edit.front = _private_side(front, "front")
    if back is not None:
        edit.back = _private_side(back, "back")
    if not (edit.is_hidden or edit.front or edit.back):
        if edit.pk:
            edit.delete()
        return None
    edit.save()
    return edit


def private_edit_delete(*, user: User, card: Flashcard) -> None:
    """Back to the teacher's card: shown, in the teacher's words, the schedule kept."""
    PrivateEdit.objects.filter(user=user, card=card).delete()


def flashcard_delete(*, card: Flashcard) -> None:
    card.delete()


def flashcard_from_question(*, owner: User, question: QuizQuestion) -> Flashcard:
    """Turn a quiz question (usually a missed one) into a card; twice gives the same card."""
    front = question.question
    back = question.answer
    existing = Flashcard.objects.filter(
        owner=owner, material_id=question.material_id, front=front, back=back
    ).first()
    if existing is not None:
        return existing
    return flashcard_create(
        owner=owner,
        material=question.material,
        front=front,
        back=back,
        origin=Flashcard.Origin.QUIZ,
        source=question,
    )


def _tomorrow(now: datetime) -> datetime:
    """The start of tomorrow in the site's time zone."""
    local = timezone.localtime(now)
    return (local + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)


def flashcard_mistake(
    *, card: Flashcard, now: datetime | None = None, user: User | None = None
) -> Flashcard:
    """Bring the card back in tomorrow's reviews, tagged "from your mistakes".

    A card due sooner keeps its date. It comes as a review, not as one of the
    day's new cards, so a day whose new places are used still shows it.
    `user` is who made the mistake (by default the card's owner): on a
    course's shared card only their own CardState moves, so neither the
    teacher nor a classmate sees it.
    """
    now = now or timezone.now()
    if user is not None and user.pk != card.owner_id:
        state = card_state_get(user=user, card=card, now=now)
        state.mistake_at = now
        state.due = min(state.due, _tomorrow(now)) if state.last_review else _tomorrow(now)
        state.save(update_fields=["mistake_at", "due", "updated_at"])
        return _as_seen(card, state)
    card.mistake_at = now
    card.due = min(card.due, _tomorrow(now)) if card.last_review else _tomorrow(now)
    card.save(update_fields=["mistake_at", "due", "updated_at"])
    return card


def _cards_of(user: User, material: Material) -> QuerySet[Flashcard]:
    """The material's cards this user studies: the material owner's and the user's own.

    A classmate's private cards on a shared material (from their mistakes)
    are never found, so one student's mistake never touches another's card.
    A suspended card, or one the user hid for themselves, is not brought back:
    the mistake makes the student's own card instead.
    """
    hidden_by_user = PrivateEdit.objects.filter(user=user, card=OuterRef("pk"), is_hidden=True)
    return material.flashcards.filter(
        owner__in=[user.pk, material.owner_id], is_hidden=False, is_suspended=False
    ).exclude(Exists(hidden_by_user))


def _card_for_sentence(
    *, user: User, material: Material, sentence: str, page: int | None
) -> Flashcard | None:
    """The material's card drawn from this sentence (its cloze filled in, or its back), if any."""
    from materials.study.checks import similarity
    from materials.study.offline import BLANK

    wanted = normalize(sentence)
    best, best_score = None, 0.0
    cards = _cards_of(user, material)
    if page is not None:
        cards = cards.filter(page=page)
    for card in cards:
        text = card.front.replace(BLANK, card.back) if BLANK in card.front else card.back
        norm = normalize(text)
        score = 1.0 if norm and (norm in wanted or wanted in norm) else similarity(text, sentence)
        if score > best_score:
            best, best_score = card, score
    return best if best_score >= MISTAKE_SAME_SENTENCE else None


@transaction.atomic
def mistake_from_question(
    *, owner: User, question: QuizQuestion, now: datetime | None = None
) -> Flashcard:
    """A wrong answer brings the question's card back tomorrow (made from it if none).

    On a course's shared material the teacher's card comes back on the
    student's own schedule; with none, the card made is the student's alone.
    """
    card = (
        _cards_of(owner, question.material)
        .filter(passage=question.passage, page=question.page, back__iexact=question.answer)
        .order_by(Case(When(owner=question.material.owner_id, then=0), default=1), "pk")
        .first()
    )
    if card is None:
        card = flashcard_from_question(owner=owner, question=question)
    return flashcard_mistake(card=card, now=now, user=owner)


@transaction.atomic
def mistake_from_citation(
    *,
    owner: User,
    material: Material,
    quote: str,
    page: int | None,
    start_seconds: float | None,
    passage: str,
    question: str,
    now: datetime | None = None,
) -> Flashcard:
    """A tutor answer not understood brings back the card of its cited sentence.

    When no card comes from that sentence, one is made: the student's own
    question on the front, the cited sentence on the back, at its page.
    """
    card = _card_for_sentence(user=owner, material=material, sentence=quote, page=page)
    if card is None:
        front = (question or "").strip()[:2000] or quote[:2000]
        card = Flashcard.objects.filter(
            owner=owner, material=material, front=front, back=quote[:2000]
        ).first() or Flashcard.objects.create(
            owner=owner,
            material=material,
            front=front,
            back=quote[:2000],
            kind=Flashcard.Kind.QA,
            origin=Flashcard.Origin.TUTOR,
            position=(material.flashcards.aggregate(last=Max("position"))["last"] or 0) + 1,
            page=page,
            start_seconds=start_seconds,
            passage=passage,
            due=timezone.now(),
        )
    return flashcard_mistake(card=card, now=now, user=owner)


@transaction.atomic
def quiz_attempt_create(
    *, owner: User, material: Material, questions: list[QuizQuestion], answers: dict
) -> QuizAttempt:
    """Score answers ({question id: choice index}); unanswered questions count as wrong.

    The results keep each question's text, choices and explanation, so an
    attempt still reads right after the quiz is regenerated. Each wrong
    answer brings its card back in tomorrow's reviews ("card" in its result).
    """
    results = []
    score = 0
    for question in questions:
        raw = answers.get(str(question.pk), answers.get(question.pk))
        try:
            chosen = int(raw) if raw is not None and raw != "" else None
        except (TypeError, ValueError):
            chosen = None
        if chosen is not None and not 0 <= chosen < len(question.choices):
            chosen = None
        correct = chosen == question.answer_index
        score += correct
        # A wrong answer (not a skipped question) brings its card back tomorrow;
        # a course student's, on their own schedule or their own card.
        card = (
            mistake_from_question(owner=owner, question=question)
            if chosen is not None and not correct
            else None
        )
        results.append(
            {
                "card": card.pk if card else None,
                "question": question.pk,
                "text": question.question,
                "choices": question.choices,
                "chosen": chosen,
                "answer_index": question.answer_index,
                "correct": correct,
                "explanation": question.explanation,
                "source": {"page": question.page, "start_seconds": question.start_seconds},
            }
        )
    return QuizAttempt.objects.create(
        owner=owner, material=material, score=score, total=len(questions), results=results
    )


def content_report_create(
    *,
    reporter: User,
    reason: str,
    flashcard: Flashcard | None = None,
    question: QuizQuestion | None = None,
    material: Material | None = None,
) -> ContentReport:
    reason = (reason or "").strip()[:2000] or _("No reason given.")
    return ContentReport.objects.create(
        reporter=reporter, flashcard=flashcard, question=question, material=material, reason=reason
    )
