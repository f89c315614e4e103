from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from courses.models import Unit
from materials.models import Material

DATE = forms.DateInput(attrs={"type": "date"})


class _OwnIds(forms.Form):
    """Field ids prefixed by the form's name: a course page shows several forms
    with a `title`, and one id twice tied both labels to the first field."""

    ids = "%s"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", self.ids)
        super().__init__(*args, **kwargs)


class CourseForm(_OwnIds):
    ids = "course_%s"
    title = forms.CharField(label=_("Course title"), max_length=200)
    exam_date = forms.DateField(label=_("Exam date (optional)"), required=False, widget=DATE)


class UnitForm(_OwnIds):
    ids = "unit_%s"
    title = forms.CharField(label=_("Unit title"), max_length=200)
    due_date = forms.DateField(label=_("Due date (optional)"), required=False, widget=DATE)


class AddMaterialForm(_OwnIds):
    """Both choices come scoped: the course's units and the adder's own materials."""

    ids = "entry_%s"

    unit = forms.ModelChoiceField(label=_("Unit"), queryset=Unit.objects.none())
    material = forms.ModelChoiceField(label=_("Material"), queryset=Material.objects.none())

    def __init__(self, *args: Any, units: Any, materials: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = units  # type: ignore[attr-defined]
        self.fields["material"].queryset = materials  # type: ignore[attr-defined]


class InviteForm(_OwnIds):
    ids = "invite_%s"
    expires_in_days = forms.IntegerField(
        label=_("Expires after (days, optional)"), required=False, min_value=1, max_value=365
    )


class JoinForm(_OwnIds):
    ids = "join_%s"
    code = forms.CharField(
        label=_("Invite code"),
        max_length=40,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters"}),
    )
