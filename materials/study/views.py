"""HTMX pages for study content: notes, flashcards, review, quiz, exports.

Every object is looked up through a selector that takes request.user, so
another student's material, card, question or attempt is a 404.
"""

from __future__ import annotations

from csp.decorators import csp_update
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from accounts.types import AuthenticatedHttpRequest
from eduplatform import quota
from eduplatform.ownership import owned, readable
from eduplatform.throttling import RateLimited, throttle, user_rate_limited
from materials.errors import AlreadyRunning
from materials.forms import StudySettingsForm
from materials.links import MAX_QUOTE_CHARS, file_url, source_label, source_url
from materials.models import Flashcard, Material, QuizQuestion
from materials.selectors import material_list, material_list_visible, quote_on_page
from materials.study import selectors, services
from materials.study.apis import REVIEW_THROTTLES, export_response
from materials.study.generation import generation_error_message, study_regenerate
from materials.study.offline import item_quote
from materials.study.questions import MAX_CHOICES, choices_from_rows, question_update


# Set on rows for their template (`.anchor`): no column of them, hence the
# attr-defined ignores where it is set.
def _anchor(
    material: Material, page: int | None, start_seconds: float | None, quote: str = ""
) -> dict:
    return {
        "url": source_url(material, page=page, start_seconds=start_seconds, quote=quote),
        "label": source_label(page=page, start_seconds=start_seconds, kind=material.kind),
    }


def _study_context(request: AuthenticatedHttpRequest, material: Material) -> dict:
    # `material` is already in the user's scope; a course student reads the
    # teacher's study set, with no owner actions shown (`shared`).
    study_set = selectors.study_set_get(owner=material.owner, material=material)
    return {
        "material": material,
        "shared": material.owner_id != request.user.pk,
        "study_set": study_set,
        "study_error": generation_error_message(study_set.error_code) if study_set else "",
    }


def _back(request: AuthenticatedHttpRequest, default: str) -> HttpResponse:
    url = request.POST.get("next") or default
    # Django's own test, not a prefix check: browsers read `/\evil.com` as
    # `//evil.com`, another site.
    if not url.startswith("/") or not url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        url = default
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


def _material_id(value: str | None) -> int | None:
    """A material id from a form, or None for a missing or malformed one."""
    try:
        return int(value) if value else None
    except ValueError:
        return None


# --- summary and notes -------------------------------------------------------------


@login_required
@require_GET
def study_notes_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    # A course student reads the teacher's notes; only the owner may change them.
    material = readable(material_list_visible, request.user, pk)
    sections = [
        {
            "heading": section.heading,
            "anchor": _anchor(material, section.page, section.start_seconds),
            "points": [
                {
                    "text": p["text"],
                    **_anchor(material, p.get("page"), p.get("start_seconds"), p["text"]),
                }
                for p in section.points
            ],
        }
        for section in selectors.note_section_list(owner=material.owner, material=material)
    ]
    context = {**_study_context(request, material), "sections": sections}
    return render(request, "materials/study/notes.html", context)


@login_required
@require_POST
def study_retry_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    material = owned(material_list, request.user, pk)
    if material.status == Material.Status.READY:
        try:
            study_regenerate(material=material)
        except (quota.QuotaExceeded, AlreadyRunning) as exc:
            messages.error(request, exc.message)
        else:
            messages.info(request, _("Study content is being made again."))
    return _back(request, reverse("materials:detail", args=[material.pk]))


# --- reader -------------------------------------------------------------------------

# The only third-party frame: YouTube's privacy-enhanced player, on the reader alone.
YOUTUBE_EMBED = "https://www.youtube-nocookie.com"


def _number(value: str | None) -> int | None:
    try:
        return max(0, int(value)) if value else None
    except ValueError:
        return None


