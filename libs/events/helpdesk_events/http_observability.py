"""Every service's HTTP side, observed: request counts and latencies by route template, a server span
per request that the routes' own spans hang under, and the ticket id of routes that name one.

FastAPI makes the server span itself once an SDK tracer provider is installed (its native telemetry,
`FastAPI(telemetry=...)`); this middleware then annotates that span, and makes one of its own only
under a FastAPI that does not. Installed by `observe_http(app, service)` from each composition root,
last, so it is the outermost middleware and sees every answer (a 413 from a body limit too).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping, MutableMapping
from typing import Any

from fastapi import FastAPI
from opentelemetry import propagate, trace
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from helpdesk_events.logs import ticket_context
from helpdesk_events.metrics import HTTP_REQUEST_SECONDS, HTTP_REQUESTS

try:  # FastAPI with lazily included routers: app.routes holds the inclusions, this flattens them
    from fastapi.routing import iter_route_contexts as _flat_routes
except ImportError:  # older FastAPI copies every included route into app.routes

    def _flat_routes(routes: Iterable[Any]) -> Iterator[Any]:
        return iter(routes)


tracer = trace.get_tracer("helpdesk_events.http")

UNMATCHED = "unmatched"  # no route: one label for every unknown path, so scanners cannot grow the series
# Probes and scrapes every few seconds would drown the traces; they are still counted.
UNTRACED_ROUTES = frozenset({"/healthz", "/readyz", "/metrics"})
_KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE", "QUERY"})


def route_of(scope: Scope) -> tuple[str, Mapping[str, Any]]:
    """The template of the route a request goes to (`/v1/tickets/{ticket_id}`, never the raw path) and
    its path parameters; UNMATCHED when none. Matched here, before the app routes the request, so the
    ticket is known for everything the route does. A route that matches the path but not the method
    (a 405) still names its template."""
    partial: tuple[str, Mapping[str, Any]] | None = None
    for route in _flat_routes(getattr(scope.get("app"), "routes", ())):
        template = getattr(route, "path_format", None) or getattr(route, "path", None)
        if template is None:
            continue
        match, child_scope = route.matches(scope)
        if match == Match.FULL:
            return template, child_scope.get("path_params", {})
        if match == Match.PARTIAL and partial is None:
            partial = (template, child_scope.get("path_params", {}))
    return partial or (UNMATCHED, {})


def method_label(method: str) -> str:
    """Methods outside HTTP's own set are one label (OpenTelemetry's `_OTHER`), for the same reason."""
    return method if method in _KNOWN_METHODS else "_OTHER"


def is_probe(scope: MutableMapping[str, Any]) -> bool:
    return scope.get("path") in UNTRACED_ROUTES


def _with_trace_headers(scope: Scope) -> Scope:
    """The request as the app sees it, its `traceparent` now naming the server span. Routes that read
    the caller's trace context from the headers (intake hands it to its own spans) then hang their
    spans under this request's, so the trace runs from the HTTP span on."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    replaced = {name.lower().encode("latin-1") for name in carrier}
    headers = [(name, value) for name, value in scope.get("headers", ()) if name.lower() not in replaced]
    headers.extend((name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in carrier.items())
    return {**scope, "headers": headers}


def _framework_span() -> trace.Span | None:
    """The server span FastAPI made for this request, if it made one (it is current here)."""
    span = trace.get_current_span()
    return span if span.is_recording() and getattr(span, "kind", None) is trace.SpanKind.SERVER else None


class HttpObservability:
    """Pure ASGI middleware (no BaseHTTPMiddleware: that would buffer streamed answers and split the
    request's context)."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = method_label(scope.get("method", ""))
        route, params = route_of(scope)
        # What the client gets when the app raises before answering (Starlette's error middleware).
        status = 500

        async def send_observed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        ticket_id = params.get("ticket_id")
        started = time.perf_counter()
        try:
            with ticket_context(str(ticket_id) if ticket_id is not None else None):
                await self._handle(scope, receive, send_observed, method, route, ticket_id, lambda: status)
        finally:
            HTTP_REQUESTS.labels(self.service, method, route, str(status)).inc()
            HTTP_REQUEST_SECONDS.labels(self.service, method, route).observe(time.perf_counter() - started)

    async def _handle(
        self, scope: Scope, receive: Receive, send: Send, method: str, route: str, ticket_id: Any, status: Any
    ) -> None:
        if route in UNTRACED_ROUTES:
            await self.app(scope, receive, send)
        elif (span := _framework_span()) is not None:
            span.set_attribute("helpdesk.service", self.service)
            if ticket_id is not None:
                span.set_attribute("helpdesk.ticket_id", str(ticket_id))
            await self.app(_with_trace_headers(scope), receive, send)
        else:
            await self._traced(scope, receive, send, method, route, ticket_id, status)

    async def _traced(
        self, scope: Scope, receive: Receive, send: Send, method: str, route: str, ticket_id: Any, status: Any
    ) -> None:
        attributes: dict[str, str] = {
            "http.request.method": method,
            "http.route": route,
            "url.path": scope.get("path", ""),
            "helpdesk.service": self.service,
        }
        if ticket_id is not None:
            attributes["helpdesk.ticket_id"] = str(ticket_id)
        headers = {name.decode("latin-1"): value.decode("latin-1") for name, value in scope.get("headers", ())}
        with tracer.start_as_current_span(
            f"{method} {route}",
            context=propagate.extract(headers),  # a caller's traceparent makes this span its child
            kind=trace.SpanKind.SERVER,
            attributes=attributes,
        ) as span:
            try:
                await self.app(_with_trace_headers(scope), receive, send)
            finally:
                code = status()
                span.set_attribute("http.response.status_code", code)
                if code >= 500:
                    span.set_status(trace.StatusCode.ERROR, f"HTTP {code}")


def observe_http(app: FastAPI, service: str) -> None:
    """Spans, `helpdesk_http_requests_total` and `helpdesk_http_request_seconds` for every route of
    `app`; call it last in the composition root so it wraps every other middleware."""
    app.add_middleware(HttpObservability, service=service)
    # FastAPI's native telemetry would trace the probes too. Its settings are the constructor's
    # `telemetry={"exclude": ...}`, which the composition roots do not pass; the same dict is set here.
    telemetry = getattr(app, "_telemetry", None)
    if isinstance(telemetry, dict) and telemetry.get("exclude") is None:
        telemetry["exclude"] = is_probe
