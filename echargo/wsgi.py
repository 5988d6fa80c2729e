import gc
import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "echargo.settings")

application = get_wsgi_application()

try:
    import uwsgi  # exists only inside a uWSGI worker (the Procfile's web server)
except ImportError:
    uwsgi = None
if uwsgi is not None:
    from django.conf import settings

    from echargo.web.chunked_input import with_chunked_bodies

    application = with_chunked_bodies(
        application,
        read_chunk=uwsgi.chunked_read,  # waits up to uwsgi.ini's chunked-input-timeout
        limit=settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 2**31,
    )

# Everything loaded so far (settings, models, URL patterns, middleware) lives as long as the
# process. Python's full garbage collection walks all of it: ~100,000 objects, 30-60 ms here,
# a stall that lands on whichever partner request triggers it (a charger waiting for an
# authorization). Freezing moves these objects out of the collector's sight.
get_resolver().url_patterns  # noqa: B018 (build the URL resolver now, so it is frozen too)
gc.freeze()
