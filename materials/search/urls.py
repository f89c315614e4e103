"""The search page (namespace search:) and the search API route (included under /api/).

The page keeps the address it always had, /tutor/search/, so bookmarks and
links still open it; the name is search's own (search:search).
"""

from django.urls import path

from materials.search.apis import SearchApi
from materials.search.views import search_view

app_name = "search"

urlpatterns = [
    path("", search_view, name="search"),
]

api_urlpatterns = [
    path("search/", SearchApi.as_view(), name="search"),
]
