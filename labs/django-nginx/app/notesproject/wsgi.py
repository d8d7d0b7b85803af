"""WSGI entry point: gunicorn runs notesproject.wsgi:application."""
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "notesproject.settings")
application = get_wsgi_application()
