"""Study content made from a material: summary, notes, flashcards, quiz, and their use.

Generated rows are replaced when a material is processed again, except those
the student or a moderator touched: a card with reviews, edits, a suspension,
a report or a moderator's flag, a question with a report or a flag, stays with
its history (materials.study.generation.study_content_store).
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from materials.models.material import Material


class StudySet(models.Model):
    """The generation state of one material's study content, and its summary."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting")
        GENERATING = "generating", _("Generating")
        READY = "ready", _("Ready")
        FAILED = "failed", _("Could not be generated")

    material = models.OneToOneField(Material, on_delete=models.CASCADE, related_name="study_set")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    error_code = models.CharField(max_length=40, blank=True)
    error_detail = models.TextField(blank=True)
    # "offline" or "hosted:<model>": shown to the student next to everything it made.
    generator = models.CharField(max_length=120, blank=True)
    language = models.CharField(max_length=8, blank=True)
    summary = models.TextField(blank=True)
    # [{"heading", "sentences": [{"text", "page", "start_seconds", "quote"}]}]: the
    # summary by section, each sentence with the place it links to.
    summary_sections = models.JSONField(default=list, blank=True)
    # Counts of what generation kept and dropped, for the admin and benchmarks.
    stats = models.JSONField(default=dict, blank=True)
    tokens_used = models.PositiveIntegerField(default=0)
    # The RQ job of a generation run alone ("Try again"); empty when the
    # material's own processing job generates.
    job_id = models.CharField(max_length=64, blank=True)
    generated_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("study set")
        verbose_name_plural = _("study sets")

    def __str__(self) -> str:
        return str(self.material)

    @property
    def is_offline(self) -> bool:
        return self.generator == "offline"


class SourceFields(models.Model):
    """Where a generated item comes from: pages or seconds, and the passage itself."""

    page = models.PositiveIntegerField(null=True, blank=True)
    page_end = models.PositiveIntegerField(null=True, blank=True)
    start_seconds = models.FloatField(null=True, blank=True)
    passage = models.TextField(blank=True)

    class Meta:
        abstract = True


class NoteSection(SourceFields):
    material = models.ForeignKey(Material, on_delete=models.CASCADE, related_name="note_sections")
    position = models.PositiveIntegerField()
    heading = models.CharField(max_length=300)
    # [{"text", "page", "start_seconds"}, ...]: each key point keeps its own anchor.
    points = models.JSONField(default=list)
    pages = models.JSONField(default=list)
    generator = models.CharField(max_length=120)

    class Meta:
        ordering = ["material", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["material", "position"], name="notesection_unique_material_position"
            )
        ]

    def __str__(self) -> str:
        return self.heading


