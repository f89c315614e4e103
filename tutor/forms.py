from django import forms
from django.utils.translation import gettext_lazy as _


class AskForm(forms.Form):
    content = forms.CharField(
        label=_("Your question"),
        max_length=4000,
        widget=forms.Textarea(
            attrs={"rows": 2, "placeholder": _("Ask about your material…"), "required": True}
        ),
    )
