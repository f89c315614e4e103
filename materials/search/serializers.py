"""The search API's query and answer."""

from typing import Any

from rest_framework import serializers


class SearchQuerySerializer(serializers.Serializer[Any]):
    q = serializers.CharField(max_length=500)
    material = serializers.IntegerField(required=False, min_value=1)
    k = serializers.IntegerField(required=False, min_value=1, max_value=50, default=5)


class SearchResultSerializer(serializers.Serializer[Any]):
    chunk = serializers.IntegerField(source="chunk.pk")
    material = serializers.IntegerField(source="chunk.material_id")
    page = serializers.IntegerField(
        allow_null=True, help_text="The page of the best-matching sentence: the one to open."
    )
    page_start = serializers.IntegerField(source="chunk.page_start", allow_null=True)
    page_end = serializers.IntegerField(source="chunk.page_end", allow_null=True)
    start_seconds = serializers.FloatField(allow_null=True)
    text = serializers.CharField(source="chunk.text")
    sentence = serializers.CharField(
        source="quote", help_text="The best-matching sentence (on `page`, or at `start_seconds`)."
    )
    score = serializers.FloatField()


class SearchResponseSerializer(serializers.Serializer[Any]):
    results = SearchResultSerializer(many=True)
    degraded = serializers.BooleanField(
        help_text="The hosted embedding model did not answer in time: full text only."
    )
    notice = serializers.CharField(
        allow_blank=True, help_text="Says so in the user's language when degraded; else empty."
    )
