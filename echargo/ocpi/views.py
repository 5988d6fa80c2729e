"""The base class of every module endpoint (Sender and Receiver)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from rest_framework.request import Request
from rest_framework.views import APIView

from .exceptions import InvalidParameters

# Object ids in URLs are CiString / string (OCPI 2.2.1 types): no control characters. A NUL
# (%00) would otherwise reach the database, which refuses it in text (a 500).
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def check_url_ids(kwargs: Mapping[str, Any]) -> None:
    """Refuse (2001) a URL whose ids hold control characters."""
    for name, value in kwargs.items():
        if isinstance(value, str) and _CONTROL.search(value):
            raise InvalidParameters(f"{name} in the URL holds control characters.")


class OcpiView(APIView):
    """A module endpoint: after authentication, the ids in the URL are checked before any
    lookup uses them. `ocpi_module` names the module in the exchange log."""

    ocpi_module = ""

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        check_url_ids(kwargs)
