from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET


@require_GET
def home_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("materials:list")
    return render(request, "home.html")


@require_GET
def healthz_view(request: HttpRequest) -> JsonResponse:
    """Database and queue reachability, for load balancers and `make run` checks."""
    import django_rq

    checks = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception:  # noqa: BLE001
        checks["database"] = "down"
    try:
        django_rq.get_connection("default").ping()
        checks["queue"] = "ok"
    except Exception:  # noqa: BLE001
        checks["queue"] = "down"
    healthy = all(value == "ok" for value in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "down", **checks}, status=200 if healthy else 503
    )
