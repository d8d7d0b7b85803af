"""Adds `X-Served-By: NODE_NAME` to every response, so that a client behind
the load balancer can tell which node answered."""
from django.conf import settings


def served_by(get_response):
    def middleware(request):
        response = get_response(request)
        if settings.NODE_NAME:
            response["X-Served-By"] = settings.NODE_NAME
        return response

    return middleware
