"""The one owner-scoped lookup that pages and APIs use for a URL's object."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar, cast

from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db.models import Model, QuerySet
from django.http import Http404

T = TypeVar("T", bound=Model)


def owned(
    source: QuerySet[T] | type[T] | Callable[..., QuerySet[T]], user: AbstractBaseUser, pk: object
) -> T:
    """The user's own row with this pk, or Http404.

    `source` is a queryset, a model, or a selector called as `source(owner=user)`
    (e.g. `owned(material_list, request.user, pk)`, which also leaves out hidden
    rows). The row must belong to `user` (its `owner` column) whatever is passed,
    so a selector that forgot its owner filter still cannot leak; a malformed pk
    is a 404 as well, so another student's object, a missing one and garbage in
    the URL all look the same from outside.
    """
    if isinstance(source, type) and issubclass(source, Model):
        queryset = source._default_manager.all()
    elif isinstance(source, QuerySet):
        queryset = source
    else:
        # A selector (mypy cannot tell that issubclass above took every model).
        queryset = cast("Callable[..., QuerySet[T]]", source)(owner=user)
    return _one_or_404(queryset.filter(owner=user), pk)


def readable(source: Callable[..., QuerySet[T]], user: AbstractBaseUser, pk: object) -> T:
    """The row with this pk among those a read selector lets `user` see, or Http404.

    For what is shared without changing hands (a course's materials): the
    selector, called as `source(user=user)`, is the whole scope, so it must be
    one whose name says it widens the owner's rows (`material_list_visible`).
    Writes keep using `owned`. Nothing is cached: a student removed from a
    course gets 404 on the next request.
    """
    return _one_or_404(source(user=user), pk)


def _one_or_404(queryset: QuerySet[T], pk: object) -> T:
    try:
        return queryset.get(pk=pk)
    except (ObjectDoesNotExist, ValueError, TypeError, ValidationError) as exc:
        raise Http404 from exc
