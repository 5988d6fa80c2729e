import gc
import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "echargo.settings")

application = get_wsgi_application()

# Everything loaded so far (settings, models, URL patterns, middleware) lives as long as the
# process. Python's full garbage collection walks all of it: ~100,000 objects, 30-60 ms here,
# a stall that lands on whichever partner request triggers it (a charger waiting for an
# authorization). Freezing moves these objects out of the collector's sight.
get_resolver().url_patterns  # noqa: B018 (build the URL resolver now, so it is frozen too)
gc.freeze()
