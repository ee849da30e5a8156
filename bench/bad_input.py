"""Bad input at volume: a mix of valid and malformed requests to every intake endpoint, for a while.

Per endpoint and kind (valid, malformed): requests, status codes, the share answered 5xx (must be 0
for malformed input: a malformed request is the client's fault, and a 5xx tells the client to retry
it), the share of malformed requests intake accepted (2xx), and latency p50/p95/p99. Afterwards the
intake process must still be alive and ready, and its own /metrics must agree that it answered no 5xx.

The generator is asyncio and httpx, not locust: locust monkey-patches the standard library with
gevent as it is imported, which fights the asyncio event loop that the rest of the bench (aiokafka,
the samplers) runs on in the same process; and a closed loop of a few workers over one httpx client
is all this needs. The catalogue is pure (request in, nothing sent), so tests check that each
malformed request really is malformed without a server.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import random
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import quote, urlencode

import httpx
import psutil
from prometheus_client.parser import text_string_to_metric_families

from bench.hops import percentiles
from helpdesk_intake.channels.webhook_signature import body_signature

Kind = Literal["valid", "malformed"]

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
RFC822 = "message/rfc822"


@dataclass(frozen=True)
class Probe:
    """One request to send, and what it is meant to be."""

    endpoint: str  # the route, as the table names it
    kind: Kind
    variant: str
    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    chunked: bool = False  # sent in pieces without Content-Length, as a client that lies about size would


@dataclass(frozen=True)
class SeedTicket:
    """A ticket made before the run, so agent actions and follow-ups have something real to act on."""

    ticket_id: str
    requester_email: str
    assignee_id: str | None = None
    customer_id: str | None = None


@dataclass
class Targets:
    """What the catalogue needs to know about the intake it talks to."""

    max_body_bytes: int
    social_network: str
    social_secret: str
    voice_secret: str
    slack_secret: str
    tickets: list[SeedTicket]
    run: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    _huge: dict[str, bytes] = field(default_factory=dict, repr=False)

    def huge(self, kind: str) -> bytes:
        """A body one KiB over the limit, built once per kind: the bench must not spend its CPU on it."""
        if kind not in self._huge:
            size = self.max_body_bytes + 1024
            if kind == "json":
                filler = "x" * size
                self._huge[kind] = json.dumps({"subject": "Huge", "body": filler}).encode()
            elif kind == "form":
                self._huge[kind] = ("TranscriptionText=" + "x" * size).encode()
            else:
                self._huge[kind] = b"From: a@example.com\r\nSubject: huge\r\n\r\n" + b"x" * size
        return self._huge[kind]


def slack_headers(secret: str, body: bytes, *, at: int | None = None) -> dict[str, str]:
    sent_at = str(int(time.time()) if at is None else at)
    digest = hmac.new(secret.encode(), f"v0:{sent_at}:".encode() + body, hashlib.sha256).hexdigest()
    return {"Content-Type": FORM, "X-Slack-Request-Timestamp": sent_at, "X-Slack-Signature": f"v0={digest}"}


def _json(value: object) -> bytes:
    return json.dumps(value).encode()


def _ticket(t: Targets, n: int) -> SeedTicket:
    return t.tickets[n % len(t.tickets)]


def _mail(t: Targets, n: int) -> bytes:
    return (
        f"From: Mail Customer {n} <mail{n}@example.com>\r\n"
        f"To: support@helpdesk.local\r\n"
        f"Subject: Bench mail {n}: invoice is wrong\r\n"
        f"Message-ID: <bench-{t.run}-{n}@example.com>\r\n"
        f"Date: Mon, 23 Nov 2026 10:00:00 +0000\r\n"
        f"Content-Type: text/plain; charset=utf-8\r\n\r\n"
        f"Hello, the invoice for order {n} charges me twice.\r\n"
    ).encode()


def _web_ticket(n: int) -> dict:
    return {
        "subject": f"Bad-input bench ticket {n}",
        "body": "The parcel never arrived.",
        "requester": {"email": f"bad{n}@example.com", "name": f"Customer {n}"},
        "tags": ["bench"],
    }


def _social_event(t: Targets, n: int) -> dict:
    return {
        "delivery_id": f"bench-{t.run}-{n}",
        "kind": "direct_message",
        "sender": {"handle": f"@fan{n % 50}", "name": "Fan"},
        "text": "My order is late",
    }


def _call_form(t: Targets, n: int) -> bytes:
    return urlencode(
        {"CallSid": f"CA{t.run}{n}", "From": f"+3361234{n % 10000:04d}", "To": "+3318000", "CallStatus": "completed",
         "CallDuration": "42", "TranscriptionText": "Please call me back about my order."}
    ).encode()


def _press(action_id: str, value: str | None, user: str = "UBENCH0") -> bytes:
    action: dict = {"action_id": action_id, "block_id": "ticket_buttons", "type": "button", "action_ts": "1.1"}
    if value is not None:
        action["value"] = value
    payload = {"type": "block_actions", "user": {"id": user}, "actions": [action]}
    return urlencode({"payload": json.dumps(payload)}).encode()


Build = Callable[[Targets, int], Probe]


def _variants() -> list[tuple[str, Kind, str, Build]]:
    """(endpoint, kind, variant, build) for every request the generator sends."""
    variants: list[tuple[str, Kind, str, Build]] = []

    def add(endpoint: str, kind: Kind, variant: str, build: Build) -> None:
        variants.append((endpoint, kind, variant, build))

    def json_endpoint(endpoint: str, path: Callable[[Targets, int], str], good: Callable[[Targets, int], dict],
                      wrong_types: dict) -> None:
        """The malformed bodies every JSON route must refuse with a 4xx."""
        def probe(kind: Kind, variant: str, body: Callable[[Targets, int], bytes], headers: dict | None = None,
                  chunked: bool = False) -> None:
            add(endpoint, kind, variant, lambda t, n: Probe(
                endpoint, kind, variant, "POST", path(t, n), {"Content-Type": JSON, **(headers or {})}, body(t, n),
                chunked))

        probe("valid", "valid", lambda t, n: _json(good(t, n)))
        probe("malformed", "bad JSON", lambda t, n: b'{"subject": "Printer on fire", "body": ')
        probe("malformed", "wrong types", lambda t, n: _json(wrong_types))
        probe("malformed", "empty object", lambda t, n: b"{}")
        probe("malformed", "JSON array", lambda t, n: b"[1, 2, 3]")
        probe("malformed", "not UTF-8", lambda t, n: b'{"subject": "\xff\xfe\xfa"}')
        probe("malformed", "deeply nested", lambda t, n: b"[" * 50_000 + b"]" * 50_000)
        probe("malformed", "wrong content type", lambda t, n: _json(good(t, n)), {"Content-Type": "text/plain"})
        probe("malformed", "form instead of JSON", lambda t, n: urlencode(good(t, n)).encode(),
              {"Content-Type": FORM})
        probe("malformed", "over MAX_BODY_BYTES", lambda t, n: t.huge("json"))
        probe("malformed", "over MAX_BODY_BYTES, chunked", lambda t, n: t.huge("json"), chunked=True)

    tickets = "POST /v1/tickets"
    json_endpoint(tickets, lambda t, n: "/v1/tickets", lambda t, n: _web_ticket(n),
                  {"subject": 42, "body": ["x"], "requester": "sam", "tags": "bench"})
    add(tickets, "malformed", "invalid email", lambda t, n: Probe(
        tickets, "malformed", "invalid email", "POST", "/v1/tickets", {"Content-Type": JSON},
        _json({**_web_ticket(n), "requester": {"email": "not-an-address", "name": "X"}})))

    chat = "POST /v1/channels/chat/messages"
    json_endpoint(chat, lambda t, n: "/v1/channels/chat/messages",
                  lambda t, n: {"conversation_id": f"bench-{t.run}-{n % 200}", "message_id": f"bench-{t.run}-{n}",
                                "text": "Hi, my printer is on fire", "visitor": {"email": f"chat{n % 200}@example.com"}},
                  {"conversation_id": 7, "message_id": None, "text": {"a": 1}, "visitor": "me"})

    def on_ticket(suffix: str) -> Callable[[Targets, int], str]:
        return lambda t, n: f"/v1/tickets/{_ticket(t, n).ticket_id}/{suffix}"

    replies = "POST /v1/tickets/{id}/replies"
    json_endpoint(replies, on_ticket("replies"),
                  lambda t, n: {"agent_id": "bench-0", "body": f"Looking into it ({n}).", "public": n % 2 == 0},
                  {"agent_id": 7, "body": None, "public": [1]})
    add(replies, "malformed", "unknown ticket", lambda t, n: Probe(
        replies, "malformed", "unknown ticket", "POST", f"/v1/tickets/{uuid.uuid4()}/replies", {"Content-Type": JSON},
        _json({"agent_id": "bench-0", "body": "Hello"})))

    status_route = "POST /v1/tickets/{id}/status"
    json_endpoint(status_route, on_ticket("status"),
                  lambda t, n: {"status": ("pending", "open", "on_hold")[n % 3], "agent_id": "bench-0"},
                  {"status": 3, "agent_id": ["bench-0"]})
    add(status_route, "malformed", "unknown status", lambda t, n: Probe(
        status_route, "malformed", "unknown status", "POST", on_ticket("status")(t, n), {"Content-Type": JSON},
        _json({"status": "exploded", "agent_id": "bench-0"})))
    add(status_route, "malformed", "closing an unsolved ticket", lambda t, n: Probe(
        status_route, "malformed", "closing an unsolved ticket", "POST", on_ticket("status")(t, n),
        {"Content-Type": JSON}, _json({"status": "closed", "agent_id": "bench-0"})))

    answers = "POST /v1/tickets/{id}/assignment-answers"
    json_endpoint(answers, on_ticket("assignment-answers"),
                  lambda t, n: {"agent_id": _ticket(t, n).assignee_id or "bench-0", "answer": "accepted"},
                  {"agent_id": {"id": 1}, "answer": True})
    add(answers, "malformed", "unknown answer", lambda t, n: Probe(
        answers, "malformed", "unknown answer", "POST", on_ticket("assignment-answers")(t, n), {"Content-Type": JSON},
        _json({"agent_id": "bench-0", "answer": "maybe"})))
    add(answers, "malformed", "not the assignee", lambda t, n: Probe(
        answers, "malformed", "not the assignee", "POST", on_ticket("assignment-answers")(t, n),
        {"Content-Type": JSON}, _json({"agent_id": "somebody-else", "answer": "accepted"})))

    follow_ups = "POST /v1/tickets/{id}/messages"
    json_endpoint(follow_ups, on_ticket("messages"),
                  lambda t, n: {"body": f"Any news? ({n})", "requester_email": _ticket(t, n).requester_email},
                  {"body": 12, "requester_email": 12})
    add(follow_ups, "malformed", "not the requester", lambda t, n: Probe(
        follow_ups, "malformed", "not the requester", "POST", on_ticket("messages")(t, n), {"Content-Type": JSON},
        _json({"body": "Let me in", "requester_email": "intruder@example.com"})))

    email = "POST /v1/channels/email/inbound"

    def mail(kind: Kind, variant: str, body: Callable[[Targets, int], bytes], content_type: str = RFC822,
             chunked: bool = False) -> None:
        add(email, kind, variant, lambda t, n: Probe(
            email, kind, variant, "POST", "/v1/channels/email/inbound", {"Content-Type": content_type}, body(t, n),
            chunked))

    mail("valid", "valid", _mail)
    mail("malformed", "binary garbage", lambda t, n: random.Random(n).randbytes(2048))
    mail("malformed", "empty", lambda t, n: b"")
    mail("malformed", "no From", lambda t, n: b"Subject: who am I\r\n\r\nno sender here\r\n")
    mail("malformed", "JSON sent as a mail", lambda t, n: _json(_web_ticket(n)))
    mail("malformed", "broken MIME", lambda t, n: (
        b"From: x@example.com\r\nSubject: broken\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: multipart/mixed\r\n\r\n--nothing\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!not base64"))
    mail("malformed", "wrong content type", _mail, content_type=JSON)
    mail("malformed", "over MAX_BODY_BYTES", lambda t, n: t.huge("mail"))
    mail("malformed", "over MAX_BODY_BYTES, chunked", lambda t, n: t.huge("mail"), chunked=True)

    social = "POST /v1/channels/social/{network}/webhook"

    def social_probe(kind: Kind, variant: str, body: Callable[[Targets, int], bytes],
                     signature: Callable[[Targets, bytes], str | None], network: str | None = None,
                     content_type: str = JSON) -> None:
        def build(t: Targets, n: int) -> Probe:
            raw = body(t, n)
            headers = {"Content-Type": content_type}
            if (value := signature(t, raw)) is not None:
                headers["X-Hub-Signature-256"] = value
            return Probe(social, kind, variant, "POST",
                         f"/v1/channels/social/{network or t.social_network}/webhook", headers, raw)
        add(social, kind, variant, build)

    def good_signature(t: Targets, raw: bytes) -> str:
        return body_signature(t.social_secret, raw)

    social_probe("valid", "valid", lambda t, n: _json(_social_event(t, n)), good_signature)
    social_probe("malformed", "no signature", lambda t, n: _json(_social_event(t, n)), lambda t, raw: None)
    social_probe("malformed", "wrong signature", lambda t, n: _json(_social_event(t, n)),
                 lambda t, raw: body_signature("not-the-secret", raw))
    social_probe("malformed", "signature not sha256=", lambda t, n: _json(_social_event(t, n)),
                 lambda t, raw: "md5=abc")
    social_probe("malformed", "signed, bad JSON", lambda t, n: b'{"delivery_id": ', good_signature)
    social_probe("malformed", "signed, wrong types", lambda t, n: _json({"delivery_id": 1, "kind": "shout",
                                                                        "sender": "x", "text": None}), good_signature)
    social_probe("malformed", "unknown network", lambda t, n: _json(_social_event(t, n)), good_signature,
                 network="myspace")
    social_probe("malformed", "wrong content type", lambda t, n: _json(_social_event(t, n)), good_signature,
                 content_type="text/plain")
    social_probe("malformed", "over MAX_BODY_BYTES", lambda t, n: t.huge("json"), good_signature)

    voice = "POST /v1/channels/voice/webhook"

    def voice_probe(kind: Kind, variant: str, body: Callable[[Targets, int], bytes],
                    signature: Callable[[Targets, bytes], str | None], content_type: str = FORM) -> None:
        def build(t: Targets, n: int) -> Probe:
            raw = body(t, n)
            headers = {"Content-Type": content_type}
            if (value := signature(t, raw)) is not None:
                headers["X-Helpdesk-Signature"] = value
            return Probe(voice, kind, variant, "POST", "/v1/channels/voice/webhook", headers, raw)
        add(voice, kind, variant, build)

    def voice_signature(t: Targets, raw: bytes) -> str:
        return body_signature(t.voice_secret, raw)

    voice_probe("valid", "valid", _call_form, voice_signature)
    voice_probe("malformed", "no signature", _call_form, lambda t, raw: None)
    voice_probe("malformed", "wrong signature", _call_form, lambda t, raw: body_signature("not-the-secret", raw))
    voice_probe("malformed", "signed, no CallSid", lambda t, n: b"From=%2B3361234&CallStatus=completed",
                voice_signature)
    voice_probe("malformed", "signed, bad duration", lambda t, n: _call_form(t, n).replace(b"=42", b"=forever"),
                voice_signature)
    voice_probe("malformed", "signed, not UTF-8", lambda t, n: b"CallSid=\xff\xfe&From=\xfa", voice_signature)
    voice_probe("malformed", "signed JSON body", lambda t, n: _json({"CallSid": "CA1"}), voice_signature,
                content_type=JSON)
    voice_probe("malformed", "over MAX_BODY_BYTES", lambda t, n: t.huge("form"), voice_signature)

    slack = "POST /v1/slack/interactions"

    def slack_probe(kind: Kind, variant: str, body: Callable[[Targets, int], bytes],
                    headers: Callable[[Targets, bytes], dict[str, str]]) -> None:
        def build(t: Targets, n: int) -> Probe:
            raw = body(t, n)
            return Probe(slack, kind, variant, "POST", "/v1/slack/interactions", headers(t, raw), raw)
        add(slack, kind, variant, build)

    def signed_press(t: Targets, raw: bytes) -> dict[str, str]:
        return slack_headers(t.slack_secret, raw)

    # The notifier's "Open ticket" link button: Slack tells the interactivity URL, intake says 200, nothing changes.
    slack_probe("valid", "valid", lambda t, n: _press("ticket_open", _ticket(t, n).ticket_id), signed_press)
    slack_probe("malformed", "unsigned", lambda t, n: _press("ticket_solve", _ticket(t, n).ticket_id),
                lambda t, raw: {"Content-Type": FORM})
    slack_probe("malformed", "wrong signature", lambda t, n: _press("ticket_solve", _ticket(t, n).ticket_id),
                lambda t, raw: slack_headers("not-the-secret", raw))
    slack_probe("malformed", "stale timestamp", lambda t, n: _press("ticket_solve", _ticket(t, n).ticket_id),
                lambda t, raw: slack_headers(t.slack_secret, raw, at=int(time.time()) - 3600))
    slack_probe("malformed", "timestamp not a number", lambda t, n: _press("ticket_solve", "x"),
                lambda t, raw: {**slack_headers(t.slack_secret, raw), "X-Slack-Request-Timestamp": "soon"})
    slack_probe("malformed", "signed, not a form", lambda t, n: b"\xff%%%payload", signed_press)
    slack_probe("malformed", "signed, payload not JSON", lambda t, n: b"payload=%7B%22type", signed_press)
    slack_probe("malformed", "signed, unknown action", lambda t, n: _press("launch_rockets", "x"), signed_press)
    slack_probe("malformed", "signed, wrong content type", lambda t, n: _json({"payload": {}}),
                lambda t, raw: {**slack_headers(t.slack_secret, raw), "Content-Type": JSON})
    slack_probe("malformed", "over MAX_BODY_BYTES", lambda t, n: t.huge("form"), signed_press)

    read = "GET /v1/tickets/{id}"
    add(read, "valid", "valid", lambda t, n: Probe(read, "valid", "valid", "GET", f"/v1/tickets/{_ticket(t, n).ticket_id}"))
    add(read, "malformed", "unknown id", lambda t, n: Probe(read, "malformed", "unknown id", "GET",
                                                           f"/v1/tickets/{uuid.uuid4()}"))
    add(read, "malformed", "junk id", lambda t, n: Probe(read, "malformed", "junk id", "GET",
                                                        "/v1/tickets/" + quote("../$where{}\x00" + "z" * 3000, safe="")))

    customers = "/v1/customers/{id}"
    def customer(t: Targets, n: int) -> str:
        return _ticket(t, n).customer_id or str(uuid.uuid4())

    add(customers, "valid", "valid read", lambda t, n: Probe(customers, "valid", "valid read", "GET",
                                                            f"/v1/customers/{customer(t, n)}"))
    add(customers, "valid", "valid tier", lambda t, n: Probe(
        customers, "valid", "valid tier", "PUT", f"/v1/customers/{customer(t, n)}/tier", {"Content-Type": JSON},
        _json({"tier": ("gold", "silver")[n % 2]})))
    add(customers, "malformed", "tier not a label", lambda t, n: Probe(
        customers, "malformed", "tier not a label", "PUT", f"/v1/customers/{customer(t, n)}/tier",
        {"Content-Type": JSON}, _json({"tier": "GOLD!! <script>"})))
    add(customers, "malformed", "tier wrong type", lambda t, n: Probe(
        customers, "malformed", "tier wrong type", "PUT", f"/v1/customers/{customer(t, n)}/tier",
        {"Content-Type": JSON}, _json({"tier": 42})))
    add(customers, "malformed", "identity of unknown kind", lambda t, n: Probe(
        customers, "malformed", "identity of unknown kind", "POST", f"/v1/customers/{customer(t, n)}/identities",
        {"Content-Type": JSON}, _json({"kind": "fax", "value": "+1"})))
    add(customers, "malformed", "identity bad JSON", lambda t, n: Probe(
        customers, "malformed", "identity bad JSON", "POST", f"/v1/customers/{customer(t, n)}/identities",
        {"Content-Type": JSON}, b'{"kind": '))
    add(customers, "malformed", "erase unknown customer", lambda t, n: Probe(
        customers, "malformed", "erase unknown customer", "DELETE", f"/v1/customers/{uuid.uuid4()}"))
    return variants


class Catalogue:
    """Picks requests: an endpoint in turn, then valid with `valid_share`, else one of its malformed kinds."""

    def __init__(self, targets: Targets, *, valid_share: float = 0.3, seed: int = 9) -> None:
        self.targets = targets
        self.valid_share = valid_share
        self._random = random.Random(seed)
        self._by_endpoint: dict[str, dict[Kind, list[Build]]] = {}
        for endpoint, kind, _variant, build in _variants():
            self._by_endpoint.setdefault(endpoint, {"valid": [], "malformed": []})[kind].append(build)
        self.endpoints = list(self._by_endpoint)

    def every_variant(self, n: int = 0) -> list[Probe]:
        """One request of every variant (tests, and a first pass so no variant goes unsent)."""
        return [build(self.targets, n + i) for i, (*_, build) in enumerate(_variants())]

    def next(self, n: int) -> Probe:
        builds = self._by_endpoint[self.endpoints[n % len(self.endpoints)]]
        kind: Kind = "valid" if self._random.random() < self.valid_share else "malformed"
        return self._random.choice(builds[kind])(self.targets, n)


@dataclass
class Outcome:
    probe: Probe
    status: int | None  # None: no HTTP answer (the connection failed or timed out)
    seconds: float
    error: str | None = None


async def _chunks(body: bytes, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start:start + size]


async def send(client: httpx.AsyncClient, probe: Probe) -> Outcome:
    started = time.perf_counter()
    content: bytes | AsyncIterator[bytes] | None = probe.body
    if probe.chunked and probe.body is not None:
        content = _chunks(probe.body)
    try:
        response = await client.request(probe.method, probe.path, headers=probe.headers, content=content)
    except httpx.HTTPError as error:
        return Outcome(probe, None, time.perf_counter() - started, type(error).__name__)
    return Outcome(probe, response.status_code, time.perf_counter() - started)


async def generate(
    client: httpx.AsyncClient, catalogue: Catalogue, *, seconds: float, concurrency: int
) -> tuple[list[Outcome], float]:
    """Every variant once, then a closed loop of `concurrency` workers for `seconds`; outcomes and wall time."""
    outcomes: list[Outcome] = []
    started = time.perf_counter()
    for probe in catalogue.every_variant():
        outcomes.append(await send(client, probe))
    deadline = time.perf_counter() + seconds
    counter = iter(range(10**9))

    async def worker() -> None:
        while time.perf_counter() < deadline:
            outcomes.append(await send(client, catalogue.next(next(counter))))

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return outcomes, time.perf_counter() - started


def summarize(outcomes: list[Outcome]) -> dict:
    """Per endpoint and kind, and per variant: counts, status histogram, 5xx share, latency."""
    groups: dict[tuple[str, str], list[Outcome]] = {}
    variants: dict[tuple[str, str, str], Counter] = {}
    for outcome in outcomes:
        probe = outcome.probe
        groups.setdefault((probe.endpoint, probe.kind), []).append(outcome)
        status = str(outcome.status) if outcome.status is not None else f"no answer ({outcome.error})"
        variants.setdefault((probe.endpoint, probe.kind, probe.variant), Counter())[status] += 1
    rows = []
    for (endpoint, kind), group in groups.items():
        statuses = Counter(str(o.status) if o.status is not None else "no answer" for o in group)
        answered = [o for o in group if o.status is not None]
        server_errors = sum(1 for o in answered if o.status >= 500)
        accepted = sum(1 for o in answered if 200 <= o.status < 300)
        rows.append({
            "endpoint": endpoint,
            "kind": kind,
            "requests": len(group),
            "statuses": dict(sorted(statuses.items())),
            "server_errors": server_errors,
            "error_rate_5xx": round(server_errors / len(group), 4),
            "accepted_2xx": accepted,
            "no_answer": len(group) - len(answered),
            "latency_ms": percentiles([o.seconds for o in group]),
        })
    rows.sort(key=lambda row: (row["endpoint"], row["kind"] != "valid"))
    return {
        "requests": len(outcomes),
        "by_endpoint": rows,
        "by_variant": [
            {"endpoint": endpoint, "kind": kind, "variant": variant, "statuses": dict(sorted(counts.items()))}
            for (endpoint, kind, variant), counts in sorted(variants.items())
        ],
        "malformed_5xx": sum(row["server_errors"] for row in rows if row["kind"] == "malformed"),
        "valid_5xx": sum(row["server_errors"] for row in rows if row["kind"] == "valid"),
        "no_answer": sum(row["no_answer"] for row in rows),
    }


def server_error_count(metrics_text: str, service: str = "intake") -> int:
    """5xx answers in `helpdesk_http_requests_total` of one service's /metrics: intake's own view."""
    return int(sum(
        sample.value
        for family in text_string_to_metric_families(metrics_text)
        for sample in family.samples
        if sample.name == "helpdesk_http_requests_total"
        and sample.labels.get("service") == service
        and sample.labels.get("status", "").startswith("5")
    ))  # fmt: skip


def print_bad_input(result: dict) -> None:
    print(f"bad input: {result['requests']:,} requests in {result['seconds']} s "
          f"({result['requests_per_second']}/s, {result['concurrency']} at a time); "
          f"malformed answered 5xx: {result['malformed_5xx']}, valid answered 5xx: {result['valid_5xx']}, "
          f"no answer: {result['no_answer']}")
    print(f"  {'endpoint':<42} {'kind':<9} {'requests':>8} {'5xx %':>6} {'2xx':>6} {'p50 ms':>7} {'p95 ms':>7} "
          f"{'p99 ms':>7}  statuses")
    for row in result["by_endpoint"]:
        lat = row["latency_ms"]
        statuses = " ".join(f"{k}:{v}" for k, v in row["statuses"].items())
        print(f"  {row['endpoint']:<42} {row['kind']:<9} {row['requests']:>8} {100 * row['error_rate_5xx']:>6.2f} "
              f"{row['accepted_2xx']:>6} {lat['p50']:>7} {lat['p95']:>7} {lat['p99']:>7}  {statuses}")
    after = result["intake_after"]
    print(f"  intake after the run: alive {after['alive']}, /readyz {after['readyz']}, "
          f"5xx in its own metrics {after['server_errors_in_metrics']}, error log lines {after['error_log_lines']}, "
          f"peak RSS {after['peak_rss_mb']} MB")


async def seed_tickets(
    client: httpx.AsyncClient, count: int, wait: float = 30.0, *, assigned: bool = True
) -> list[SeedTicket]:
    """Open `count` tickets and wait (up to `wait` s) until intake's read model has them, with the
    router's assignment when `assigned` (no router runs in the tests)."""
    made = []
    for n in range(count):
        body = {**_web_ticket(n), "requester": {"email": f"seed{n}@example.com", "name": f"Seed {n}"}}
        response = await client.post("/v1/tickets", json=body)
        response.raise_for_status()
        made.append((response.json()["ticket_id"], body["requester"]["email"]))
    deadline = time.perf_counter() + wait
    seen: dict[str, dict] = {}
    while time.perf_counter() < deadline and len(seen) < len(made):
        for ticket_id, _ in made:
            if ticket_id in seen:
                continue
            response = await client.get(f"/v1/tickets/{ticket_id}")
            if response.status_code == 200 and (response.json().get("assignee_id") or not assigned):
                seen[ticket_id] = response.json()
        await asyncio.sleep(0.5)
    return [
        SeedTicket(ticket_id, email, (seen.get(ticket_id) or {}).get("assignee_id"),
                   (seen.get(ticket_id) or {}).get("customer_id"))
        for ticket_id, email in made
    ]