@login_required
@require_GET
# django-csp types its decorators for views that take the request alone.
@csp_update({"frame-src": [YOUTUBE_EMBED]})  # type: ignore[arg-type]
def reader_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """The source at the cited place: a PDF page with the quoted sentence highlighted
    (pdf.js, served from static/), or a YouTube lecture's player at the second.

    `?page=N&q=<quote>` for a PDF, `?t=<seconds>` for a video. Slides and
    handouts have no reader: their text view is the place. A course's
    students read its shared materials here too.
    """
    material = readable(material_list_visible, request.user, pk)
    if material.is_office:
        return redirect(
            source_url(material, page=_number(request.GET.get("page")), start_seconds=None)
        )
    page = _number(request.GET.get("page")) or 1
    if material.page_count:
        page = min(page, material.page_count)
    seconds = _number(request.GET.get("t"))
    quote = quote_on_page(
        owner=request.user,
        material=material,
        quote=(request.GET.get("q") or "")[:MAX_QUOTE_CHARS],
        page=page,
        second=seconds or 0,
    )
    context = {
        "material": material,
        "page": page,
        "seconds": seconds or 0,
        "quote": quote,
        "embed_url": f"{YOUTUBE_EMBED}/embed/{material.video_id}?start={seconds or 0}&rel=0"
        if material.kind == Material.Kind.YOUTUBE
        else "",
        "file_url": file_url(material, page=page, start_seconds=seconds),
    }
    return render(request, "materials/study/reader.html", context)


# --- flashcards ---------------------------------------------------------------------


@login_required
@require_GET
def flashcard_list_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    # A course student sees the teacher's cards and their own on it, each on
    # the student's own schedule, with owner actions on their own cards only.
    material = readable(material_list_visible, request.user, pk)
    cards = selectors.flashcard_list_mine(user=request.user, material=material)
    page = Paginator(cards, 50).get_page(request.GET.get("page"))
    page.object_list = selectors.as_seen(page.object_list)
    for card in page.object_list:
        card.anchor = _anchor(  # type: ignore[attr-defined]
            material, card.page, card.start_seconds, item_quote(card.front, card.back)
        )
    due = selectors.due_today(owner=request.user, material=material).total
    context = {**_study_context(request, material), "page_obj": page, "due_count": due}
    return render(request, "materials/study/flashcards.html", context)


@login_required
@require_POST
def flashcard_create_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    material = owned(material_list, request.user, pk)
    try:
        services.flashcard_create(
            owner=request.user,
            material=material,
            front=request.POST.get("front", ""),
            back=request.POST.get("back", ""),
        )
        messages.success(request, _("Card added."))
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    return _back(request, reverse("materials:flashcards", args=[material.pk]))


@login_required
@require_http_methods(["GET", "POST"])
def flashcard_edit_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    card = owned(selectors.flashcard_list, request.user, pk)
    errors: list[str] = []
    if request.method == "POST":
        try:
            services.flashcard_update(
                card=card, front=request.POST.get("front", ""), back=request.POST.get("back", "")
            )
            messages.success(request, _("Card saved."))
            return redirect("materials:flashcards", card.material_id)
        except ValidationError as exc:
            errors = exc.messages
    return render(
        request,
        "materials/study/flashcard_edit.html",
        {"card": card, "material": card.material, "errors": errors},
        status=400 if errors else 200,
    )


@login_required
@require_POST
def flashcard_suspend_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    card = owned(selectors.flashcard_list, request.user, pk)
    services.flashcard_update(card=card, is_suspended=not card.is_suspended)
    return _back(request, reverse("materials:flashcards", args=[card.material_id]))


@login_required
@require_POST
def flashcard_delete_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    card = owned(selectors.flashcard_list, request.user, pk)
    material_id = card.material_id
    services.flashcard_delete(card=card)
    messages.success(request, _("Card deleted."))
    return _back(request, reverse("materials:flashcards", args=[material_id]))


def _report(request: AuthenticatedHttpRequest, target: Flashcard | QuizQuestion) -> HttpResponse:
    """A card's or a question's report, from its owner or a course student alike.

    On a course's shared material it goes to the course's teachers (their
    reports page) as well as to the moderators.
    """
    card = target if isinstance(target, Flashcard) else None
    services.content_report_create(
        reporter=request.user,
        flashcard=card,
        question=target if isinstance(target, QuizQuestion) else None,
        reason=request.POST.get("reason", ""),
    )
    if target.material.owner_id != request.user.pk:
        messages.success(request, _("Thank you. Your course's teachers will look at this."))
    elif card is not None:
        messages.success(request, _("Thank you. A moderator will look at this card."))
    else:
        messages.success(request, _("Thank you. A moderator will look at this question."))
    page = "materials:flashcards" if card is not None else "materials:quiz"
    return _back(request, reverse(page, args=[target.material_id]))


@login_required
@require_POST
def flashcard_report_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    # A course student may report the shared card they study, like a quiz question.
    return _report(request, readable(selectors.flashcard_list_visible, request.user, pk))


