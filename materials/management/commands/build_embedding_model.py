from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = (
        "Build the local embedding model's int8 ONNX graph into LOCAL_EMBEDDING_MODEL_DIR "
        "(needs the model-build dependency group; does nothing when it is already built)."
    )

    def handle(self, *args: object, **options: object) -> None:
        from eduplatform.fast_embedding import build_onnx_model

        model_dir = build_onnx_model(settings.LOCAL_EMBEDDING_MODEL_DIR)
        self.stdout.write(f"embedding model ready in {model_dir}")
