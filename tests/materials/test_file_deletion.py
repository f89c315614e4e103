"""A deleted material's files go with it, on every path; leftovers can be listed.

The admin's delete and "delete selected", and the cascade from a deleted
account, used to leave the PDF and subtitle file on disk; an owner could not
delete a material a moderator had hidden.
"""

from __future__ import annotations

import os
import time
from io import StringIO

import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command

from materials.models import Material
from tests.support.factories import MaterialFactory, UserFactory
from tests.support.pdfs import make_pdf

pytestmark = pytest.mark.django_db


def _stored(owner, **fields) -> Material:
    material = MaterialFactory(owner=owner, **fields)
    material.file.save("lecture.pdf", ContentFile(make_pdf(["Cells."])))
    material.subtitle_file.save(
        "lecture.srt", ContentFile(b"1\n00:00:01,000 --> 00:00:02,000\nHi\n")
    )
    return material


def _paths(material: Material) -> list[str]:
    return [material.file.path, material.subtitle_file.path]


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def test_admin_delete_removes_the_files(user, admin_client, django_capture_on_commit_callbacks):
    material = _stored(user)
    paths = _paths(material)
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            f"/admin/materials/material/{material.pk}/delete/", {"post": "yes"}
        )
    assert response.status_code == 302
    assert not any(os.path.exists(path) for path in paths)


def test_admin_delete_selected_removes_the_files(
    user, admin_client, django_capture_on_commit_callbacks
):
    materials = [_stored(user) for _ in range(2)]
    paths = [path for material in materials for path in _paths(material)]
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(
            "/admin/materials/material/",
            {
                "action": "delete_selected",
                "_selected_action": [m.pk for m in materials],
                "post": "yes",
            },
        )
    assert not Material.objects.exists()
    assert not any(os.path.exists(path) for path in paths)


def test_a_deleted_account_takes_its_files(user, django_capture_on_commit_callbacks):
    paths = _paths(_stored(user))
    with django_capture_on_commit_callbacks(execute=True):
        user.delete()
    assert not any(os.path.exists(path) for path in paths)


def test_a_rolled_back_delete_keeps_the_files(user, django_capture_on_commit_callbacks):
    material = _stored(user)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        material.delete()
    assert callbacks  # the removal waits for a commit that, here, never comes
    assert all(os.path.exists(path) for path in _paths(material))


def test_an_owner_deletes_a_material_a_moderator_hid(
    api, logged_in, user, django_capture_on_commit_callbacks
):
    by_api, by_page = _stored(user, is_hidden=True), _stored(user, is_hidden=True)
    paths = _paths(by_api) + _paths(by_page)
    assert api.get(f"/api/materials/{by_api.pk}/").status_code == 404  # still hidden
    with django_capture_on_commit_callbacks(execute=True):
        assert api.delete(f"/api/materials/{by_api.pk}/").status_code == 204
        assert logged_in.post(f"/materials/{by_page.pk}/delete/").status_code == 302
    assert not Material.objects.exists()
    assert not any(os.path.exists(path) for path in paths)


def test_another_student_cannot_delete_a_hidden_material(other_api, user):
    material = _stored(user, is_hidden=True)
    assert other_api.delete(f"/api/materials/{material.pk}/").status_code == 404
    assert Material.objects.filter(pk=material.pk).exists()


def test_orphans_are_listed_and_deleted_on_request(user, settings):
    kept = _stored(user)
    uploads = settings.MEDIA_ROOT / "uploads"
    orphan = uploads / "0123456789abcdef.pdf"
    orphan.write_bytes(b"%PDF-1.4 left behind")
    fresh = uploads / "fedcba9876543210.pdf"  # being uploaded right now
    fresh.write_bytes(b"%PDF-1.4 in flight")
    old = time.time() - 2 * 3600
    os.utime(orphan, (old, old))

    out = StringIO()
    call_command("material_orphans", stdout=out)
    listed = out.getvalue()
    assert str(orphan) in listed and "found 1 orphaned file(s)" in listed
    assert str(fresh) not in listed and kept.file.name.split("/")[-1] not in listed
    assert orphan.exists()

    call_command("material_orphans", "--delete", stdout=StringIO())
    assert not orphan.exists() and fresh.exists()
    assert all(os.path.exists(path) for path in _paths(kept))
