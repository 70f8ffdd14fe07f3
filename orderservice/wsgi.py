"""WSGI entry point (serve.py runs it under uWSGI: orderservice.wsgi:application).

A body the server de-chunked comes without a Content-Length, which Django needs to read it: the
application is wrapped to give it one (orderservice/api/chunked.py).
"""

import os

from django.core.wsgi import get_wsgi_application

from orderservice.api.chunked import with_dechunked_bodies

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orderservice.settings")

application = with_dechunked_bodies(get_wsgi_application())
