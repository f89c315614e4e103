from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MaterialsConfig(AppConfig):
    name = "materials"
    verbose_name = _("Materials")

    def ready(self) -> None:
        from materials import signals  # noqa: F401 (connects the receivers)
