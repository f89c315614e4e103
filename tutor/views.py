"""HTMX pages of the tutor: conversations, the chat (streamed), and search."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import (
    Http404,
    HttpResponse,
    StreamingHttpResponse,
)
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.types import AuthenticatedHttpRequest
from eduplatform import quota
from eduplatform.ownership import owned, readable
from eduplatform.quota import QuotaExceeded
from eduplatform.throttling import user_rate_limited
from materials.models import Material
from materials.selectors import material_list_visible
from tutor.forms import AskForm
from tutor.models import Conversation, Message
from tutor.selectors import conversation_list, message_get, message_list
from tutor.services import conversation_create, message_ask, message_ask_stream, message_missed


def _owned_material(request: AuthenticatedHttpRequest, pk: int | str | None) -> Material | None:
    if pk in (None, ""):
        return None
    return readable(material_list_visible, request.user, pk)


def _owned_conversation(request: AuthenticatedHttpRequest, pk: int) -> Conversation:
    return owned(conversation_list, request.user, pk)


@login_required
@require_GET
def tutor_index_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Conversations about all materials, or about one (`?material=`), resumable."""
    material = _owned_material(request, request.GET.get("material"))
    context = {
        "material": material,
        "conversations": conversation_list(owner=request.user, material=material)[:50],
        "ready_count": material_list_visible(user=request.user).filter(status="ready").count(),
    }
    return render(request, "tutor/index.html", context)


@login_required
@require_POST
def conversation_create_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    material = _owned_material(request, request.POST.get("material"))
    conversation = conversation_create(owner=request.user, material=material)
    return redirect("tutor:conversation", pk=conversation.pk)


def _conversation_context(
    request: AuthenticatedHttpRequest, conversation: Conversation, form: AskForm
) -> dict[str, Any]:
    return {
        "conversation": conversation,
        "material": conversation.material,
        "chat_messages": message_list(owner=request.user, conversation=conversation),
        "others": conversation_list(owner=request.user, material=conversation.material).exclude(
            pk=conversation.pk
        )[:20],
        "form": form,
    }


@login_required
@require_GET
def conversation_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    conversation = _owned_conversation(request, pk)
    return render(
        request, "tutor/conversation.html", _conversation_context(request, conversation, AskForm())
    )


@login_required
@require_POST
def message_create_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """The form's plain POST: works without JavaScript, answers after a redirect."""
    conversation = _owned_conversation(request, pk)
    form = AskForm(request.POST)
    if not form.is_valid():
        context = _conversation_context(request, conversation, form)
        return render(request, "tutor/conversation.html", context, status=400)
    try:
        message_ask(conversation=conversation, content=form.cleaned_data["content"])
    except QuotaExceeded as exc:
        form.add_error(None, exc.message)
        context = _conversation_context(request, conversation, form)
        response = render(request, "tutor/conversation.html", context, status=429)
        response["Retry-After"] = str(exc.wait)
        return response
    return redirect(reverse("tutor:conversation", args=[conversation.pk]) + "#latest")


def _event(name: str, data: object) -> str:
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def _render_message(
    request: AuthenticatedHttpRequest, conversation: Conversation, message: Message
) -> str:
    # Re-read so the message gets its citation links like the page does.
    shown = message_list(owner=request.user, conversation=conversation)
    message = next(m for m in shown if m.pk == message.pk)
    return render_to_string("tutor/_message.html", {"message": message}, request=request)


@login_required
@require_POST
def message_stream_view(
    request: AuthenticatedHttpRequest, pk: int
) -> HttpResponse | StreamingHttpResponse:
    """The answer as server-sent events: `delta` pieces of text, then `done`
    with the finished message's HTML (its citations checked and linked)."""
    conversation = _owned_conversation(request, pk)
    form = AskForm(request.POST)
    if not form.is_valid():
        return HttpResponse(
            json.dumps({"errors": form.errors.get_json_data()}),
            status=400,
            content_type="application/json",
        )

    try:
        pieces = message_ask_stream(conversation=conversation, content=form.cleaned_data["content"])
    except QuotaExceeded as exc:
        # The page falls back to the plain form post, which shows the message.
        response = HttpResponse(
            json.dumps({"detail": exc.message, "code": exc.default_code}),
            status=429,
            content_type="application/json",
        )
        response["Retry-After"] = str(exc.wait)
        return response

    def events() -> Iterator[str]:
        # Padding pushes the first bytes through proxies that buffer small bodies.
        yield ": " + " " * 2048 + "\n\n"
        for piece in pieces:
            if isinstance(piece, Message):
                yield _event("done", _render_message(request, conversation, piece))
            else:
                yield _event("delta", piece)

    stream = StreamingHttpResponse(events(), content_type="text/event-stream; charset=utf-8")
    stream["Cache-Control"] = "no-cache"
    stream["X-Accel-Buffering"] = "no"
    return stream


@login_required
@require_POST
@user_rate_limited(quota.MISSED)
def message_missed_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """ "Didn't get it": the answer's cited sentence comes back in tomorrow's reviews."""
    try:
        message = message_get(owner=request.user, pk=pk)
    except Message.DoesNotExist as exc:
        raise Http404 from exc
    card = message_missed(message=message)
    if request.htmx:
        return render(request, "tutor/_missed.html", {"card": card})
    if card is None:
        messages.info(request, _("This answer cites nothing that can become a card."))
    else:
        messages.success(request, _("It will come back in tomorrow's reviews."))
    url = reverse("tutor:conversation", args=[message.conversation_id])
    return redirect(f"{url}#m{message.pk}")
