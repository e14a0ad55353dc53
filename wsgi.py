"""WSGI entry point: `gunicorn wsgi:app`."""

from vcollege import create_app

app = create_app()
