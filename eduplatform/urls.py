from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from accounts.apis import TokenObtainApi
from eduplatform.views import healthz_view, home_view
from materials.apis import MaterialViewSet
from materials.search.apis import SearchApi
from materials.study_urls import api_urlpatterns as study_api_urlpatterns
from tutor.apis import ConversationViewSet

router = DefaultRouter()
router.register("materials", MaterialViewSet, basename="material")
router.register("tutor/conversations", ConversationViewSet, basename="conversation")

api_urlpatterns = [
    path("auth/token/", TokenObtainApi.as_view(), name="auth-token"),
    path("search/", SearchApi.as_view(), name="search"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("", include(study_api_urlpatterns)),
    path("", include(router.urls)),
]

urlpatterns = [
    path("", home_view, name="home"),
    path("healthz", healthz_view, name="healthz"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/django-rq/", include("django_rq.urls")),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("materials/", include("materials.urls")),
    path("tutor/", include("tutor.urls")),
    path("api/", include(api_urlpatterns)),
]
