from django import forms
from django.utils.translation import gettext_lazy as _


class SearchForm(forms.Form):
    q = forms.CharField(label=_("Search"), max_length=500, required=False)
    material = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
