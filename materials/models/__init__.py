"""Materials and what is made from them; one module per concern, names re-exported."""

from materials.models.material import EMBEDDING_DIMENSIONS, Chunk, Material, upload_path

__all__ = ["EMBEDDING_DIMENSIONS", "Chunk", "Material", "upload_path"]