class Flashcard(SourceFields):
    class Origin(models.TextChoices):
        GENERATED = "generated", _("Generated")
        USER = "user", _("Made by the student")
        QUIZ = "quiz", _("From a quiz mistake")
        TUTOR = "tutor", _("From a tutor answer")

    class Kind(models.TextChoices):
        CLOZE = "cloze", _("Cloze")
        TERM = "term", _("Term and definition")
        QA = "qa", _("Question and answer")

    class State(models.IntegerChoices):
        # The values of fsrs.State.
        LEARNING = 1, _("Learning")
        REVIEW = 2, _("Review")
        RELEARNING = 3, _("Relearning")

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="flashcards"
    )
    material = models.ForeignKey(Material, on_delete=models.CASCADE, related_name="flashcards")
    front = models.TextField(_("front"))
    back = models.TextField(_("back"))
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.QA)
    origin = models.CharField(max_length=10, choices=Origin.choices, default=Origin.GENERATED)
    generator = models.CharField(max_length=120, blank=True)
    position = models.PositiveIntegerField(default=0)
    is_suspended = models.BooleanField(_("suspended"), default=False)
    is_hidden = models.BooleanField(_("hidden by a moderator"), default=False)
    # Kept through a regeneration for its history, but its passage is no longer
    # in the material: the student should check it against the new text.
    source_changed = models.BooleanField(_("source changed"), default=False)
    # When a wrong quiz answer or a tutor answer the student did not get brought
    # the card back; "from your mistakes" until the student reviews it again.
    mistake_at = models.DateTimeField(_("brought back by a mistake"), null=True, blank=True)

    # FSRS memory state, one column per field of fsrs.Card.
    state = models.PositiveSmallIntegerField(choices=State.choices, default=State.LEARNING)
    step = models.PositiveSmallIntegerField(null=True, blank=True, default=0)
    stability = models.FloatField(null=True, blank=True)
    difficulty = models.FloatField(null=True, blank=True)
    due = models.DateTimeField(db_index=True)
    last_review = models.DateTimeField(null=True, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["material", "position", "id"]
        verbose_name = _("flashcard")
        verbose_name_plural = _("flashcards")
        indexes = [models.Index(fields=["owner", "due"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(state__gte=1) & Q(state__lte=3), name="flashcard_state_1_to_3"
            )
        ]

    def __str__(self) -> str:
        return self.front[:80]

    @property
    def from_mistake(self) -> bool:
        """Brought back by a mistake and not reviewed since."""
        return self.mistake_at is not None and (
            self.last_review is None or self.last_review < self.mistake_at
        )


class ReviewLog(models.Model):
    # Looked up by card through reviewlog_card_time, whose first column it is.
    card = models.ForeignKey(
        Flashcard, on_delete=models.CASCADE, related_name="reviews", db_index=False
    )
    # Who reviewed: the owner, or a course student studying the shared card.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", null=True
    )
    rating = models.PositiveSmallIntegerField()
    reviewed_at = models.DateTimeField()
    review_duration_ms = models.PositiveIntegerField(null=True, blank=True)
    due_after = models.DateTimeField()

    class Meta:
        ordering = ["card", "reviewed_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(rating__gte=1) & Q(rating__lte=4), name="reviewlog_rating_1_to_4"
            )
        ]
        indexes = [
            # A course's progress counts its cards' recent reviews by student and
            # by rating: read from this index alone (an index-only scan), only the
            # reviews inside the window, none of the older ones.
            models.Index(
                fields=["card", "reviewed_at"],
                include=["user", "rating"],
                name="reviewlog_card_time",
            )
        ]

    def __str__(self) -> str:
        return f"{self.card_id}: {self.rating}"


class CardState(models.Model):
    """One student's FSRS memory of a card: the card row is shared, the schedule is not.

    A course student studies the teacher's card; editing or hiding the card
    reaches them without resetting this row. Created on the first review.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="card_states"
    )
    # Looked up by card through cardstate_card_state, whose first column it is.
    card = models.ForeignKey(
        Flashcard, on_delete=models.CASCADE, related_name="states", db_index=False
    )
    state = models.PositiveSmallIntegerField(
        choices=Flashcard.State.choices, default=Flashcard.State.LEARNING
    )
    step = models.PositiveSmallIntegerField(null=True, blank=True, default=0)
    stability = models.FloatField(null=True, blank=True)
    difficulty = models.FloatField(null=True, blank=True)
    due = models.DateTimeField()
    last_review = models.DateTimeField(null=True, blank=True)
    mistake_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("card state")
        verbose_name_plural = _("card states")
        indexes = [
            models.Index(fields=["user", "due"]),
            # A course's progress counts who learned which card from this index
            # alone (an index-only scan).
            models.Index(fields=["card", "state"], include=["user"], name="cardstate_card_state"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["user", "card"], name="cardstate_one_per_user"),
            models.CheckConstraint(
                condition=Q(state__gte=1) & Q(state__lte=3), name="cardstate_state_1_to_3"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.card_id}"


class PrivateEdit(models.Model):
    """One student's private change to a course's shared card: hidden, or reworded, for them.

    The card row stays the teacher's: a side left empty here shows the
    teacher's current text, so their later edits still reach the student, and
    the schedule (CardState) is never touched. Only the student reads it.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="private_edits"
    )
    card = models.ForeignKey(Flashcard, on_delete=models.CASCADE, related_name="private_edits")
    is_hidden = models.BooleanField(_("hidden for me"), default=False)
    front = models.TextField(_("my front"), blank=True)
    back = models.TextField(_("my back"), blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("private edit")
        verbose_name_plural = _("private edits")
        constraints = [
            models.UniqueConstraint(fields=["user", "card"], name="privateedit_one_per_user")
        ]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.card_id}"


