"""Lectures the tests upload: their pages' text, and the way to process one for real."""

from __future__ import annotations

import time

from django.core.files.base import ContentFile

from materials.models import Material
from materials.services import material_enqueue
from tests.support.factories import MaterialFactory

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
    """A stored PDF material, bypassing upload checks to exercise the worker itself."""
    material = MaterialFactory(owner=owner, kind=Material.Kind.PDF, title="Biology")
    material.file.save(name, ContentFile(content))
    return material


def process(material: Material, capture, run_jobs) -> Material:
    """The material queued on commit and run by a real worker, then read back."""
    with capture(execute=True):
        material_enqueue(material=material)
    run_jobs()
    material.refresh_from_db()
    return material


# One distinct fact per sentence, repeated: the pipeline's tests find each on its page.
LECTURE = [
    "Photosynthesis converts light energy into chemical energy. " * 30,
    "The Krebs cycle takes place in the mitochondrial matrix. " * 30,
    "Newton's second law states that force equals mass times acceleration. " * 30,
]

# The R manual's opening pages retold in Russian: definitions, pronouns that point back.
RUSSIAN_LECTURE = [
    "Фактор — это векторный объект, который задаёт дискретную классификацию других векторов. "
    "Логический вектор может служить индексным вектором в квадратных скобках. В этом случае "
    "индексный вектор повторяется до длины вектора, из которого выбираются элементы. Однако, "
    "индексный вектор вычисляется до выбора элементов. Такие индексные векторы бывают "
    "четырёх различных типов. Это обобщённая функция, которая выбирает метод по классу "
    "первого аргумента. Он хранится в рабочей области. Таблица данных — это список "
    "переменных одной длины с уникальными именами строк. ",
    "Рабочая область хранит каждый объект, созданный во время сеанса интерпретатора. Эти "
    "объекты сохраняются в файле в конце сеанса. Обобщённая функция summary даёт краткое "
    "описание подогнанной модели. Её результат зависит от класса модели. Матрица — это вектор "
    "с атрибутом размерности длины два. При этом матрицу можно транспонировать функцией t. "
    "Таблица данных читается из текстового файла функцией read.table. Они служат обычным "
    "способом хранения набора данных. ",
    "Пропущенные значения записываются как NA в таблице данных и в матрице. Такое значение "
    "распространяется через арифметику над вектором. Индексный вектор из отрицательных "
    "целых чисел исключает элементы. Такой вектор удобен, чтобы отбросить первый элемент "
    "фактора. Образ рабочей области сохраняется функцией save.image в конце сеанса. Эта "
    "функция спрашивает, прежде чем перезаписать старый образ. Список — это упорядоченный "
    "набор объектов, называемых компонентами. ",
]


def srt(size: int) -> bytes:
    """A valid subtitle file of about `size` bytes."""
    parts, total, n = [], 0, 0
    while total < size:
        n += 1
        start = time.strftime("%H:%M:%S", time.gmtime(n * 4))
        end = time.strftime("%H:%M:%S", time.gmtime(n * 4 + 3))
        part = f"{n}\n{start},000 --> {end},000\nEntropy never decreases in a closed system.\n\n"
        parts.append(part)
        total += len(part)
    return "".join(parts).encode()
