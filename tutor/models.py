from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from materials.models import Material


class Conversation(models.Model):
    """A chat with the tutor about one material, or about all of the owner's materials."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="conversations"
    )
    # Null means "all my materials"; deleting a material ends its conversations,
    # rather than silently widening them to every material.
    material = models.ForeignKey(
        Material,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="conversations",
    )
    title = models.CharField(_("title"), max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at", "-pk"]
        verbose_name = _("conversation")
        verbose_name_plural = _("conversations")
        indexes = [models.Index(fields=["owner", "-updated_at"])]

    def __str__(self) -> str:
        return self.title or f"#{self.pk}"


class Message(models.Model):
    class Role(models.TextChoices):
        USER = "user", _("Student")
        ASSISTANT = "assistant", _("Tutor")

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages"
    )
    role = models.CharField(max_length=10, choices=Role.choices)
    content = models.TextField()
    # A list of objects with material, chunk, page, start_seconds and quote,
    # validated against the retrieved chunks before they are stored.
    citations = models.JSONField(default=list, blank=True)
    # Which generator wrote an assistant message: a model name, "extractive",
    # "extractive-fallback" (the model was unreachable) or "none" (nothing found).
    generator = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(role__in=["user", "assistant"]), name="message_role_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.role}: {self.content[:60]}"

    @property
    def generator_label(self) -> str:
        """Who wrote an answer, as the page says it."""
        labels = {
            "extractive": _("Extractive answer (no AI model configured)"),
            "extractive-fallback": _("Extractive answer (the AI model was unreachable)"),
            "none": _("Not found in your material"),
        }
        if self.role != self.Role.ASSISTANT or not self.generator:
            return ""
        return str(
            labels.get(self.generator, _("Written by %(model)s") % {"model": self.generator})
        )
