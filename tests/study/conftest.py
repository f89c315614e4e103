"""Materials with real chunks, made by the real worker job."""

from __future__ import annotations

import pytest
from django.core.files.base import ContentFile

from materials.models import Material
from materials.services import material_enqueue
from tests.conftest import make_pdf
from tests.factories import MaterialFactory

BIOLOGY = [
    "Photosynthesis is the process by which green plants convert light energy into chemical "
    "energy stored in glucose. Chlorophyll is a green pigment that absorbs red and blue light "
    "in the chloroplast. The light reactions take place in the thylakoid membrane and produce "
    "oxygen as a by-product. The Calvin cycle is a series of reactions that fix carbon dioxide "
    "into sugar in the stroma. Plants need water, carbon dioxide and sunlight for "
    "photosynthesis. Stomata are small pores on the leaf surface that let carbon dioxide in. ",
    "Cellular respiration is the process that releases energy from glucose in the mitochondria. "
    "The Krebs cycle takes place in the mitochondrial matrix and produces carbon dioxide. "
    "Glycolysis is the first stage of respiration and splits glucose into two molecules of "
    "pyruvate in the cytoplasm. ATP is the energy currency of the cell and powers muscle "
    "contraction. Anaerobic respiration produces lactic acid in muscle cells when oxygen is "
    "scarce. The electron transport chain is a group of proteins in the inner membrane. ",
    "Mitosis is a type of cell division that produces two identical daughter cells. Meiosis is "
    "a type of cell division that produces four gametes with half the chromosome number. "
    "Chromosomes are long molecules of DNA wrapped around histone proteins. The spindle "
    "apparatus pulls sister chromatids apart during anaphase. Cancer cells divide without "
    "control because mutations damage the cell cycle checkpoints. DNA replication happens "
    "during the S phase before the cell divides. ",
]


def lecture_pages(times: int = 3) -> list[str]:
    return [page * times for page in BIOLOGY]


def pdf_material(owner, content: bytes, name: str = "lecture.pdf") -> Material:
    material = MaterialFactory(owner=owner, kind=Material.Kind.PDF, title="Biology")
    material.file.save(name, ContentFile(content))
    return material


def process(material: Material, capture, run_jobs) -> Material:
    with capture(execute=True):
        material_enqueue(material=material)
    run_jobs()
    material.refresh_from_db()
    return material


@pytest.fixture
def biology(user, run_jobs, django_capture_on_commit_callbacks) -> Material:
    """A small English lecture, processed (and its study content made offline)."""
    material = pdf_material(user, make_pdf(lecture_pages()))
    return process(material, django_capture_on_commit_callbacks, run_jobs)
