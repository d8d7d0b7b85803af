"""gunicorn's entry point: `gunicorn wsgi:app` from the release directory."""

from flaskrelease import create_app

app = create_app()
