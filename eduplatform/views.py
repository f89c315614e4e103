from collections.abc import Callable

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET
from rq import Worker

from eduplatform import quota


@require_GET
def healthz_view(request: HttpRequest) -> JsonResponse:
    """Database, queue and worker, for load balancers and `make run` checks."""
    import django_rq

    checks = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception:
        checks["database"] = "down"
    try:
        connection_ = django_rq.get_connection("default")
        connection_.ping()
        checks["queue"] = "ok"
        # Workers register themselves and refresh a TTL'd key while alive.
        workers = Worker.all(connection=connection_)
        checks["worker"] = "ok" if workers else "missing"
    except Exception:
        checks["queue"] = "down"
        checks["worker"] = "unknown"
    # Pages and search work without a worker; only processing waits for one.
    healthy = checks["database"] == "ok" and checks["queue"] == "ok"
    return JsonResponse(
        {"status": "ok" if healthy else "down", **checks}, status=200 if healthy else 503
    )


def admin_index_with_budget(index: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """The admin's start page, with the whole site's AI calls of today against their budget."""

    def view(request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        context = {"ai_budget": quota.site_usage(quota.AI), **(extra_context or {})}
        return index(request, extra_context=context)

    return view
