"""HTML pages, a small JSON API and the health check.

API (JSON in and out; no session, so no CSRF token):
  GET    /api/lists/[?name=N]       lists with their items (optionally by name)
  POST   /api/lists/                {"name": ...} -> 201 and the new list
  GET    /api/lists/ID/             one list
  DELETE /api/lists/ID/             204
  POST   /api/lists/ID/items/       {"title": ..., "done": false} -> 201
  GET, PATCH, DELETE /api/items/ID/ one item; PATCH takes "title" and/or "done"
"""
import json
import logging

from django.conf import settings
from django.db import DatabaseError, connection
from django.http import HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from .models import Item, TodoList

log = logging.getLogger(__name__)
MAX_LENGTH = 200


class BadRequest(Exception):
    pass


def _body(request):
    try:
        data = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(f"the body is not JSON: {exc}")
    if not isinstance(data, dict):
        raise BadRequest("the body must be a JSON object")
    return data


def _text(data, key, required=True):
    value = data.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise BadRequest(f"`{key}` must be a non-empty string")
    value = value.strip()
    if len(value) > MAX_LENGTH:
        raise BadRequest(f"`{key}` is longer than {MAX_LENGTH} characters")
    return value


def _flag(data, key):
    value = data.get(key)
    if value is not None and not isinstance(value, bool):
        raise BadRequest(f"`{key}` must be true or false")
    return value


def json_api(view):
    """Exempts a JSON view from CSRF and turns BadRequest into a 400."""

    @csrf_exempt
    def wrapper(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except BadRequest as exc:
            return JsonResponse({"error": str(exc)}, status=400)

    wrapper.__name__ = view.__name__
    wrapper.__doc__ = view.__doc__
    return wrapper


# --- health ------------------------------------------------------------------


@never_cache
def healthz(request):
    """200 when the database answers a query on the app's own table, else 503."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        TodoList.objects.exists()
    except DatabaseError as exc:
        log.warning("health check failed: %s", exc)
        return JsonResponse(
            {"status": "error", "node": settings.NODE_NAME, "error": str(exc)}, status=503
        )
    return JsonResponse({"status": "ok", "node": settings.NODE_NAME})


# --- API ---------------------------------------------------------------------


@json_api
def api_lists(request):
    if request.method == "GET":
        lists = TodoList.objects.prefetch_related("items")
        name = request.GET.get("name")
        if name is not None:
            lists = lists.filter(name=name)
        return JsonResponse({"lists": [todo_list.as_dict() for todo_list in lists]})
    if request.method == "POST":
        data = _body(request)
        todo_list = TodoList.objects.create(name=_text(data, "name"))
        return JsonResponse(todo_list.as_dict(), status=201)
    return HttpResponseNotAllowed(["GET", "POST"])


@json_api
def api_list(request, list_id):
    todo_list = get_object_or_404(TodoList, pk=list_id)
    if request.method == "GET":
        return JsonResponse(todo_list.as_dict())
    if request.method == "DELETE":
        todo_list.delete()
        return HttpResponse(status=204)
    return HttpResponseNotAllowed(["GET", "DELETE"])


@json_api
def api_items(request, list_id):
    todo_list = get_object_or_404(TodoList, pk=list_id)
    if request.method == "GET":
        return JsonResponse({"items": [item.as_dict() for item in todo_list.items.all()]})
    if request.method == "POST":
        data = _body(request)
        item = todo_list.items.create(title=_text(data, "title"), done=bool(_flag(data, "done")))
        return JsonResponse(item.as_dict(), status=201)
    return HttpResponseNotAllowed(["GET", "POST"])


@json_api
def api_item(request, item_id):
    item = get_object_or_404(Item, pk=item_id)
    if request.method == "GET":
        return JsonResponse(item.as_dict())
    if request.method == "PATCH":
        data = _body(request)
        title = _text(data, "title", required=False)
        done = _flag(data, "done")
        if title is not None:
            item.title = title
        if done is not None:
            item.done = done
        item.save()
        return JsonResponse(item.as_dict())
    if request.method == "DELETE":
        item.delete()
        return HttpResponse(status=204)
    return HttpResponseNotAllowed(["GET", "PATCH", "DELETE"])


# --- HTML --------------------------------------------------------------------


def _form_text(request, key):
    value = request.POST.get(key, "").strip()
    return value[:MAX_LENGTH] if value else None


@require_http_methods(["GET", "POST"])
def index(request):
    if request.method == "POST":
        name = _form_text(request, "name")
        if name:
            todo_list = TodoList.objects.create(name=name)
            return redirect("todo:list", list_id=todo_list.id)
        return redirect("todo:index")
    lists = TodoList.objects.prefetch_related("items")
    return render(request, "todo/index.html", {"lists": lists, "node": settings.NODE_NAME})


@require_http_methods(["GET", "POST"])
def list_detail(request, list_id):
    todo_list = get_object_or_404(TodoList, pk=list_id)
    if request.method == "POST":
        title = _form_text(request, "title")
        if title:
            todo_list.items.create(title=title)
        return redirect("todo:list", list_id=todo_list.id)
    return render(
        request,
        "todo/list.html",
        {"todo_list": todo_list, "items": todo_list.items.all(), "node": settings.NODE_NAME},
    )


@require_http_methods(["POST"])
def item_toggle(request, item_id):
    item = get_object_or_404(Item, pk=item_id)
    item.done = not item.done
    item.save(update_fields=["done"])
    return redirect("todo:list", list_id=item.todo_list_id)
