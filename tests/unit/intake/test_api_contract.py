"""The HTTP contract as OpenAPI describes it (the app is built, not started: no servers)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

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
        ("POST", "/v1/tickets/{ticket_id}/replies"): "add_agent_reply",
        ("POST", "/v1/tickets/{ticket_id}/status"): "change_ticket_status",
        ("POST", "/v1/tickets/{ticket_id}/messages"): "add_customer_message",
        ("POST", "/v1/tickets/{ticket_id}/assignment-answers"): "answer_assignment",
        ("POST", "/v1/slack/interactions"): "slack_interaction",
        ("POST", "/v1/channels/email/inbound"): "receive_email",
        ("POST", "/v1/channels/chat/messages"): "receive_chat_message",
        ("POST", "/v1/channels/social/{network}/webhook"): "receive_social_event",
        ("POST", "/v1/channels/voice/webhook"): "receive_voice_call",
        ("GET", "/v1/customers/{customer_id}"): "get_customer",
        ("DELETE", "/v1/customers/{customer_id}"): "erase_customer",
        ("POST", "/v1/customers/{customer_id}/identities"): "add_customer_identity",
        ("PUT", "/v1/customers/{customer_id}/tier"): "set_customer_tier",
        ("GET", "/healthz"): "healthz",
        ("GET", "/readyz"): "readyz",
        ("GET", "/metrics"): "metrics",
    }
    assert set(operations[("POST", "/v1/tickets")]["responses"]) == {"201", "413", "415", "422", "503"}
    assert set(operations[("GET", "/v1/tickets/{ticket_id}")]["responses"]) == {"200", "404", "422", "503"}
    action_failures = {"404", "409", "415", "422", "503"}
    assert set(operations[("POST", "/v1/tickets/{ticket_id}/replies")]["responses"]) == {"201"} | action_failures
    assert set(operations[("POST", "/v1/tickets/{ticket_id}/status")]["responses"]) == {"200"} | action_failures
    assert set(operations[("POST", "/v1/tickets/{ticket_id}/messages")]["responses"]) == {
        "201", "403", *action_failures
    }
    assert {"200", "400", "401", "415", "503"} <= set(operations[("POST", "/v1/slack/interactions")]["responses"])
    customer = "/v1/customers/{customer_id}"
    assert set(operations[("GET", customer)]["responses"]) == {"200", "404", "422", "503"}
    assert set(operations[("DELETE", customer)]["responses"]) == {"202", "404", "422", "503"}
    assert set(operations[("PUT", customer + "/tier")]["responses"]) == {"200", "404", "422", "503"}


def test_defaults_are_intakes_own() -> None:
    settings = Settings()
    assert (settings.http_port, settings.mongodb_database) == (8001, "helpdesk_intake")
    assert (settings.max_body_bytes, settings.publish_timeout_seconds) == (1_048_576, 10.0)
    assert settings.read_model_group_id == "intake-read-model"


def test_slack_interactivity_is_off_without_a_signing_secret_and_refuses_a_blank_one() -> None:
    assert Settings().slack_signing_secret is None
    assert Settings(slack_signing_secret="s3cret").slack_signing_secret.get_secret_value() == "s3cret"
    with pytest.raises(ValidationError, match="SLACK_SIGNING_SECRET is blank"):
        Settings(slack_signing_secret="  ")
