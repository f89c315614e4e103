"""RQ entry point for generating study content alone (the "retry" of that stage)."""

from __future__ import annotations

from materials.models import Material
from materials.study.generation import study_generate


def generate_study(material_id: int) -> None:
    material = Material.objects.filter(pk=material_id).first()
    if material is None or material.status != Material.Status.READY:
        # Deleted, or being processed again (which generates at its end anyway).
        return
    study_generate(material=material)
