"""Why a material could not be processed, as codes stored on the row.

The code is stored, not the sentence: the message is rendered in the reader's
language at display time, so a Russian student and an English moderator each
read the same failure in their own language.
"""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import APIException

ERROR_MESSAGES = {
    # PDF
    "pdf_encrypted": _("This PDF is password-protected. Remove the password and upload it again."),
    "pdf_broken": _("This file is damaged or is not a readable PDF."),
    "pdf_empty": _("This PDF has no pages."),
    "pdf_no_text": _(
        "No readable text was found in this PDF, even after text recognition: "
        "its pages look like photos or drawings without text."
    ),
    "ocr_unavailable": _(
        "This PDF is a scan without a text layer, and text recognition (Tesseract) "
        "is not installed on the server. Ask the administrator to install it."
    ),
    "pdf_timeout": _(
        "Reading this PDF took too long and was stopped. "
        "The file may be damaged or unusually complex."
    ),
    "pdf_too_complex": _(
        "Reading this PDF needed too much memory and was stopped. "
        "The file may be damaged or unusually complex."
    ),
    "pdf_missing": _("The uploaded file is missing. Upload it again."),
    # Slides (.pptx) and handouts (.docx)
    "office_encrypted": _(
        "This file is password-protected (encrypted). "
        "Remove the password, save it again as .pptx or .docx, and upload it."
    ),
    "office_legacy": _(
        "This is an old-format Office file (.ppt or .doc). "
        "Save it as .pptx or .docx and upload it again."
    ),
    "office_macros": _(
        "This file contains macros (.pptm or .docm), which we do not accept. "
        "Save it as a plain .pptx or .docx and upload it again."
    ),
    "office_bomb": _(
        "This file unpacks to far more data than an ordinary presentation or document "
        "(it may be a zip bomb), so it was refused."
    ),
    "office_unsupported": _(
        "This Office file is neither a PowerPoint presentation (.pptx) nor a Word document (.docx)."
    ),
    "office_broken": _(
        "This file is damaged or is not a readable PowerPoint (.pptx) or Word (.docx) file."
    ),
    "office_too_long": _("This file has more slides or paragraphs than we can process."),
    "office_too_many_parts": _(
        "This file is made of far more parts than an ordinary presentation or document "
        "(it may be a zip bomb), so it was refused."
    ),
    "office_too_many_elements": _(
        "This file's layout is far more complex than an ordinary presentation or document: "
        "it holds too many formatting elements to read."
    ),
    "office_too_much_text": _("This file holds more text than we can process."),
    "office_timeout": _(
        "Reading this file took too long and was stopped. "
        "The file may be damaged or unusually complex."
    ),
    "office_too_complex": _(
        "Reading this file needed too much memory and was stopped. "
        "The file may be damaged or unusually complex."
    ),
    # YouTube
    "yt_invalid_url": _("This is not a YouTube video link."),
    "yt_transcripts_disabled": _(
        "Captions are turned off for this video. "
        "Upload the lecture's subtitle file (.srt or .vtt) instead."
    ),
    "yt_no_transcript": _(
        "This video has no captions in a language we can use. "
        "Upload the lecture's subtitle file (.srt or .vtt) instead."
    ),
    "yt_unavailable": _("This video is unavailable (it may be private or deleted)."),
    "yt_age_restricted": _(
        "This video is age-restricted, so its captions cannot be read. "
        "Upload the lecture's subtitle file (.srt or .vtt) instead."
    ),
    "yt_blocked": _(
        "YouTube is refusing our requests right now. We will retry; "
        "you can also upload the lecture's subtitle file (.srt or .vtt)."
    ),
    "yt_failed": _(
        "Could not read this video's captions. Try again later, "
        "or upload the lecture's subtitle file (.srt or .vtt)."
    ),
    "subtitles_invalid": _("The subtitle file could not be read (expected .srt or .vtt)."),
    "no_text": _("No text could be found in this material."),
    # Services
    "ai_unavailable": _("The AI service is not responding. Try again later."),
    "timeout": _("Processing took too long and was stopped. Try again."),
    "interrupted": _(
        "Processing was interrupted several times (the worker stopped while reading "
        "this material). Try again; if it keeps failing, tell us."
    ),
    "internal": _(
        "Something went wrong while processing this material. "
        "Try again; if it keeps failing, tell us."
    ),
}


# What a failed try was, in a few words, while RQ waits to try again.
RETRY_REASONS = {
    "yt_failed": _("YouTube could not be reached"),
    "yt_blocked": _("YouTube is refusing our requests"),
    "ai_unavailable": _("The AI service did not answer"),
    "interrupted": _("The worker stopped"),
}


def retry_reason(code: str) -> str:
    return str(RETRY_REASONS.get(code, _("Processing failed")))


class ProcessingError(Exception):
    """A failure the student should read about; `permanent` ones are not retried."""

    def __init__(self, code: str, *, permanent: bool = True, detail: str = "") -> None:
        if code not in ERROR_MESSAGES:
            raise ValueError(f"unknown processing error code {code!r}")
        super().__init__(detail or code)
        self.code = code
        self.permanent = permanent
        self.detail = detail

    @property
    def message(self) -> str:
        return str(ERROR_MESSAGES[self.code])


def error_message(code: str) -> str:
    """The student-facing message for a stored code, in the active language."""
    if not code:
        return ""
    return str(ERROR_MESSAGES.get(code, ERROR_MESSAGES["internal"]))


class Superseded(Exception):
    """A newer run of this material took over: the old job stops without writing.

    Raised by every write of a run (progress, chunks, study content, the final
    status) when the material's attempt or the study set's job is no longer its own.
    """


class AlreadyRunning(APIException):
    """A student asked for a run while one is in flight: HTTP 409 in the API.

    The body is {"detail": <translated message>, "code": "in_flight"}, like the
    daily limit's 429.
    """

    status_code = status.HTTP_409_CONFLICT
    default_code = "in_flight"

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__()
        # DRF renders plain strings as it does ErrorDetail; its stubs take only the latter.
        self.detail = {"detail": message, "code": self.default_code}  # type: ignore[dict-item]

    def __str__(self) -> str:
        return self.message


# The 409 answer, for the OpenAPI schema of the endpoints that start a run.
IN_FLIGHT_RESPONSE = OpenApiResponse(
    response=inline_serializer(
        "InFlightError", {"detail": serializers.CharField(), "code": serializers.CharField()}
    ),
    description="A run of this material is already in flight.",
)
