"""The search endpoint: validate, search, shape."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.types import AuthenticatedRequest
from eduplatform import quota
from eduplatform.ownership import readable
from eduplatform.throttling import user_throttle
from materials.search.selectors import search
from materials.search.serializers import SearchQuerySerializer, SearchResponseSerializer
from materials.selectors import material_list_visible


class SearchApi(APIView):
    """Passages of the user's own materials that best match the query."""

    throttle_classes = [user_throttle(quota.SEARCH)]

    @extend_schema(
        parameters=[
            OpenApiParameter("q", str, required=True),
            OpenApiParameter("material", int),
            OpenApiParameter("k", int),
        ],
        responses={200: SearchResponseSerializer, 429: quota.RATE_RESPONSE},
    )
    def get(self, request: AuthenticatedRequest) -> Response:
        params = SearchQuerySerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        material = None
        if "material" in params.validated_data:
            material = readable(
                material_list_visible, request.user, params.validated_data["material"]
            )
        results = search(
            owner=request.user,
            query=params.validated_data["q"],
            material=material,
            k=params.validated_data["k"],
        )
        return Response(
            SearchResponseSerializer(
                {"results": results.hits, "degraded": results.degraded, "notice": results.notice}
            ).data
        )
