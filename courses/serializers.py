from __future__ import annotations

from typing import Any

from django.utils import timezone
from rest_framework import serializers

from courses.models import Course, CourseMaterial, Invite, Membership, Unit


class CourseSerializer(serializers.ModelSerializer):
    owner = serializers.EmailField(source="owner.email", read_only=True)
    role = serializers.SerializerMethodField()

    class Meta:
        model = Course
        fields = ["id", "title", "exam_date", "owner", "role", "created_at", "updated_at"]
        read_only_fields = ["id", "owner", "role", "created_at", "updated_at"]

    def get_role(self, course: Course) -> str | None:
        """The asking user's role in the course."""
        user = self.context["request"].user
        for membership in getattr(course, "my_memberships", None) or []:
            return membership.role
        return (
            course.memberships.filter(user=user, removed_at__isnull=True)
            .values_list("role", flat=True)
            .first()
        )


class CourseWriteSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200)
    exam_date = serializers.DateField(required=False, allow_null=True)


class EntrySerializer(serializers.ModelSerializer):
    title = serializers.CharField(source="material.title", read_only=True)
    kind = serializers.CharField(source="material.kind", read_only=True)
    status = serializers.CharField(source="material.status", read_only=True)

    class Meta:
        model = CourseMaterial
        fields = ["id", "unit", "material", "title", "kind", "status", "position"]
        read_only_fields = fields


class UnitSerializer(serializers.ModelSerializer):
    materials = EntrySerializer(source="entries", many=True, read_only=True)

    class Meta:
        model = Unit
        fields = ["id", "course", "title", "position", "due_date", "materials"]
        read_only_fields = ["id", "course", "position", "materials"]


class UnitWriteSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200)
    due_date = serializers.DateField(required=False, allow_null=True)


class EntryCreateSerializer(serializers.Serializer):
    material = serializers.IntegerField(help_text="One of your own materials.")


class MembershipSerializer(serializers.ModelSerializer):
    email = serializers.EmailField(source="user.email", read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "course", "user", "email", "role", "removed_at", "created_at"]
        read_only_fields = ["id", "course", "user", "email", "removed_at", "created_at"]


class RoleSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=[Membership.Role.TEACHER, Membership.Role.STUDENT])


class InviteSerializer(serializers.ModelSerializer):
    expired = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()

    class Meta:
        model = Invite
        fields = ["id", "course", "code", "url", "expires_at", "expired", "revoked", "created_at"]
        read_only_fields = fields

    def get_expired(self, invite: Invite) -> bool:
        return invite.expires_at is not None and invite.expires_at <= timezone.now()

    def get_url(self, invite: Invite) -> str:
        """The link a student opens to join (the page asks to confirm)."""
        from django.urls import reverse

        path = reverse("courses:join-link", args=[invite.code])
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path


class InviteCreateSerializer(serializers.Serializer):
    expires_at = serializers.DateTimeField(required=False, allow_null=True)


class JoinSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=40)


def validated(serializer_class: type[serializers.Serializer], data: Any) -> dict:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class HardCardSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="card_id")
    front = serializers.CharField()
    again = serializers.IntegerField(help_text="“Again” answers in the retention window.")


class MissedQuestionSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="question_id")
    question = serializers.CharField()
    answers = serializers.IntegerField()
    wrong = serializers.IntegerField()
    wrong_choice = serializers.CharField(help_text="The wrong choice picked most often.")
    wrong_choice_count = serializers.IntegerField()


class BehindStudentSerializer(serializers.Serializer):
    user = serializers.IntegerField(source="user_id")
    name = serializers.CharField()
    email = serializers.EmailField()
    learned = serializers.IntegerField()
    share = serializers.FloatField()


class UnitProgressSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="unit.pk")
    title = serializers.CharField(source="unit.title")
    due_date = serializers.DateField(source="unit.due_date", allow_null=True)
    overdue = serializers.BooleanField()
    cards = serializers.IntegerField()
    questions = serializers.IntegerField()
    learned_share = serializers.FloatField(
        allow_null=True, help_text="Cards in FSRS review state, averaged over current students."
    )
    reviews = serializers.IntegerField()
    retention = serializers.FloatField(
        allow_null=True, help_text="Share of the window's reviews that were not “Again”."
    )
    quiz_answers = serializers.IntegerField()
    quiz_wrong = serializers.IntegerField()
    hardest_cards = HardCardSerializer(source="hardest", many=True)
    most_missed_questions = MissedQuestionSerializer(source="missed", many=True)
    behind = BehindStudentSerializer(many=True)


class CourseProgressSerializer(serializers.Serializer):
    course = serializers.IntegerField(source="course.pk")
    students = serializers.IntegerField(source="student_count")
    retention_days = serializers.IntegerField()
    on_time_share = serializers.FloatField()
    since = serializers.DateTimeField()
    units = UnitProgressSerializer(many=True)


class CourseReportSerializer(serializers.Serializer):
    """A student's report as the course's teachers get it: what, why, never who."""

    id = serializers.IntegerField()
    kind = serializers.SerializerMethodField(help_text="card, question or material")
    card = serializers.IntegerField(source="flashcard_id", allow_null=True)
    question = serializers.IntegerField(source="question_id", allow_null=True)
    material = serializers.IntegerField(source="target_material")
    text = serializers.SerializerMethodField(help_text="The card's front or the question.")
    reason = serializers.CharField()
    status = serializers.CharField()
    created_at = serializers.DateTimeField()

    def get_kind(self, report: Any) -> str:
        if report.flashcard_id:
            return "card"
        return "question" if report.question_id else "material"

    def get_text(self, report: Any) -> str:
        if report.flashcard_id:
            return report.flashcard.front
        return report.question.question if report.question_id else ""
