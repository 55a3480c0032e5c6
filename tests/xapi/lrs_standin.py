"""A small learning record store on 127.0.0.1 for tests: a real HTTP server that checks every
statement it is sent the way an LRS would, keeps the valid ones by id, and can misbehave."""

from __future__ import annotations

import base64
import json
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ADL_VERBS = {
    f"http://adlnet.gov/expapi/verbs/{v}"
    for v in ("experienced", "answered", "mastered", "completed")
}
INTERACTION = "http://adlnet.gov/expapi/activities/cmi.interaction"


def _uuid(value: Any) -> bool:
    try:
        return str(uuid.UUID(str(value))) == value
    except ValueError:
        return False


def _iri(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(("http://", "https://"))


def problems(s: dict[str, Any], home_page: str) -> list[str]:
    """What is wrong with one statement (empty when it is valid xAPI 1.0.3 as we send it)."""
    out = []
    if not _uuid(s.get("id")):
        out.append("id is not a UUID")
    actor = s.get("actor", {})
    account = actor.get("account", {})
    if actor.get("objectType") != "Agent" or set(account) != {"homePage", "name"}:
        out.append("actor must be an Agent with an account")
    if account.get("homePage") != home_page or not account.get("name"):
        out.append("actor account homePage/name")
    if "@" in str(account.get("name")) or "mbox" in actor:
        out.append("actor must not carry an e-mail address")
    verb = s.get("verb", {})
    if verb.get("id") not in ADL_VERBS or not verb.get("display"):
        out.append(f"unknown verb {verb.get('id')}")
    obj = s.get("object", {})
    if obj.get("objectType") != "Activity" or not _iri(obj.get("id")):
        out.append("object must be an Activity with an IRI")
    if not _iri(obj.get("definition", {}).get("type")):
        out.append("object definition type")
    context = s.get("context", {})
    if not _uuid(context.get("registration")) or not context.get("language"):
        out.append("context registration/language")
    try:
        datetime.fromisoformat(s["timestamp"])
    except (KeyError, ValueError):
        out.append("timestamp")
    if str(verb.get("id", "")).endswith("/answered"):
        out += _answer_problems(s, obj)
    elif not str(verb.get("id", "")).endswith("/completed"):
        parents = context.get("contextActivities", {}).get("parent", [])
        if not parents or not all(_iri(p.get("id")) for p in parents):
            out.append("contextActivities.parent must be the course")
    return out


def _answer_problems(s: dict[str, Any], obj: dict[str, Any]) -> list[str]:
    out = []
    definition = obj.get("definition", {})
    if definition.get("type") != INTERACTION or definition.get("interactionType") != "choice":
        out.append("answered object must be a choice cmi.interaction")
    pattern = definition.get("correctResponsesPattern")
    if not isinstance(pattern, list) or not all(isinstance(p, str) for p in pattern):
        out.append("correctResponsesPattern must be a list of strings")
    ids = {c.get("id") for c in definition.get("choices", [])}
    result = s.get("result", {})
    if not isinstance(result.get("success"), bool) or result.get("response") not in ids:
        out.append("result.success/response")
    return out


@dataclass
class StandInLrs:
    home_page: str
    username: str = "lrs-user"
    password: str = "lrs-pass"
    fail_first: int = 0  # answer this many POSTs with 503
    refuse_ids: set[str] = field(default_factory=set)  # answer 400 to any batch holding one
    status_override: int | None = None  # e.g. 401: answer every POST so
    stored: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: int = 0
    invalid: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> StandInLrs:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/xapi"

    def answer(self, headers: Any, body: bytes) -> tuple[int, Any]:
        with self.lock:
            self.requests += 1
            if self.status_override:
                return self.status_override, {"error": "configured"}
            if self.requests <= self.fail_first:
                return 503, {"error": "try again"}
        expected = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        if headers.get("Authorization") != f"Basic {expected}":
            return 401, {"error": "credentials"}
        if headers.get("X-Experience-API-Version") != "1.0.3":
            return 400, {"error": "X-Experience-API-Version must be 1.0.3"}
        batch = json.loads(body)
        errors = {s.get("id"): problems(s, self.home_page) for s in batch}
        errors = {k: v for k, v in errors.items() if v}
        if errors:
            with self.lock:
                self.invalid += [f"{k}: {v}" for k, v in errors.items()]
            return 400, {"errors": errors}
        if any(s["id"] in self.refuse_ids for s in batch):
            return 400, {"error": "refused"}
        with self.lock:
            for s in batch:
                self.stored[s["id"]] = s
        return 200, [s["id"] for s in batch]


def _handler(lrs: StandInLrs) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            if self.path != "/xapi/statements":
                self._reply(404, {"error": "not found"})
                return
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self._reply(*lrs.answer(self.headers, body))

        def _reply(self, status: int, payload: Any) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet tests

    return Handler
