from typing import Any

from rest_framework import serializers

from tutor.models import Conversation, Message


class CitationSerializer(serializers.Serializer[Any]):
    material = serializers.IntegerField()
    chunk = serializers.IntegerField()
    page = serializers.IntegerField(allow_null=True)
    start_seconds = serializers.FloatField(allow_null=True)
    quote = serializers.CharField()


class MessageSerializer(serializers.ModelSerializer[Message]):
    citations = CitationSerializer(many=True, read_only=True)

    class Meta:
        model = Message
        fields = ["id", "role", "content", "citations"]
        read_only_fields = fields


class ConversationSerializer(serializers.ModelSerializer[Conversation]):
    material = serializers.IntegerField(source="material_id", allow_null=True, read_only=True)
    messages = MessageSerializer(many=True, read_only=True)

    class Meta:
        model = Conversation
        fields = ["id", "material", "messages"]
        read_only_fields = fields


class ConversationCreateSerializer(serializers.Serializer[Any]):
    material = serializers.IntegerField(allow_null=True, required=False, min_value=1)


class MessageCreateSerializer(serializers.Serializer[Any]):
    content = serializers.CharField(max_length=4000)
