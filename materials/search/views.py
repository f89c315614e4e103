"""The search page (all my materials, or one material's Search tab) and its results fragment."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.utils.safestring import SafeString
from django.views.decorators.http import require_GET

from accounts.models import User
from accounts.types import AuthenticatedHttpRequest
from eduplatform import quota
from eduplatform.ownership import readable
from eduplatform.throttling import user_rate_limited
from materials.links import source_label, source_url
from materials.models import Chunk, Material
from materials.search.forms import SearchForm
from materials.search.selectors import Hit, search
from materials.search.snippets import highlighted, snippet_text
from materials.selectors import material_list_visible


@dataclass(frozen=True)
class SearchResult:
    hit: Hit
    snippet: SafeString  # the best sentence and its neighbours on the same page

    @property
    def chunk(self) -> Chunk:
        return self.hit.chunk

    @property
    def score(self) -> float:
        return self.hit.score

    @property
    def source_url(self) -> str:
        material = self.hit.chunk.material
        quote = self.hit.sentence.text if self.hit.sentence else ""
        return source_url(
            material, page=self.hit.page, start_seconds=self.hit.start_seconds, quote=quote
        )

    @property
    def source_label(self) -> str:
        return source_label(
            material=self.hit.chunk.material,
            page=self.hit.page,
            start_seconds=self.hit.start_seconds,
        )


@dataclass(frozen=True)
class SearchPage:
    results: list[SearchResult]
    notice: str = ""  # why the results match words only, when they do


def search_page(
    *, owner: User, query: str, material: Material | None = None, k: int = 10
) -> SearchPage:
    """Search results with their highlighted snippets, and any notice, for the search page."""
    found = search(owner=owner, query=query, material=material, k=k)
    return SearchPage(results=_with_snippets(query, found.hits), notice=found.notice)


def search_results(
    *, owner: User, query: str, material: Material | None = None, k: int = 10
) -> list[SearchResult]:
    """Search results with their highlighted snippets, for the search page."""
    return search_page(owner=owner, query=query, material=material, k=k).results


def _with_snippets(query: str, hits: list[Hit]) -> list[SearchResult]:
    texts = [
        (
            snippet_text(hit.sentence, hit.sentences) if hit.sentence else hit.chunk.text[:300],
            hit.chunk.language,
        )
        for hit in hits
    ]
    snippets = highlighted(query, texts)
    return [
        SearchResult(hit=hit, snippet=snippet) for hit, snippet in zip(hits, snippets, strict=True)
    ]


def _has_query(request: AuthenticatedHttpRequest) -> bool:
    return bool(request.GET.get("q", "").strip())


@login_required
@require_GET
@user_rate_limited(quota.SEARCH, when=_has_query)
def search_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Search my materials (or one material); one view for the page and its results fragment."""
    form = SearchForm(request.GET)
    query, material = "", None
    if form.is_valid():
        query = form.cleaned_data["q"].strip()
        if form.cleaned_data.get("material"):
            material = readable(material_list_visible, request.user, form.cleaned_data["material"])
    page = (
        search_page(owner=request.user, query=query, material=material, k=10)
        if query
        else SearchPage(results=[])
    )
    template = "search/search.html"
    # A boosted tab switch wants the whole page; the search form wants its results.
    if request.htmx and not request.htmx.boosted:
        template += "#search-results"
    return render(
        request,
        template,
        {
            "form": form,
            "query": query,
            "material": material,
            "results": page.results,
            "notice": page.notice,
        },
    )
