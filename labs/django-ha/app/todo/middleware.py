"""The app's middleware:

* `served_by` adds `X-Served-By: NODE_NAME` to every response, so that a
  client behind the load balancer can tell which node answered;
* `DatabaseUnavailable` answers 503 instead of 500 when a view fails on a
  database error (this node's MariaDB is down or unreachable): HAProxy
  retries a GET that got 503 on the other node, and the health check
  (/healthz, which queries the database) takes this node out.
"""
import logging

from django.conf import settings
from django.db import DatabaseError
from django.http import HttpResponse, JsonResponse

log = logging.getLogger(__name__)
# Seconds a client is told to wait before trying again (Retry-After).
RETRY_AFTER = 5


def served_by(get_response):
    def middleware(request):
        response = get_response(request)
        if settings.NODE_NAME:
            response["X-Served-By"] = settings.NODE_NAME
        return response

    return middleware


class DatabaseUnavailable:
    """503 Service Unavailable (with Retry-After) for a view's DatabaseError:
    JSON under /api/, plain text elsewhere. Other exceptions are left to
    Django (500)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, DatabaseError):
            return None
        log.error("database error on %s %s: %s", request.method, request.path, exception)
        message = "the database of this node is unavailable; try again"
        if request.path.startswith("/api/"):
            response = JsonResponse({"error": message}, status=503)
        else:
            response = HttpResponse(message + "\n", status=503, content_type="text/plain")
        response["Retry-After"] = str(RETRY_AFTER)
        return response
