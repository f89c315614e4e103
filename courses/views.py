"""Course pages. Thin: each reads a form, calls one service, and goes back to the course.

Every course object is looked up through a selector that takes request.user
(courses.selectors): a course the user is not a current member of, and any
owner or teacher action asked by someone else, is a 404.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.forms import Form
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from accounts.models import User
from accounts.types import AuthenticatedHttpRequest
from courses import selectors, services
from courses.exports import anki_response, export_response
from courses.forms import AddMaterialForm, CourseForm, InviteForm, JoinForm, UnitForm
from courses.models import Course, Membership
from courses.progress import ON_TIME_SHARE, RETENTION_DAYS, course_progress, progress_csv
from eduplatform.ownership import readable
from materials.links import source_url
from materials.models import Material


def _go(request: AuthenticatedHttpRequest, url: str) -> HttpResponse:
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


def _to_course(request: AuthenticatedHttpRequest, course_id: int) -> HttpResponse:
    return _go(request, reverse("courses:detail", args=[course_id]))


def _errors(request: AuthenticatedHttpRequest, exc: ValidationError) -> None:
    for message in exc.messages:
        messages.error(request, message)


def _form_errors(request: AuthenticatedHttpRequest, form: object) -> None:
    for errors in form.errors.values():  # type: ignore[attr-defined]
        for message in errors:
            messages.error(request, message)


def _apply(
    request: AuthenticatedHttpRequest, form: Form, action: Callable[[dict[str, Any]], object]
) -> None:
    """Run a teacher's form on its cleaned data; what is wrong with the form, or
    what the service refuses, shows as a message on the course page."""
    if not form.is_valid():
        _form_errors(request, form)
        return
    try:
        action(form.cleaned_data)
    except ValidationError as exc:
        _errors(request, exc)


def _managed(request: AuthenticatedHttpRequest, pk: int) -> Course:
    return readable(selectors.course_list_managed, request.user, pk)


@login_required
@require_GET
def course_list_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    courses = selectors.course_list(user=request.user)
    context = {
        "courses": courses,
        "course_form": CourseForm(),
        "join_form": JoinForm(),
    }
    return render(request, "courses/list.html", context)


@login_required
@require_POST
def course_create_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = CourseForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return _go(request, reverse("courses:list"))
    try:
        course = services.course_create(owner=request.user, **form.cleaned_data)
    except ValidationError as exc:
        _errors(request, exc)
        return _go(request, reverse("courses:list"))
    return _to_course(request, course.pk)


def _join(request: AuthenticatedHttpRequest, code: str) -> HttpResponse:
    try:
        membership = services.course_join(user=request.user, code=code)
    except ValidationError as exc:
        _errors(request, exc)
        return _go(request, reverse("courses:list"))
    messages.success(request, _("You joined %(course)s.") % {"course": membership.course.title})
    return _to_course(request, membership.course_id)


@login_required
@require_POST
def course_join_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Join by a code typed in."""
    form = JoinForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return _go(request, reverse("courses:list"))
    return _join(request, form.cleaned_data["code"])


@login_required
@require_http_methods(["GET", "POST"])
def course_join_link_view(request: AuthenticatedHttpRequest, code: str) -> HttpResponse:
    """An invite link: GET asks to confirm (a link preview must not join), POST joins."""
    if request.method == "POST":
        return _join(request, code)
    error, invite = "", None
    try:
        invite = services.invite_check(code=code)
    except ValidationError as exc:
        error = " ".join(exc.messages)
    status = 200 if invite else 404
    return render(
        request,
        "courses/join.html",
        {"invite": invite, "error": error, "code": code},
        status=status,
    )


@login_required
@require_GET
def course_detail_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    course = readable(selectors.course_list, request.user, pk)
    role = selectors.role_of(user=request.user, course=course)
    manager = role in selectors.MANAGERS
    units = list(selectors.unit_list(course=course))
    for unit in units:
        for entry in unit.entries.all():
            entry.open_url = source_url(  # type: ignore[attr-defined]
                entry.material, page=None, start_seconds=None
            )
    context: dict = {
        "course": course,
        "role": role,
        "is_manager": manager,
        "units": units,
    }
    if manager:
        invites = course.invites.filter(revoked=False).order_by("-created_at")
        now = timezone.now()
        context.update(
            {
                "course_form": CourseForm(
                    initial={"title": course.title, "exam_date": course.exam_date}
                ),
                "unit_form": UnitForm(),
                # The unit just added is where the next material most often goes.
                "material_form": AddMaterialForm(
                    initial={"unit": units[-1].pk if units else None},
                    units=course.units.all(),
                    materials=selectors.addable_materials(user=request.user),
                ),
                "invite_form": InviteForm(),
                "invites": [
                    {
                        "invite": invite,
                        "expired": invite.expires_at is not None and invite.expires_at <= now,
                        "link": request.build_absolute_uri(
                            reverse("courses:join-link", args=[invite.code])
                        ),
                    }
                    for invite in invites
                ],
                "members": course.memberships.select_related("user").order_by(
                    "removed_at", "role", "created_at"
                ),
            }
        )
    return render(request, "courses/detail.html", context)


