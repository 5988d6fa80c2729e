"""A foreign OCPI 2.2.1 partner for tests: no Django, only the standard library's http.server.

Written from the spec (transport_and_format, mod_locations, mod_tariffs, mod_tokens, mod_cdrs),
not from echargo, and as unlike echargo as the spec allows: every header it writes is lower case (as
HTTP/2 and most ASGI servers do), it caps list pages at `page_size` whatever limit it is asked
for, and on demand it drops its `link` header on one page or fails one page (HTTP 500, or an
answer that is no OCPI envelope). As a Receiver it answers a PATCH of an object it does not
hold with HTTP 404 and OCPI 2003/2004, as the spec's examples do. Every request is recorded
(`requests`) with its header names in lower case, so tests can check what echargo sent.

Sender lists:   GET  /ocpi/cpo/2.2.1/{locations,tariffs,sessions,cdrs}, /ocpi/emsp/2.2.1/tokens
Receivers:      PUT/PATCH/GET  /ocpi/emsp/2.2.1/{locations,tariffs,sessions}/CC/PID/ID[/...],
                /ocpi/cpo/2.2.1/tokens/CC/PID/UID
                POST /ocpi/emsp/2.2.1/cdrs (answered with a lower-case `location` header),
                GET  /ocpi/emsp/2.2.1/cdrs/CC/PID/ID (that location)
Commands:       POST /ocpi/cpo/2.2.1/commands/{command} (as a CPO: answers `command_response`),
                POST /ocpi/emsp/2.2.1/commands/... (as an eMSP: its response_urls; each
                CommandResult is recorded in `command_results`)
Authorize:      POST /ocpi/emsp/2.2.1/tokens/{uid}/authorize (answers `authorize_allowed` for
                a token of its tokens list, 404 + 2004 for any other)
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

SENDER_PATHS = {
    "locations": "/ocpi/cpo/2.2.1/locations",
    "tariffs": "/ocpi/cpo/2.2.1/tariffs",
    "tokens": "/ocpi/emsp/2.2.1/tokens",
    "cdrs": "/ocpi/cpo/2.2.1/cdrs",
    # OCPI 2.2.1 mod_commands: the eMSP's interface (where results go) is the SENDER.
    "commands": "/ocpi/emsp/2.2.1/commands",
    "sessions": "/ocpi/cpo/2.2.1/sessions",
}
RECEIVER_PATHS = {
    "locations": "/ocpi/emsp/2.2.1/locations",
    "tariffs": "/ocpi/emsp/2.2.1/tariffs",
    "tokens": "/ocpi/cpo/2.2.1/tokens",
    "cdrs": "/ocpi/emsp/2.2.1/cdrs",
    "commands": "/ocpi/cpo/2.2.1/commands",
    "sessions": "/ocpi/emsp/2.2.1/sessions",
}
# OCPI 2.2.1 status_codes: unknown location / unknown token; a generic client error otherwise.
UNKNOWN_STATUS = {"locations": 2003, "tokens": 2004}


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any


@dataclass
class ForeignPartner:
    """The partner's state and its misbehaviour switches; tests change them between calls."""

    page_size: int = 10
    # What its Sender lists, per module.
    lists: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    # What its Receivers hold, per module: object path (CC/PID/ID) -> object.
    held: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    # 0-based page numbers: answered without a link header / failed.
    drop_link_on_page: int | None = None
    fail_page: int | None = None
    # "http-500" (an OCPI envelope with status 3000 and HTTP 500) or "not-envelope" (HTTP 200,
    # an HTML body): both are failures a client must not mistake for the end of the list.
    fail_mode: str = "http-500"
    # The HTTP status of "unknown object" answers: 404, or 200 with only the OCPI status code
    # saying so (both occur in the field; OCPI 2.2.1 leaves the choice to the implementation).
    unknown_http_status: int = 404
    # Receiver answers that fail whatever the request (HTTP 500), to test retries.
    fail_receiver: bool = False
    # As a CPO: the CommandResponse it answers every command with (None: an HTTP 500).
    command_response: dict[str, Any] | None = field(
        default_factory=lambda: {"result": "ACCEPTED", "timeout": 30}
    )
    # As an eMSP: the CommandResults posted to its response_urls, and its authorize answer.
    command_results: list[Recorded] = field(default_factory=list)
    authorize_allowed: str = "ALLOWED"
    requests: list[Recorded] = field(default_factory=list)
    url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def endpoints(self, *modules: str, role: str = "SENDER") -> list[dict[str, str]]:
        """Endpoint entries (OCPI version details) of the partner's interfaces."""
        paths = SENDER_PATHS if role == "SENDER" else RECEIVER_PATHS
        return [{"identifier": m, "role": role, "url": self.url + paths[m]} for m in modules]

    def received(self, method: str | None = None) -> list[Recorded]:
        with self.lock:
            return [r for r in self.requests if method is None or r.method == method]


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _envelope(data: Any = None, status_code: int = 1000, message: str = "") -> bytes:
    body: dict[str, Any] = {"status_code": status_code, "timestamp": _now()}
    if data is not None:
        body["data"] = data
    if message:
        body["status_message"] = message
    return json.dumps(body).encode()


