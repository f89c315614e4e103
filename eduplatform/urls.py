from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from accounts.apis import LogoutAllApi, LogoutApi, TokenObtainApi, TokenRotateApi
from accounts.views import signup_view
from courses.apis import (
    CourseMaterialViewSet,
    CourseViewSet,
    InviteViewSet,
    JoinApi,
    MembershipViewSet,
    UnitViewSet,
)
from eduplatform.views import admin_index_with_budget, healthz_view
from materials.apis import MaterialViewSet
from materials.search.urls import api_urlpatterns as search_api_urlpatterns
from materials.study.urls import api_urlpatterns as study_api_urlpatterns
from materials.views import home_view
from tutor.apis import ConversationViewSet

# Django's refusals of a request it cannot read: JSON with the reason on the API.
handler400 = "eduplatform.body_limit.bad_request"

router = DefaultRouter()
router.register("materials", MaterialViewSet, basename="material")
router.register("tutor/conversations", ConversationViewSet, basename="conversation")
router.register("courses", CourseViewSet, basename="course")
router.register("units", UnitViewSet, basename="unit")
router.register("course-materials", CourseMaterialViewSet, basename="course-material")
router.register("memberships", MembershipViewSet, basename="membership")
router.register("invites", InviteViewSet, basename="invite")

api_urlpatterns: list[URLPattern | URLResolver] = [
    path("auth/token/", TokenObtainApi.as_view(), name="auth-token"),
    path("auth/token/rotate/", TokenRotateApi.as_view(), name="auth-token-rotate"),
    path("auth/logout/", LogoutApi.as_view(), name="auth-logout"),
    path("auth/logoutall/", LogoutAllApi.as_view(), name="auth-logoutall"),
    path("", include(search_api_urlpatterns)),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's start-up script as a file: no inline script.
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="docs"),
    path("", include(study_api_urlpatterns)),
    # Before the router's courses/{id}/, which would otherwise take "join".
    path("courses/join/", JoinApi.as_view(), name="course-join"),
    path("", include(router.urls)),
]

# The admin signs in through allauth's login page, so its password guesses
# count against the same per-address and per-account limits as everyone's.
admin.site.login = secure_admin_login(admin.site.login)  # type: ignore[method-assign]
# The start page shows the site's AI calls of today (SITE_DAILY_AI_CALL_LIMIT).
admin.site.index = admin_index_with_budget(admin.site.index)  # type: ignore[method-assign,assignment]
admin.site.index_template = "admin/site_index.html"

urlpatterns = [
    path("", home_view, name="home"),
    path("healthz", healthz_view, name="healthz"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/django-rq/", include("django_rq.urls")),
    path("admin/", admin.site.urls),
    # Before allauth's own, which it wraps (the same path and name).
    path("accounts/signup/", signup_view, name="account_signup"),
    path("accounts/", include("allauth.urls")),
    path("materials/", include("materials.urls")),
    # Before the tutor's routes: the search page kept its first address.
    path("tutor/search/", include("materials.search.urls")),
    path("tutor/", include("tutor.urls")),
    path("courses/", include("courses.urls")),
    path("api/", include(api_urlpatterns)),
]
