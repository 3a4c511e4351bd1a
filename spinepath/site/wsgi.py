"""WSGI entry point (served by gunicorn in `spinepath serve`; any WSGI server can use it).

Django sits behind :class:`spinepath.site.server.Gate`: the request-size limit and the trusted
proxy are settled before a request reaches it, whichever server runs it.
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "spinepath.site.settings")
django_application = get_wsgi_application()

from django.conf import settings  # noqa: E402  (after Django is set up)

from spinepath.site.server import Gate  # noqa: E402

application = Gate(
    django_application,
    max_body=settings.DATA_UPLOAD_MAX_MEMORY_SIZE,
    max_upload=settings.SPINEPATH_MAX_DICOM_UPLOAD,
    trusted_proxy=settings.SPINEPATH_TRUSTED_PROXY,
)