def _handler(partner: ForeignPartner) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _answer(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
            # send_response would add "Server:" and "Date:" in canonical case: write them here.
            self.send_response_only(status)
            all_headers = {
                "content-type": "application/json",
                "content-length": str(len(body)),
                "date": self.date_time_string(),
                "server": "foreign-ocpi/1.0",
                **(headers or {}),
            }
            for name, value in all_headers.items():
                self.send_header(name.lower(), value)
            self.end_headers()
            self.wfile.write(body)

        def _record(self) -> Recorded:
            split = urlsplit(self.path)
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = raw.decode(errors="replace")
            entry = Recorded(
                method=self.command,
                path=split.path,
                query=parse_qs(split.query),
                headers={k.lower(): v for k, v in self.headers.items()},
                body=body,
            )
            with partner.lock:
                partner.requests.append(entry)
            return entry

        def _module(self, path: str, paths: dict[str, str]) -> tuple[str, str] | None:
            for module, prefix in paths.items():
                if path == prefix or path.startswith(prefix + "/"):
                    return module, path[len(prefix) :].strip("/")
            return None

        def do_GET(self) -> None:
            entry = self._record()
            found = self._module(entry.path, SENDER_PATHS)
            if found and not found[1]:
                return self._page(found[0], entry)
            found = self._module(entry.path, RECEIVER_PATHS)
            if found and found[1]:
                obj = partner.held.get(found[0], {}).get(_object_path(found[1]))
                if obj is not None:
                    return self._answer(200, _envelope(obj))
                return self._unknown(found[0])
            self._answer(404, _envelope(status_code=2000, message="No such route."))

        def _page(self, module: str, entry: Recorded) -> None:
            objects = partner.lists.get(module, [])
            offset = int(entry.query.get("offset", ["0"])[0])
            asked = int(entry.query.get("limit", [str(partner.page_size)])[0])
            limit = min(asked, partner.page_size)
            number = offset // partner.page_size
            if number == partner.fail_page:
                if partner.fail_mode == "not-envelope":
                    body = b"<html><body>Bad gateway</body></html>"
                    return self._answer(200, body, {"content-type": "text/html"})
                return self._answer(500, _envelope(status_code=3000, message="Database down."))
            headers = {"x-total-count": str(len(objects)), "x-limit": str(limit)}
            if offset + limit < len(objects) and number != partner.drop_link_on_page:
                # OCPI 2.2.1 pagination: the next link repeats the query's filters.
                query = {k: v[0] for k, v in entry.query.items() if k not in ("offset", "limit")}
                extra = "".join(f"&{k}={v}" for k, v in query.items())
                next_url = f"{partner.url}{entry.path}?offset={offset + limit}&limit={limit}{extra}"
                headers["link"] = f'<{next_url}>; rel="next"'
            self._answer(200, _envelope(objects[offset : offset + limit]), headers)

        def do_PUT(self) -> None:
            entry = self._record()
            if self._receiver_down():
                return
            found = self._module(entry.path, RECEIVER_PATHS)
            if not found or not found[1] or not isinstance(entry.body, dict):
                return self._answer(400, _envelope(status_code=2001, message="Bad request."))
            module, rest = found
            key = _object_path(rest)
            held = partner.held.setdefault(module, {})
            if rest.count("/") > 2:
                # A PUT of an EVSE or connector into a location this partner does not hold.
                if key not in held:
                    return self._unknown(module)
            else:
                held[key] = entry.body
            self._answer(200, _envelope())

        def do_PATCH(self) -> None:
            entry = self._record()
            if self._receiver_down():
                return
            found = self._module(entry.path, RECEIVER_PATHS)
            if not found or not found[1] or not isinstance(entry.body, dict):
                return self._answer(400, _envelope(status_code=2001, message="Bad request."))
            module, rest = found
            obj = partner.held.get(module, {}).get(_object_path(rest))
            if obj is None:
                return self._unknown(module)
            held_periods = list(obj.get("charging_periods") or [])
            if rest.count("/") == 2:
                periods = entry.body.get("charging_periods") if module == "sessions" else None
                obj.update(entry.body)
                if periods is not None:
                    # mod_sessions: a PATCH's charging_periods are appended, not replaced.
                    obj["charging_periods"] = [*held_periods, *periods]
            self._answer(200, _envelope())

        def _cdr_post(self, entry: Recorded) -> None:
            # mod_cdrs Receiver: the CDR is POSTed to the module URL, and the answer's
            # Location names where it is kept. A CDR already held is kept as it was.
            if self._receiver_down():
                return
            if not isinstance(entry.body, dict):
                return self._answer(400, _envelope(status_code=2001, message="Bad request."))
            body = entry.body
            key = "/".join(str(body.get(k, "")) for k in ("country_code", "party_id", "id"))
            with partner.lock:
                partner.held.setdefault("cdrs", {}).setdefault(key.upper(), body)
            location = f"{partner.url}{RECEIVER_PATHS['cdrs']}/{key}"
            self._answer(200, _envelope(), {"location": location})

        def do_POST(self) -> None:
            entry = self._record()
            commands = self._module(entry.path, RECEIVER_PATHS)
            if commands and commands[0] == "cdrs" and not commands[1]:
                return self._cdr_post(entry)
            if commands and commands[0] == "commands" and commands[1]:
                if partner.command_response is None:
                    return self._answer(500, _envelope(status_code=3000, message="Down."))
                return self._answer(200, _envelope(partner.command_response))
            results = self._module(entry.path, SENDER_PATHS)
            if results and results[0] == "commands" and results[1]:
                if self._receiver_down():
                    return None
                with partner.lock:
                    partner.command_results.append(entry)
                return self._answer(200, _envelope())
            if results and results[0] == "tokens" and results[1].endswith("/authorize"):
                uid = results[1][: -len("/authorize")]
                token = next((t for t in partner.lists.get("tokens", []) if t["uid"] == uid), None)
                if token is None:
                    return self._unknown("tokens")
                return self._answer(
                    200, _envelope({"allowed": partner.authorize_allowed, "token": token})
                )
            self._answer(404, _envelope(status_code=2000, message="No such route."))

        def _unknown(self, module: str) -> None:
            code = UNKNOWN_STATUS.get(module, 2000)
            status = partner.unknown_http_status
            self._answer(status, _envelope(status_code=code, message=f"Unknown {module[:-1]}."))

        def _receiver_down(self) -> bool:
            if partner.fail_receiver:
                self._answer(500, _envelope(status_code=3000, message="Receiver down."))
            return partner.fail_receiver

    return Handler


def _object_path(rest: str) -> str:
    """CC/PID/ID of an object URL tail (an EVSE's or connector's path names its location)."""
    return "/".join(rest.split("?")[0].split("/")[:3]).upper()


class ForeignPartnerServer:
    """Serves a ForeignPartner on a loopback port from a thread: `with ForeignPartnerServer()
    as partner:` (or start()/stop())."""

    def __init__(self, partner: ForeignPartner | None = None) -> None:
        self.partner = partner or ForeignPartner()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self.partner))
        self.server.daemon_threads = True
        self.partner.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> ForeignPartner:
        self.thread.start()
        return self.partner

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    def __enter__(self) -> ForeignPartner:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
