"""WSGI entry point (serve.py runs it under uWSGI: orderservice.wsgi:application)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orderservice.settings")

application = get_wsgi_application()
