from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

# The browser's file picker offers these; the server still judges by content.
UPLOAD_ACCEPT = ",".join(
    [
        "application/pdf",
        ".pdf",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        ".pptx",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ".docx",
    ]
)


class PdfUploadForm(forms.Form):
    """A PDF, slides (.pptx) or a handout (.docx); the name is kept for the page and its tests."""

    file = forms.FileField(
        label=_("File (PDF, PPTX or DOCX)"),
        widget=forms.ClearableFileInput(attrs={"accept": UPLOAD_ACCEPT}),
    )
    title = forms.CharField(label=_("Title (optional)"), max_length=300, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Filled per request: `%` on a lazy string at import time would freeze its language.
        self.fields["file"].help_text = _(
            "A PDF, lecture slides (.pptx) or a handout (.docx), up to %(mb)d MB. "
            "Files with macros (.pptm, .docm), password-protected files and old formats "
            "(.ppt, .doc) are not accepted."
        ) % {"mb": settings.MAX_UPLOAD_MB}


class YoutubeForm(forms.Form):
    youtube_url = forms.CharField(
        label=_("YouTube link"),
        max_length=500,
        widget=forms.URLInput(attrs={"placeholder": "https://www.youtube.com/watch?v=…"}),
    )
    title = forms.CharField(label=_("Title (optional)"), max_length=300, required=False)
    subtitles = forms.FileField(
        label=_("Subtitle file (optional)"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": ".srt,.vtt"}),
        help_text=_(
            "If YouTube refuses to give the captions, the lecture's .srt or .vtt file is used "
            "instead."
        ),
    )


class StudySettingsForm(forms.Form):
    """New cards a day and desired retention; the service checks the ranges again."""

    new_cards_per_day = forms.IntegerField(
        label=_("New cards a day"),
        min_value=0,
        max_value=1000,
        help_text=_(
            "New cards shown each day, after the reviews that are due. Anki's default is 20."
        ),
    )
    desired_retention = forms.IntegerField(
        label=_("Desired retention (%)"),
        min_value=70,
        max_value=97,
        help_text=_(
            "How sure you want to be to remember a card when it comes back, in percent. "
            "Higher means more reviews; FSRS's default is 90."
        ),
    )
