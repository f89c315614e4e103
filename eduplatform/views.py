from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET
from rq import Worker


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
