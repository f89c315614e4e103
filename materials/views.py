"""HTMX pages for materials: one view serves the page and its fragments."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import IO

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.paginator import Paginator
from django.forms import Form
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect, HttpResponseClientRefresh

from accounts.types import AuthenticatedHttpRequest
from eduplatform.body_limit import body_limit
from eduplatform.ownership import owned, readable
from eduplatform.quota import QuotaExceeded
from materials.dashboard import dashboard_get
from materials.errors import AlreadyRunning
from materials.forms import PdfUploadForm, YoutubeForm
from materials.links import place_label
from materials.models import Material
from materials.selectors import material_list, material_list_visible, material_text_parts
from materials.services import (
    material_attach_subtitles,
    material_create_file,
    material_create_youtube,
    material_delete,
    material_reprocess,
)

OFFICE_CONTENT_TYPES = {
    Material.Kind.PPTX: "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    Material.Kind.DOCX: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}


@require_GET
def home_view(request: HttpRequest) -> HttpResponse:
    """The landing page for visitors; the study dashboard for a signed-in student."""
    if request.user.is_authenticated:
        return render(request, "dashboard.html", {"dashboard": dashboard_get(owner=request.user)})
    return render(request, "home.html")


def _list_context(request: AuthenticatedHttpRequest, **forms: Form) -> dict:
    page = Paginator(material_list(owner=request.user), 20).get_page(request.GET.get("page"))
    return {
        "page_obj": page,
        "materials": page.object_list,
        "any_in_flight": any(m.is_in_flight for m in page.object_list),
        "pdf_form": forms.get("pdf_form") or PdfUploadForm(),
        "youtube_form": forms.get("youtube_form") or YoutubeForm(),
        "max_upload_bytes": settings.MAX_UPLOAD_MB * 1024 * 1024,
        "too_large_message": _("The file is too large (limit: %(limit)d MB).")
        % {"limit": settings.MAX_UPLOAD_MB},
        "max_subtitle_bytes": settings.MAX_SUBTITLE_MB * 1024 * 1024,
        "subtitle_too_large_message": _("The file is too large (limit: %(limit)d MB).")
        % {"limit": settings.MAX_SUBTITLE_MB},
    }


@login_required
@require_GET
def material_list_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    template = "materials/list.html"
    if request.htmx and request.htmx.target == "material-rows":
        template += "#material-rows"
    return render(request, template, _list_context(request))


def _created_or_errors(
    request: AuthenticatedHttpRequest,
    form: Form,
    field_errors: ValidationError | None,
    material: Material | None,
    status: int = 400,
) -> HttpResponse:
    if material is not None:
        url = reverse("materials:detail", args=[material.pk])
        return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
    if field_errors is not None:
        for field, messages in field_errors.message_dict.items():
            for message in messages:
                form.add_error(field if field in form.fields else None, message)
    key = "pdf_form" if isinstance(form, PdfUploadForm) else "youtube_form"
    context = _list_context(request, **{key: form})
    if request.htmx:
        # htmx swaps only 2xx answers: the form comes back with its errors.
        return render(request, f"materials/list.html#{key.replace('_', '-')}", context)
    return render(request, "materials/list.html", context, status=status)


@body_limit(lambda: settings.MAX_UPLOAD_MB)
@login_required
@require_POST
def material_upload_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    return _create_from_form(
        request,
        PdfUploadForm(request.POST, request.FILES),
        lambda data: material_create_file(
            owner=request.user, file=data["file"], title=data["title"]
        ),
    )


@body_limit(lambda: settings.MAX_SUBTITLE_MB, field="subtitles")
@login_required
@require_POST
def material_youtube_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    return _create_from_form(
        request,
        YoutubeForm(request.POST, request.FILES),
        lambda data: material_create_youtube(
            owner=request.user,
            url=data["youtube_url"],
            title=data["title"],
            subtitles=data["subtitles"],
        ),
    )


def _create_from_form(
    request: AuthenticatedHttpRequest, form: Form, create: Callable[[dict], Material]
) -> HttpResponse:
    material, errors, status = None, None, 400
    if form.is_valid():
        try:
            material = create(form.cleaned_data)
        except ValidationError as exc:
            errors = exc
        except QuotaExceeded as exc:
            errors, status = ValidationError({NON_FIELD_ERRORS: exc.message}), 429
    return _created_or_errors(request, form, errors, material, status)


@login_required
@require_GET
def material_detail_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    # The summary tab: a course student reads it too, without the owner's actions.
    material = readable(material_list_visible, request.user, pk)
    template = "materials/detail.html"
    if request.htmx and request.htmx.target == "status":
        if not material.is_in_flight:
            # Processing just ended: reload once so the study sections appear.
            return HttpResponseClientRefresh()
        template += "#status"
    shared = material.owner_id != request.user.pk
    return render(request, template, {"material": material, "shared": shared})


def _to_detail(request: AuthenticatedHttpRequest, material: Material) -> HttpResponse:
    url = reverse("materials:detail", args=[material.pk])
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


@login_required
@require_POST
def material_reprocess_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    material = owned(material_list, request.user, pk)
    try:
        material_reprocess(material=material, by_student=True)
    except (QuotaExceeded, AlreadyRunning) as exc:
        messages.error(request, exc.message)
    return _to_detail(request, material)


@body_limit(lambda: settings.MAX_SUBTITLE_MB, field="subtitles")
@login_required
@require_POST
def material_subtitles_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """The lecture's own subtitle file, in place of YouTube's captions."""
    material = owned(material_list, request.user, pk)
    upload = request.FILES.get("subtitles")
    try:
        if upload is None:
            raise ValidationError({"subtitles": _("Choose a subtitle file (.srt or .vtt).")})
        material_attach_subtitles(material=material, subtitles=upload)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    except QuotaExceeded as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The subtitle file is being read."))
    return _to_detail(request, material)


def _any_of_mine(owner):
    """The owner's materials, hidden ones too: a moderator's flag never stops a deletion."""
    return material_list(owner=owner, include_hidden=True)


@login_required
@require_http_methods(["POST", "DELETE"])
def material_delete_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    material_delete(material=owned(_any_of_mine, request.user, pk))
    url = reverse("materials:list")
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


# What a stored kind is served as: the type its bytes were checked to be at
# upload, never a guess from the name the student gave the file.
SERVED_AS: dict[str, tuple[str, str]] = {
    Material.Kind.PDF: ("application/pdf", ".pdf"),
    Material.Kind.PPTX: (OFFICE_CONTENT_TYPES[Material.Kind.PPTX], ".pptx"),
    Material.Kind.DOCX: (OFFICE_CONTENT_TYPES[Material.Kind.DOCX], ".docx"),
}


def private_file_response(
    handle: IO[bytes], *, content_type: str, filename: str, inline: bool
) -> FileResponse:
    """A student's stored file, which is never trusted to be what it claims.

    No sniffing, and `sandbox`: even a file a browser decides to render runs no
    script and gets an opaque origin, so it cannot reach our cookies or pages.
    """
    response = FileResponse(
        handle, content_type=content_type, as_attachment=not inline, filename=filename
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox"
    response["Cache-Control"] = "private, max-age=0"
    return response


@login_required
@require_GET
def material_file_view(request: AuthenticatedHttpRequest, pk: int) -> FileResponse:
    """The stored file, to whoever may read it; PDF citations link here with #page=N.

    Slides and handouts are only ever downloaded (a browser cannot show them,
    and an Office file opened inline is an old attack path); their citations
    open the text view instead.
    """
    material = readable(material_list_visible, request.user, pk)
    if not material.file or material.kind not in SERVED_AS:
        raise Http404(_("This material has no file."))
    content_type, suffix = SERVED_AS[material.kind]
    stem = Path(material.original_filename).stem or f"material-{material.pk}"
    return private_file_response(
        material.file.open("rb"),
        content_type=content_type,
        filename=stem + suffix,
        inline=not material.is_office,
    )


@login_required
@require_GET
def material_text_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """Slides or a handout as text, one block per slide or section (`#p-N`), to its readers."""
    material = readable(material_list_visible, request.user, pk)
    if not material.is_office:
        raise Http404(_("This material has no text view."))
    parts = [
        {"number": part.number, "label": place_label(material.kind, part.number), "text": part.text}
        for part in material_text_parts(owner=request.user, material=material)
    ]
    return render(request, "materials/text.html", {"material": material, "parts": parts})


@login_required
@require_POST
def material_report_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """A student flags a material as wrong (bad text, broken file) for moderators.

    A course student may flag the shared material too: it also reaches the
    course's teachers (their reports page).
    """
    from materials.study.services import content_report_create

    material = readable(material_list_visible, request.user, pk)
    content_report_create(
        reporter=request.user, material=material, reason=request.POST.get("reason", "")
    )
    if material.owner_id != request.user.pk:
        messages.success(request, _("Thank you. Your course's teachers will look at this."))
    else:
        messages.success(request, _("Thank you. A moderator will look at this material."))
    url = reverse("materials:detail", args=[material.pk])
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
