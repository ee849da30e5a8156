"""What every service process has: logging, health, readiness, metrics, and serving over uvicorn."""

from __future__ import annotations

import asyncio
import logging
import math
import signal
from collections.abc import Awaitable, Callable, Mapping
from typing import TypeVar

import uvicorn
from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pymongo import AsyncMongoClient

from helpdesk_events.logs import LogFormat, LogSettings, log_formatter
from helpdesk_events.settings import ServiceSettings
from helpdesk_events.tracing import configure_tracing

ReadinessCheck = Callable[[], Awaitable[object]]


def configure_logging(service: str, level: str, log_format: LogFormat = "json") -> None:
    """One line per record on stderr: a JSON object (time, level, service, logger, message, trace_id,
    span_id, ticket_id) by default, or readable text with LOG_FORMAT=text."""
    handler = logging.StreamHandler()
    handler.setFormatter(log_formatter(service, log_format))
    logging.basicConfig(level=level.upper(), handlers=[handler])
    # faust and aiokafka log every rebalance step at INFO.
    for noisy in ("aiokafka", "faust", "mode"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLogger().level))


def ops_router(checks: Mapping[str, ReadinessCheck], timeout: float = 2.0) -> APIRouter:
    """`/healthz` (the process is alive), `/readyz` (its broker and stores answer), `/metrics`."""
    router = APIRouter(tags=["operations"])

    @router.get("/healthz", operation_id="healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz", operation_id="readyz")
    async def readyz() -> JSONResponse:
        results: dict[str, str] = {}
        for name, check in checks.items():
            try:
                await asyncio.wait_for(check(), timeout)
                results[name] = "ok"
            except Exception as error:  # readiness reports, it does not raise
                results[name] = f"error: {error!r}"[:300]
        ready = all(value == "ok" for value in results.values())
        return JSONResponse(
            {"status": "ready" if ready else "not_ready", "checks": results},
            status_code=200 if ready else 503,
        )

    @router.get("/metrics", operation_id="metrics")
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router


def _json_safe(value: object) -> object:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # JSON has no Infinity or NaN
    if isinstance(value, dict):
        return {key: _json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(item) for item in value]
    return value


async def _invalid_request(_: Request, error: RequestValidationError) -> JSONResponse:
    """FastAPI's 422, but one that can always be written: its default echoes the input back and
    fails with a 500 on a body holding Infinity or NaN (Python's json reads them)."""
    return JSONResponse({"detail": _json_safe(jsonable_encoder(error.errors()))}, status_code=422)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _invalid_request)


def mongo_client(settings: ServiceSettings) -> AsyncMongoClient:
    return AsyncMongoClient(settings.mongodb_url, tz_aware=True, serverSelectionTimeoutMS=5_000)


async def ping_mongo(client: AsyncMongoClient) -> None:
    await client.admin.command("ping")


def _stopped_cleanly(signum: int, frame: object) -> None:
    raise SystemExit(0)


def serve(app: FastAPI, settings: ServiceSettings) -> None:
    """Run under uvicorn; SIGTERM stops accepting, runs the lifespan shutdown, and exits with 0."""
    # uvicorn handles SIGTERM itself, then raises it again with the handler it found once the
    # shutdown is done: with the default one the process would end "killed by SIGTERM" (143)
    # after a clean stop. This one makes a clean stop exit 0.
    signal.signal(signal.SIGTERM, _stopped_cleanly)
    uvicorn.run(
        app,
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        timeout_graceful_shutdown=8,
    )


S = TypeVar("S", bound=ServiceSettings)


def run_service(service: str, settings_class: type[S], create_app: Callable[[S], FastAPI]) -> None:
    """What every `python -m helpdesk_<service>` does: settings from the environment, logging, tracing, serve."""
    settings = settings_class()
    configure_logging(service, settings.log_level, LogSettings().log_format)
    configure_tracing(service)  # OTEL_* variables; a bad one stops the service here
    serve(create_app(settings), settings)
