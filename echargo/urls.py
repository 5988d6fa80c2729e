from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("admin/", admin.site.urls),
    path("ocpi/", include("apps.partners.urls")),
    path("ocpi/", include("apps.locations.urls")),
    path("ocpi/", include("apps.tariffs.urls")),
    path("ocpi/", include("apps.tokens.urls")),
    path("ocpi/", include("apps.sessions.urls")),
    path("ocpi/", include("apps.cdrs.urls")),
    path("ocpi/", include("apps.commands.urls")),
]