@login_required
@require_POST
def flashcard_private_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """A student's private edit of a shared card: hide or show it, or keep their own wording.

    `hidden` toggles hiding (1 or 0); `front`/`back`, when sent, set the
    private wording (empty: the teacher's); `reset` drops the whole edit.
    """
    card = readable(selectors.flashcard_list_shared, request.user, pk)
    try:
        if request.POST.get("reset"):
            services.private_edit_delete(user=request.user, card=card)
        else:
            hidden = request.POST.get("hidden")
            services.private_edit_save(
                user=request.user,
                card=card,
                is_hidden=None if hidden is None else hidden == "1",
                front=request.POST.get("front"),
                back=request.POST.get("back"),
            )
        messages.success(request, _("Saved for you only."))
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    return _back(request, reverse("materials:flashcards", args=[card.material_id]))


# --- review -----------------------------------------------------------------------------


def _review_context(request: AuthenticatedHttpRequest) -> dict:
    material = None
    if request.GET.get("material"):
        # A course's shared material too; one of a course the user is not in is a 404.
        material = readable(material_list_visible, request.user, request.GET["material"])
    due = selectors.flashcard_due_list(owner=request.user, material=material)
    card = due.first()
    if card is not None:
        selectors.as_seen([card])  # the student's own schedule on a shared card
        card.anchor = _anchor(  # type: ignore[attr-defined]
            card.material, card.page, card.start_seconds, item_quote(card.front, card.back)
        )
    return {"card": card, "due_count": due.count(), "material": material}


