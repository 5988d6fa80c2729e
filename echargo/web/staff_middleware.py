"""The staff site's middleware, skipped for partner calls under /ocpi/.

Sessions, CSRF, the logged-in user, messages, frame options and the history user serve people in
the admin. A partner's OCPI call uses none of them (DRF authenticates the Token header and its
views are CSRF-exempt), yet running the chain costs about a sixth of the CPU of an authorization
request. Django has no per-path middleware, so this one middleware holds the staff chain and
runs it for every path except /ocpi/, including the chain's process_view and
process_exception hooks (CSRF checks in process_view).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.handlers.exception import convert_exception_to_response
from django.http import HttpRequest, HttpResponse
from django.utils.module_loading import import_string

from echargo.ocpi.middleware import is_ocpi_path


class StaffSiteMiddleware:
    sync_capable = True
    async_capable = False

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        handler = get_response
        instances = []
        # Built inside out, as django.core.handlers.base.BaseHandler.load_middleware does.
        for path in reversed(settings.STAFF_MIDDLEWARE):
            instance = import_string(path)(handler)
            instances.insert(0, instance)
            handler = convert_exception_to_response(instance)
        self.staff_chain = handler
        self.view_hooks = [m.process_view for m in instances if hasattr(m, "process_view")]
        self.exception_hooks = [
            m.process_exception for m in reversed(instances) if hasattr(m, "process_exception")
        ]

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if is_ocpi_path(request.path_info):
            return self.get_response(request)
        return self.staff_chain(request)

    def process_view(
        self, request: HttpRequest, view_func: Any, view_args: Any, view_kwargs: Any
    ) -> HttpResponse | None:
        if is_ocpi_path(request.path_info):
            return None
        for hook in self.view_hooks:
            response = hook(request, view_func, view_args, view_kwargs)
            if response is not None:
                return response
        return None

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if is_ocpi_path(request.path_info):
            return None
        for hook in self.exception_hooks:
            response = hook(request, exception)
            if response is not None:
                return response
        return None
