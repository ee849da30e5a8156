"""The HTTP middleware every service installs: counts and latencies by route template and status,
a server span per request that the routes' own spans hang under, the ticket id of `{ticket_id}` routes."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI, HTTPException, Request
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from prometheus_client import REGISTRY

from helpdesk_events.http_observability import UNMATCHED, method_label, observe_http
from helpdesk_events.logs import TICKET_ID
from helpdesk_events.service import ops_router
from tests.unit.events.span_capture import ancestors, captured_spans

TEMPLATE = "/v1/tickets/{ticket_id}"


def desk_app(service: str, seen: dict) -> FastAPI:
    app = FastAPI()

    @app.get(TEMPLATE)
    async def get_ticket(ticket_id: str, request: Request) -> dict:
        seen["ticket_id"] = TICKET_ID.get()
        seen["traceparent"] = request.headers.get("traceparent")
        seen["span"] = trace.get_current_span().get_span_context()
        if ticket_id == "T-missing":
            raise HTTPException(404, "no such ticket")
        return {"ticket_id": ticket_id}

    @app.post("/v1/tickets")
    async def open_ticket() -> dict:
        return {"status": "new"}

    @app.get("/v1/boom")
    async def boom() -> dict:
        raise RuntimeError("store exploded")

    app.include_router(ops_router({}))
    observe_http(app, service)
    return app


@pytest.fixture
def service() -> str:
    return f"svc-{uuid.uuid4().hex[:8]}"


@pytest.fixture
async def client(service: str) -> AsyncIterator[tuple[httpx.AsyncClient, dict]]:
    seen: dict = {}
    transport = httpx.ASGITransport(app=desk_app(service, seen), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://desk") as http:
        yield http, seen


def requests(service: str, method: str, route: str, status: str) -> float:
    labels = {"service": service, "method": method, "route": route, "status": status}
    return REGISTRY.get_sample_value("helpdesk_http_requests_total", labels) or 0.0


def latency_count(service: str, method: str, route: str) -> float:
    labels = {"service": service, "method": method, "route": route}
    return REGISTRY.get_sample_value("helpdesk_http_request_seconds_count", labels) or 0.0


async def test_requests_are_counted_by_route_template_and_status(client, service: str) -> None:  # type: ignore[no-untyped-def]
    http, _ = client
    assert (await http.get("/v1/tickets/T-1")).status_code == 200
    assert (await http.get("/v1/tickets/T-2")).status_code == 200
    assert (await http.get("/v1/tickets/T-missing")).status_code == 404
    assert (await http.post("/v1/tickets")).status_code == 200
    assert (await http.get("/v1/boom")).status_code == 500
    assert (await http.get("/healthz")).status_code == 200

    assert requests(service, "GET", TEMPLATE, "200") == 2  # two tickets, one series: never the raw path
    assert requests(service, "GET", TEMPLATE, "404") == 1
    assert requests(service, "POST", "/v1/tickets", "200") == 1
    assert requests(service, "GET", "/v1/boom", "500") == 1  # an exception is the 500 the client got
    assert requests(service, "GET", "/healthz", "200") == 1
    assert latency_count(service, "GET", TEMPLATE) == 3
    assert REGISTRY.get_sample_value(
        "helpdesk_http_requests_total", {"service": service, "method": "GET", "route": "/v1/tickets/T-1", "status": "200"}
    ) is None


async def test_unknown_paths_share_one_label_and_a_wrong_method_names_its_route(client, service: str) -> None:  # type: ignore[no-untyped-def]
    http, _ = client
    for path in ("/wp-admin", "/.env", "/v1/nothing/here"):
        assert (await http.get(path)).status_code == 404
    assert (await http.delete("/v1/tickets")).status_code == 405
    assert requests(service, "GET", UNMATCHED, "404") == 3
    assert requests(service, "DELETE", "/v1/tickets", "405") == 1


def test_methods_outside_http_s_own_are_one_label() -> None:
    assert method_label("GET") == "GET" and method_label("PROPFIND") == "_OTHER"


async def test_a_route_knows_its_ticket_and_the_request_s_span_is_its_parent(client, service: str) -> None:  # type: ignore[no-untyped-def]
    http, seen = client
    with captured_spans() as exporter:
        assert (await http.get("/v1/tickets/T-7")).status_code == 200
    spans = list(exporter.get_finished_spans())
    (span,) = [s for s in spans if s.attributes.get("helpdesk.service") == service]
    assert span.name == f"GET {TEMPLATE}" and span.kind is trace.SpanKind.SERVER
    assert span.attributes["http.route"] == TEMPLATE and span.attributes["http.response.status_code"] == 200
    assert span.attributes["helpdesk.ticket_id"] == "T-7" and span.parent is None
    assert seen["ticket_id"] == "T-7"
    # The route runs inside the request's span (FastAPI may put its own operation spans between) ...
    route_span = next(s for s in spans if s.context.span_id == seen["span"].span_id)
    assert route_span is span or span in ancestors(route_span, spans)
    # ... and its traceparent header now names that span, for routes that read the caller's context.
    assert seen["traceparent"].startswith(f"00-{span.context.trace_id:032x}-{span.context.span_id:016x}-")
    assert TICKET_ID.get() is None  # the ticket ends with the request


async def test_a_caller_s_traceparent_makes_the_request_span_its_child(client, service: str) -> None:  # type: ignore[no-untyped-def]
    http, _ = client
    caller = TracerProvider().get_tracer("caller").start_span("caller")
    context = caller.get_span_context()
    header = f"00-{context.trace_id:032x}-{context.span_id:016x}-01"
    with captured_spans() as exporter:
        await http.get("/v1/tickets/T-8", headers={"traceparent": header})
    (span,) = [s for s in exporter.get_finished_spans() if s.attributes.get("helpdesk.service") == service]
    assert span.context.trace_id == context.trace_id
    assert span.parent is not None and span.parent.span_id == context.span_id


async def test_server_errors_mark_the_span_and_probes_make_none(client, service: str) -> None:  # type: ignore[no-untyped-def]
    http, _ = client
    with captured_spans() as exporter:
        await http.get("/v1/boom")
        await http.get("/healthz")
        await http.get("/metrics")
    spans = [s for s in exporter.get_finished_spans() if s.kind is trace.SpanKind.SERVER]
    assert [s.name for s in spans] == ["GET /v1/boom"]
    assert spans[0].attributes["helpdesk.service"] == service
    assert spans[0].status.status_code is trace.StatusCode.ERROR
    assert spans[0].attributes["http.response.status_code"] == 500
