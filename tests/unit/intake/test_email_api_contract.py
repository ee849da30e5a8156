"""The email route's OpenAPI: a raw message/rfc822 body, and every answer documented."""

from __future__ import annotations

from helpdesk_intake.bootstrap import create_app
from helpdesk_intake.settings import Settings


def test_the_inbound_email_operation_documents_its_body_and_answers() -> None:
    spec = create_app(Settings()).openapi()
    operation = spec["paths"]["/v1/channels/email/inbound"]["post"]
    assert operation["operationId"] == "receive_email"
    assert set(operation["requestBody"]["content"]) == {"message/rfc822"}
    assert set(operation["responses"]) == {"200", "201", "202", "400", "413", "415", "503"}


def test_the_smtp_listener_is_on_by_default_on_port_2525() -> None:
    settings = Settings()
    assert (settings.email_smtp_enabled, settings.email_smtp_port, settings.email_smtp_host) == (True, 2525, None)