@login_required
@require_GET
def review_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Due today: one card at a time, across all materials or one."""
    template = "materials/study/review.html"
    if request.htmx and request.htmx.target == "review-card":
        template += "#review-card"
    return render(request, template, _review_context(request))


@login_required
@require_POST
def flashcard_review_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    card = readable(selectors.flashcard_list_visible, request.user, pk)
    error = ""
    try:
        throttle(request, REVIEW_THROTTLES)
        rating = int(request.POST.get("rating", ""))
        services.flashcard_review(card=card, rating=rating, user=request.user)
    except RateLimited as exc:
        error = exc.message
    except (ValueError, ValidationError):
        error = _("Choose Again, Hard, Good or Easy.")
    url = reverse("materials:review")
    material_id = _material_id(request.POST.get("material"))
    if material_id is not None:
        url += f"?material={material_id}"
    if request.htmx:
        # The next card (or this one, not rated, with the reason) replaces this one in place.
        query = request.GET.copy()
        if material_id is not None:
            query["material"] = str(material_id)
        # Django lets a view swap in a mutable copy; the stubs type GET as immutable.
        request.GET = query  # type: ignore[assignment]
        context = {**_review_context(request), "review_error": error}
        return render(request, "materials/study/review.html#review-card", context)
    if error:
        messages.error(request, error)
    return redirect(url)


@login_required
@require_http_methods(["GET", "POST"])
def study_settings_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    """New cards a day, desired retention, and how the schedule is fitted to the student."""
    profile = selectors.study_profile_get(user=request.user)
    initial = {
        "new_cards_per_day": profile.new_cards_per_day,
        "desired_retention": round(profile.desired_retention * 100),
    }
    form = StudySettingsForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.study_profile_update(
                user=request.user,
                new_cards_per_day=form.cleaned_data["new_cards_per_day"],
                desired_retention=form.cleaned_data["desired_retention"] / 100,
            )
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
        else:
            messages.success(request, _("Study settings saved."))
            return redirect("home")
    return render(
        request,
        "materials/study/settings.html",
        {"form": form, "profile": profile, "due": selectors.due_today(owner=request.user)},
        status=400 if form.errors else 200,
    )


# --- quiz ---------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def quiz_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    material = readable(material_list_visible, request.user, pk)
    # The teacher's questions on a shared material; the attempt is the student's own.
    questions = list(selectors.quiz_question_list(owner=material.owner, material=material))
    if request.method == "POST" and questions:
        answers = {str(q.pk): request.POST.get(f"q{q.pk}") for q in questions}
        attempt = services.quiz_attempt_create(
            owner=request.user, material=material, questions=questions, answers=answers
        )
        url = reverse("materials:attempt", args=[attempt.pk])
        return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
    for question in questions:
        question.anchor = _anchor(  # type: ignore[attr-defined]
            material,
            question.page,
            question.start_seconds,
            item_quote(question.question, question.answer),
        )
    attempts = selectors.quiz_attempt_list(owner=request.user, material=material)[:10]
    can_edit = material.owner_id == request.user.pk
    hidden = (
        selectors.quiz_question_list_editable(owner=request.user, material=material).filter(
            is_suspended=True
        )
        if can_edit
        else []
    )
    context = {
        **_study_context(request, material),
        "questions": questions,
        "attempts": attempts,
        "can_edit": can_edit,
        "hidden_questions": hidden,
    }
    return render(request, "materials/study/quiz.html", context)


@login_required
@require_GET
def attempt_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    attempt = owned(selectors.quiz_attempt_list, request.user, pk)
    material = attempt.material
    # On a course's material, a question still in its owner's quiz makes the student's own card.
    live = set(
        selectors.quiz_question_list(owner=material.owner, material=material).values_list(
            "pk", flat=True
        )
    )
    results = []
    for result in attempt.results:
        source = result.get("source") or {}
        results.append(
            {
                **result,
                "chosen_text": result["choices"][result["chosen"]]
                if result.get("chosen") is not None
                else "",
                "answer_text": result["choices"][result["answer_index"]],
                "can_make_card": result["question"] in live,
                **_anchor(
                    material,
                    source.get("page"),
                    source.get("start_seconds"),
                    item_quote(result["text"], result["choices"][result["answer_index"]]),
                ),
            }
        )
    return render(
        request,
        "materials/study/attempt.html",
        {"attempt": attempt, "material": material, "results": results},
    )


@login_required
@require_POST
def question_flashcard_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    question = readable(selectors.quiz_question_list_visible, request.user, pk)
    services.flashcard_from_question(owner=request.user, question=question)
    if request.htmx:
        return HttpResponse(f'<span class="badge ready">{_("Added to your cards")}</span>')
    messages.success(request, _("Added to your cards."))
    return _back(request, reverse("materials:flashcards", args=[question.material_id]))


@login_required
@require_POST
def question_report_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    # A course student may report the shared quiz's question to its teachers too.
    question = readable(selectors.quiz_question_list_visible, request.user, pk)
    return _report(request, question)


@login_required
@require_http_methods(["GET", "POST"])
def question_edit_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """The owner's editor of one quiz question (from the quiz page or a course's reports)."""
    question = owned(selectors.quiz_question_list_editable, request.user, pk)
    default = reverse("materials:quiz", args=[question.material_id])
    errors: list[str] = []
    text, explanation = question.question, question.explanation
    choices = [str(choice) for choice in question.choices]
    answer: int | None = question.answer_index
    if request.method == "POST":
        text = request.POST.get("question", "")
        explanation = request.POST.get("explanation", "")
        rows = [request.POST.get(f"choice-{i}", "") for i in range(MAX_CHOICES)]
        choices, answer = choices_from_rows(rows, request.POST.get("correct"))
        try:
            question_update(
                question=question,
                text=text,
                choices=choices,
                answer_index=answer,
                explanation=explanation,
            )
            messages.success(request, _("Question saved."))
            return _back(request, default)
        except ValidationError as exc:
            errors = exc.messages
    # Room for two more choices, up to the limit.
    rows = (choices + ["", ""])[: max(MAX_CHOICES, len(choices))]
    context = {
        "question": question,
        "material": question.material,
        "errors": errors,
        "text": text,
        "choices": rows,
        "answer_index": answer,
        "explanation": explanation,
        "next": request.GET.get("next") or request.POST.get("next") or "",
    }
    return render(
        request,
        "materials/study/question_edit.html",
        context,
        status=400 if errors else 200,
    )


@login_required
@require_POST
def question_hide_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """Hide a question from every student's quiz and the exports, or show it again."""
    question = owned(selectors.quiz_question_list_editable, request.user, pk)
    question_update(question=question, is_suspended=not question.is_suspended)
    if question.is_suspended:
        messages.success(request, _("The question is hidden from the quiz."))
    else:
        messages.success(request, _("The question is back in the quiz."))
    return _back(request, reverse("materials:quiz", args=[question.material_id]))


# --- exports --------------------------------------------------------------------------------


@login_required
@require_GET
@user_rate_limited(quota.EXPORT)
def export_view(request: AuthenticatedHttpRequest, pk: int, fmt: str) -> HttpResponse:
    # A course student downloads the shared cards as they study them (export_response).
    return export_response(request, readable(material_list_visible, request.user, pk), fmt)
