from django.conf import settings


def served_by(get_response):
    """Every response says which node and which gunicorn port answered."""

    def middleware(request):
        response = get_response(request)
        if settings.NODE_NAME:
            response["X-Served-By"] = settings.NODE_NAME
        if settings.GUNICORN_PORT:
            response["X-Gunicorn-Port"] = settings.GUNICORN_PORT
        return response

    return middleware
