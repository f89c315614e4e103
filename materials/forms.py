from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _


class PdfUploadForm(forms.Form):
    file = forms.FileField(
        label=_("PDF file"),
        widget=forms.ClearableFileInput(attrs={"accept": "application/pdf,.pdf"}),
        help_text=_("Up to %(mb)d MB.") % {"mb": settings.MAX_UPLOAD_MB},
    )
    title = forms.CharField(label=_("Title (optional)"), max_length=300, required=False)


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
