"""WSGI entry point (served by waitress in `spinepath serve`)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "spinepath.web.settings")
application = get_wsgi_application()
