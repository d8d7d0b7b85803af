"""The notes app: an HTML page, a JSON API and a health check."""
import json

from django.conf import settings
from django.db import DatabaseError
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from .models import Note

MAX_TEXT = Note._meta.get_field("text").max_length


def clean_text(value):
    """The note's text, stripped, or None when it is empty or too long."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text or len(text) > MAX_TEXT:
        return None
    return text


@require_http_methods(["GET", "POST"])
def index(request):
    error = None
    if request.method == "POST":
        text = clean_text(request.POST.get("text"))
        if text is not None:
            Note.objects.create(text=text)
            return redirect("index")
        error = f"A note needs 1 to {MAX_TEXT} characters."
    notes = Note.objects.all()[:50]
    return render(request, "notes/index.html", {"notes": notes, "error": error}, status=400 if error else 200)


@csrf_exempt
@require_http_methods(["GET", "POST"])
def api_notes(request):
    if request.method == "GET":
        return JsonResponse({"notes": [n.as_dict() for n in Note.objects.all()[:100]]})
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        return JsonResponse({"error": "the body is not JSON"}, status=400)
    text = clean_text(body.get("text") if isinstance(body, dict) else None)
    if text is None:
        return JsonResponse({"error": f"text: 1 to {MAX_TEXT} characters"}, status=400)
    return JsonResponse(Note.objects.create(text=text).as_dict(), status=201)


@require_http_methods(["GET", "HEAD"])
def healthz(request):
    """200 with the node, the gunicorn port and the note count when the
    database answers; 503 otherwise."""
    try:
        count = Note.objects.count()
    except DatabaseError as err:
        return JsonResponse({"status": "error", "error": str(err)}, status=503)
    return JsonResponse(
        {"status": "ok", "node": settings.NODE_NAME, "port": settings.GUNICORN_PORT, "notes": count}
    )