@login_required
@require_POST
def course_edit_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    course = _managed(request, pk)
    _apply(
        request,
        CourseForm(request.POST),
        lambda data: services.course_update(course=course, **data),
    )
    return _to_course(request, course.pk)


@login_required
@require_POST
def course_leave_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    course = readable(selectors.course_list, request.user, pk)
    try:
        services.course_leave(user=request.user, course=course)
    except ValidationError as exc:
        _errors(request, exc)
        return _to_course(request, course.pk)
    messages.success(request, _("You left %(course)s.") % {"course": course.title})
    return _go(request, reverse("courses:list"))


@login_required
@require_POST
def unit_create_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    course = _managed(request, pk)
    _apply(
        request, UnitForm(request.POST), lambda data: services.unit_create(course=course, **data)
    )
    return _to_course(request, course.pk)


@login_required
@require_POST
def unit_delete_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    unit = readable(selectors.unit_list_managed, request.user, pk)
    services.unit_delete(unit=unit)
    return _to_course(request, unit.course_id)


@login_required
@require_POST
def entry_add_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    course = _managed(request, pk)
    form = AddMaterialForm(
        request.POST,
        units=course.units.all(),
        materials=selectors.addable_materials(user=request.user),
    )
    _apply(
        request,
        form,
        lambda data: services.course_material_add(
            unit=data["unit"], material=data["material"], by=request.user
        ),
    )
    return _to_course(request, course.pk)


@login_required
@require_POST
def entry_remove_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    entry = readable(selectors.entry_list_managed, request.user, pk)
    course_id = entry.unit.course_id
    services.course_material_remove(entry=entry)
    return _to_course(request, course_id)


@login_required
@require_POST
def invite_create_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    course = _managed(request, pk)

    def create(data: dict[str, Any]) -> object:
        days = data["expires_in_days"]
        expires_at = timezone.now() + timedelta(days=days) if days else None
        return services.invite_create(course=course, by=request.user, expires_at=expires_at)

    _apply(request, InviteForm(request.POST), create)
    return _to_course(request, course.pk)


@login_required
@require_POST
def invite_revoke_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    invite = readable(selectors.invite_list_managed, request.user, pk)
    services.invite_revoke(invite=invite)
    messages.success(request, _("The invite no longer works."))
    return _to_course(request, invite.course_id)


@login_required
@require_POST
def member_remove_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    membership: Membership = readable(selectors.member_list, request.user, pk)
    try:
        services.member_remove(membership=membership, by=request.user)
    except ValidationError as exc:
        _errors(request, exc)
    else:
        messages.success(
            request,
            _("%(email)s was removed from the course.") % {"email": membership.user.email},
        )
    return _to_course(request, membership.course_id)


@login_required
@require_GET
def course_export_view(request: AuthenticatedHttpRequest, pk: int, fmt: str) -> HttpResponse:
    """The quiz for the school's Moodle: owner and teachers only (it holds the answers)."""
    return export_response(_managed(request, pk), fmt, request.build_absolute_uri("/"))


@login_required
@require_GET
def course_progress_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """The course's progress by unit: owner and teachers only, everyone else 404."""
    progress = course_progress(course=_managed(request, pk))
    context = {
        "course": progress.course,
        "progress": progress,
        "retention_days": RETENTION_DAYS,
        "on_time_percent": round(ON_TIME_SHARE * 100),
    }
    return render(request, "courses/progress.html", context)


@login_required
@require_GET
def course_progress_csv_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """The same figures per unit and student, as a spreadsheet."""
    course = _managed(request, pk)
    response = HttpResponse(
        progress_csv(course_progress(course=course)), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="course-{course.pk}-progress.csv"'
    return response


@login_required
@require_GET
def course_anki_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """The course's cards for Anki, a sub-deck per unit: for every member (anyone else: 404)."""
    course = readable(selectors.course_list, request.user, pk)
    return anki_response(course, request.build_absolute_uri("/"))


def _report_rows(user: User, course: Course) -> list[dict]:
    """Each report with the material it is about; the fixes of a card or a question are
    its owner's to make (`mine`), as everywhere else."""
    rows = []
    for report in selectors.report_list_managed(user=user, course=course):
        material: Material | None
        if report.flashcard is not None:
            material = report.flashcard.material
        elif report.question is not None:
            material = report.question.material
        else:
            material = report.material
        target = report.flashcard or report.question
        mine = target is not None and target.owner_id == user.pk
        rows.append({"report": report, "material": material, "mine": mine})
    return rows


@login_required
@require_GET
def course_reports_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """Students' reports on the course's shared materials, cards and questions: teachers only."""
    course = _managed(request, pk)
    context = {"course": course, "rows": _report_rows(request.user, course)}
    return render(request, "courses/reports.html", context)


@login_required
@require_POST
def report_resolve_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    report = readable(selectors.report_list_managed, request.user, pk)
    services.report_resolve(report=report)
    messages.success(request, _("Report marked resolved."))
    course_id = request.POST.get("course", "")
    if course_id.isdigit():
        return _go(request, reverse("courses:reports", args=[int(course_id)]))
    return _go(request, reverse("courses:list"))
