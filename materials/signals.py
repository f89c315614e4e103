"""The one hook that sees every deletion of a material.

`material_delete` is not the only way a material goes: the admin's delete and
"delete selected", and the cascade from a deleted account, delete rows without
it. Django sends post_delete for each of them, so the stored files are removed
here, once the deletion is committed (a rolled-back delete keeps its files).
"""

from __future__ import annotations

from django.db.models.signals import post_delete
from django.dispatch import receiver

from materials.models import Material
from materials.services import material_files_delete_on_commit


@receiver(post_delete, sender=Material, dispatch_uid="material_files_delete")
def material_deleted(sender: type[Material], instance: Material, **kwargs: object) -> None:
    material_files_delete_on_commit(material=instance)
