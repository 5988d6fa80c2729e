"""Content negotiation for OCPI: every answer is JSON, whatever the Accept header says."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rest_framework.negotiation import DefaultContentNegotiation


class OcpiContentNegotiation(DefaultContentNegotiation):
    """OCPI 2.2.1 (transport and format) exchanges JSON only, and partners' Accept headers vary
    (none, `*/*`, `text/plain`...). DRF's default parses Accept on every request to choose among
    our one renderer, and answers 406 to a partner whose Accept does not name JSON: a partner
    should get the JSON answer, and the authorization path should not pay for the parsing."""

    def select_renderer(
        self, request: Any, renderers: Iterable[Any], format_suffix: str | None = None
    ) -> tuple[Any, str]:
        renderer = next(iter(renderers))
        return renderer, renderer.media_type