class QuizQuestion(SourceFields):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    material = models.ForeignKey(Material, on_delete=models.CASCADE, related_name="quiz_questions")
    position = models.PositiveIntegerField()
    question = models.TextField(_("question"))
    choices = models.JSONField(_("choices"))
    answer_index = models.PositiveSmallIntegerField(_("answer index"))
    explanation = models.TextField(_("explanation"), blank=True)
    generator = models.CharField(max_length=120)
    is_hidden = models.BooleanField(_("hidden by a moderator"), default=False)
    # Hidden by the material's owner (a course's "hide from the class"): out of
    # every quiz and export, like a suspended card; the owner may show it again.
    is_suspended = models.BooleanField(_("hidden from the quiz"), default=False)
    # When the owner last edited it: from then on its wording is theirs, so a
    # regeneration keeps it as it is (materials.study.store).
    edited_at = models.DateTimeField(_("edited at"), null=True, blank=True)
    source_changed = models.BooleanField(_("source changed"), default=False)
    # No longer made by the generator, but kept (out of the quiz) because a
    # student reported it or a moderator hid it: the report keeps its target.
    is_retired = models.BooleanField(_("no longer in the quiz"), default=False)

    class Meta:
        ordering = ["material", "position"]
        verbose_name = _("quiz question")
        verbose_name_plural = _("quiz questions")
        constraints = [
            models.UniqueConstraint(
                fields=["material", "position"], name="quizquestion_unique_material_position"
            )
        ]

    def __str__(self) -> str:
        return self.question[:80]

    @property
    def answer(self) -> str:
        return self.choices[self.answer_index]


class QuizAttempt(models.Model):
    """A scored attempt; results are a snapshot, so they outlive regenerated questions."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="quiz_attempts"
    )
    material = models.ForeignKey(Material, on_delete=models.CASCADE, related_name="quiz_attempts")
    score = models.PositiveIntegerField()
    total = models.PositiveIntegerField()
    results = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(score__lte=models.F("total")), name="attempt_score")
        ]

    def __str__(self) -> str:
        return f"{self.score}/{self.total}"


class StudyProfile(models.Model):
    """A student's study settings, and the FSRS parameters fitted to their own reviews.

    Anki's habit: a fixed number of new cards a day, reviews first, so a
    term's uploads do not land on one day. Empty `fsrs_parameters` means the
    FSRS defaults, until enough reviews exist to fit the student's own.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="study_profile"
    )
    new_cards_per_day = models.PositiveSmallIntegerField(_("new cards a day"), default=20)
    desired_retention = models.FloatField(_("desired retention"), default=0.9)
    fsrs_parameters = models.JSONField(default=list, blank=True)
    # How many reviews the parameters were fitted on, and when.
    optimized_reviews = models.PositiveIntegerField(default=0)
    optimized_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("study profile")
        verbose_name_plural = _("study profiles")
        constraints = [
            models.CheckConstraint(
                condition=Q(new_cards_per_day__lte=1000), name="profile_new_cards_at_most_1000"
            ),
            models.CheckConstraint(
                condition=Q(desired_retention__gte=0.7) & Q(desired_retention__lte=0.97),
                name="profile_retention_0_70_to_0_97",
            ),
        ]

    def __str__(self) -> str:
        return str(self.user)


def _only(**target: bool) -> Q:
    """The report's one target is set and the other two are empty."""
    return Q(
        **{f"{name}__isnull": name not in target for name in ("flashcard", "question", "material")}
    )


class ContentReport(models.Model):
    """A student's report of a bad material, card or question, for moderators."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        RESOLVED = "resolved", _("Resolved")

    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="content_reports"
    )
    flashcard = models.ForeignKey(
        Flashcard, null=True, blank=True, on_delete=models.CASCADE, related_name="reports"
    )
    question = models.ForeignKey(
        QuizQuestion, null=True, blank=True, on_delete=models.CASCADE, related_name="reports"
    )
    material = models.ForeignKey(
        Material, null=True, blank=True, on_delete=models.CASCADE, related_name="reports"
    )
    reason = models.TextField(_("reason"), max_length=2000)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("content report")
        verbose_name_plural = _("content reports")
        constraints = [
            models.CheckConstraint(
                condition=_only(flashcard=True) | _only(question=True) | _only(material=True),
                name="report_exactly_one_target",
            )
        ]

    def __str__(self) -> str:
        return self.reason[:80]
