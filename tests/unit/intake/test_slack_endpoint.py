"""The Slack endpoint before any press reaches a ticket: off without a secret, signature first."""

from __future__ import annotations

import httpx

from helpdesk_intake.bootstrap import create_app
from helpdesk_intake.settings import Settings
from tests.support.slack_interactions import SIGNING_SECRET, block_actions, form_body, signed_headers

BODY = form_body(block_actions("ticket_solve", "T-1"))


def client_of(settings: Settings) -> httpx.AsyncClient:
    # Not started: these answers come before anything needs Kafka or MongoDB.
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(settings)), base_url="http://intake"
    )


async def test_without_a_signing_secret_slack_interactivity_is_off() -> None:
    async with client_of(Settings()) as client:
        response = await client.post("/v1/slack/interactions", content=BODY, headers=signed_headers(BODY))
    assert response.status_code == 503
    assert response.json()["detail"] == "Slack interactivity is not configured"


async def test_the_signature_is_checked_before_the_content_type() -> None:
    async with client_of(Settings(slack_signing_secret=SIGNING_SECRET)) as client:
        forged = await client.post(
            "/v1/slack/interactions", content=BODY, headers=signed_headers(BODY, secret="guess")
        )
        as_json = await client.post(
            "/v1/slack/interactions",
            content=BODY,
            headers={**signed_headers(BODY), "Content-Type": "application/json"},
        )
    assert forged.status_code == 401
    assert as_json.status_code == 415


async def test_a_press_on_the_open_ticket_link_button_is_acknowledged_and_does_nothing() -> None:
    # Not started: a press that touched a ticket would need Kafka and MongoDB and fail with 503.
    link = form_body(block_actions("ticket_open", "T-1"))
    unknown = form_body(block_actions("ticket_delete", "T-1"))
    async with client_of(Settings(slack_signing_secret=SIGNING_SECRET)) as client:
        opened = await client.post("/v1/slack/interactions", content=link, headers=signed_headers(link))
        refused = await client.post("/v1/slack/interactions", content=unknown, headers=signed_headers(unknown))
    assert (opened.status_code, opened.content) == (200, b"")
    assert refused.status_code == 400
