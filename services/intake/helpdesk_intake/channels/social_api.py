"""`POST /v1/channels/social/{network}/webhook`: a signed direct message or mention in.

The body is our normalized JSON (`SocialEventIn`), which each network's adapter maps its own
webhook to, signed like Meta's webhooks: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw
body>` under the network's secret from SOCIAL_WEBHOOK_SECRETS. The signature is checked on the
exact bytes before anything is parsed.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, HTTPException, Request, Response, status

from helpdesk_intake.channels.chat_api import ChannelIntakeDep
from helpdesk_intake.channels.inbound_http import (
    InboundReceived,
    answer,
    inbound_route,
    json_body,
    json_request_body,
    problem,
    require_media_type,
    require_signature,
    unrecorded_is_503,
)
from helpdesk_intake.channels.social_message import SocialEventIn, social_message

SIGNATURE_HEADER = "X-Hub-Signature-256"


def get_social_secrets(request: Request) -> dict[str, str]:
    return request.app.state.social_secrets


SocialSecretsDep = Annotated[dict[str, str], Depends(get_social_secrets)]

router = APIRouter(prefix="/v1/channels/social", tags=["social"])


@inbound_route(
    router,
    "/{network}/webhook",
    operation_id="receive_social_event",
    request_body=json_request_body(SocialEventIn),
    responses={
        401: problem("X-Hub-Signature-256 is missing or does not sign the body."),
        404: problem("No secret is configured for this network."),
        415: problem("The body is not JSON."),
        422: problem("The body is not a valid social event."),
    },
)
async def receive_social_event(
    network: str,
    request: Request,
    secrets: SocialSecretsDep,
    intake: ChannelIntakeDep,
    response: Response,
    signature: Annotated[str | None, Header(alias=SIGNATURE_HEADER, include_in_schema=False)] = None,
) -> InboundReceived:
    """A direct message or mention (`SocialEventIn`): threaded by `thread_id`, else into the
    sender's ticket still being worked on, else a new ticket (channel social). The same
    `delivery_id` twice is one event."""
    network = network.lower()
    secret = secrets.get(network)
    if secret is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no social network {network!r} is configured")
    body = await request.body()
    require_signature(secret, SIGNATURE_HEADER, signature, body)
    require_media_type(request.headers.get("content-type"), "application/json", "JSON")
    event = json_body(SocialEventIn, body)
    with unrecorded_is_503("social event"):
        outcome = await intake.receive(social_message(network, event))
    return answer(outcome, response)