def error_log_lines(text: str) -> int:
    """Lines of a service log (JSON lines, or text) that report an error or a traceback."""
    count = 0
    for line in text.splitlines():
        if "Traceback" in line:
            count += 1
            continue
        try:
            record = json.loads(line)
        except ValueError:
            count += " ERROR " in line or " CRITICAL " in line
            continue
        if isinstance(record, dict) and str(record.get("level", "")).upper() in {"ERROR", "CRITICAL"}:
            count += 1
    return count


@dataclass(frozen=True)
class BadInputPlan:
    seconds: float
    concurrency: int
    valid_share: float = 0.3
    seed_tickets: int = 8


async def bad_input_section(
    *,
    intake_url: str,
    intake_pid: int,
    intake_log: Path | None,
    targets: Callable[[list[SeedTicket]], Targets],
    plan: BadInputPlan,
    peak_rss_mb: Callable[[int], float],
) -> dict:
    """Seed a few tickets, send the mix for `plan.seconds`, then check intake is alive, ready and had no 5xx."""
    log_offset = intake_log.stat().st_size if intake_log is not None and intake_log.exists() else 0
    limits = httpx.Limits(max_connections=plan.concurrency * 2)
    async with httpx.AsyncClient(base_url=intake_url, timeout=30, limits=limits) as client:
        seeds = await seed_tickets(client, plan.seed_tickets)
        catalogue = Catalogue(targets(seeds), valid_share=plan.valid_share)
        metrics_before = server_error_count((await client.get("/metrics")).text)
        rss_before = peak_rss_mb(intake_pid)
        outcomes, seconds = await generate(client, catalogue, seconds=plan.seconds, concurrency=plan.concurrency)
        readyz = await client.get("/readyz")
        metrics_after = server_error_count((await client.get("/metrics")).text)
    try:
        process = psutil.Process(intake_pid)
        alive = process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        alive = False
    new_log = ""
    if intake_log is not None and intake_log.exists():
        with intake_log.open("rb") as handle:
            handle.seek(log_offset)
            new_log = handle.read().decode("utf-8", "replace")
    result = {
        "seconds": round(seconds, 1),
        "concurrency": plan.concurrency,
        "valid_share": plan.valid_share,
        "max_body_bytes": catalogue.targets.max_body_bytes,
        "seed_tickets_assigned": sum(1 for seed in seeds if seed.assignee_id),
        **summarize(outcomes),
        "intake_after": {
            "alive": alive,
            "readyz": readyz.status_code,
            "server_errors_in_metrics": metrics_after - metrics_before,
            "error_log_lines": error_log_lines(new_log),
            "peak_rss_mb_before": rss_before,
            "peak_rss_mb": peak_rss_mb(intake_pid) if alive else None,
        },
    }
    result["requests_per_second"] = round(result["requests"] / seconds, 1) if seconds else None
    return result
