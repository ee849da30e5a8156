"""The HTTP contract as OpenAPI describes it (the app is built, not started: no servers)."""

from __future__ import annotations

from helpdesk_intake.bootstrap import create_app
from helpdesk_intake.settings import Settings


def test_operations_have_stable_ids_and_document_their_failures() -> None:
    spec = create_app(Settings()).openapi()
    operations = {
        (method.upper(), path): operation
        for path, item in spec["paths"].items()
        for method, operation in item.items()
    }
    assert {key: op["operationId"] for key, op in operations.items()} == {
        ("POST", "/v1/tickets"): "create_ticket",
        ("GET", "/v1/tickets/{ticket_id}"): "get_ticket",
        ("GET", "/healthz"): "healthz",
        ("GET", "/readyz"): "readyz",
        ("GET", "/metrics"): "metrics",
    }
    assert set(operations[("POST", "/v1/tickets")]["responses"]) == {"201", "413", "415", "422", "503"}
    assert set(operations[("GET", "/v1/tickets/{ticket_id}")]["responses"]) == {"200", "404", "422", "503"}


def test_defaults_are_intakes_own() -> None:
    settings = Settings()
    assert (settings.http_port, settings.mongodb_database) == (8001, "helpdesk_intake")
    assert (settings.max_body_bytes, settings.publish_timeout_seconds) == (1_048_576, 10.0)
    assert settings.read_model_group_id == "intake-read-model"
