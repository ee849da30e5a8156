"""`POST /v1/channels/voice/webhook`: a telephony provider reports a finished call or a voicemail.

Form-encoded, as providers send it (CallSid, From, To, CallStatus or Event, CallDuration,
TranscriptionText, RecordingUrl), signed `X-Helpdesk-Signature: sha256=<hex HMAC-SHA256 of the raw
body>` under VOICE_WEBHOOK_SECRET. Without that secret the endpoint is off (503).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated
from urllib.parse import parse_qsl

from fastapi import APIRouter, Header, HTTPException, Request, Response, status

from helpdesk_intake.api import RETRY_AFTER_SECONDS
from helpdesk_intake.channels.chat_api import ChannelIntakeDep
from helpdesk_intake.channels.inbound_http import (
    InboundReceived,
    answer,
    inbound_route,
    problem,
    require_media_type,
    require_signature,
    unrecorded_is_503,
)
from helpdesk_intake.channels.voice_call import BadCall, call_message, parse_call

SIGNATURE_HEADER = "X-Helpdesk-Signature"
FORM = "application/x-www-form-urlencoded"

router = APIRouter(prefix="/v1/channels/voice", tags=["voice"])


@inbound_route(
    router,
    "/webhook",
    operation_id="receive_voice_call",
    request_body={
        "requestBody": {
            "required": True,
            "content": {
                FORM: {
                    "schema": {
                        "type": "object",
                        "required": ["CallSid", "From"],
                        "properties": {
                            name: {"type": "string"}
                            for name in (
                                "CallSid",
                                "From",
                                "To",
                                "CallStatus",
                                "Event",
                                "CallDuration",
                                "TranscriptionText",
                                "RecordingUrl",
                                "CallerName",
                            )
                        },
                    }
                }
            },
        }
    },
    responses={
        202: {"model": InboundReceived, "description": "The call is not finished yet: nothing recorded."},
        400: problem("The form is not UTF-8 URL-encoded text."),
        401: problem("X-Helpdesk-Signature is missing or does not sign the body."),
        415: problem(f"The body is not {FORM}."),
        422: problem("A required field is missing or invalid."),
        503: problem("Not configured (no VOICE_WEBHOOK_SECRET), or Kafka did not acknowledge: retry later."),
    },
)
async def receive_voice_call(
    request: Request,
    intake: ChannelIntakeDep,
    response: Response,
    signature: Annotated[str | None, Header(alias=SIGNATURE_HEADER, include_in_schema=False)] = None,
) -> InboundReceived:
    """A finished call or voicemail: into the caller's ticket if it is not closed and was updated
    within VOICE_THREAD_WINDOW_SECONDS, else a new ticket ("Voicemail from +33..."). The same
    CallSid and event twice is one event."""
    secret: str | None = request.app.state.voice_secret
    if secret is None:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            detail="the voice channel is not configured: set VOICE_WEBHOOK_SECRET",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    body = await request.body()
    require_signature(secret, SIGNATURE_HEADER, signature, body)
    require_media_type(request.headers.get("content-type"), FORM, "a form")
    try:
        form = dict(reversed(parse_qsl(body.decode("utf-8"), keep_blank_values=True)))  # first value wins
    except (UnicodeDecodeError, ValueError) as error:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, detail=f"not a URL-encoded form: {error}") from error
    try:
        call = parse_call(form)
    except BadCall as error:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=str(error)) from error
    if call.event is None:
        response.status_code = status.HTTP_202_ACCEPTED
        return InboundReceived(outcome="ignored", reason="the call is not finished yet")
    window = timedelta(seconds=request.app.state.voice_thread_window_seconds)
    message = call_message(call, now=datetime.now(UTC), window=window)
    with unrecorded_is_503("call"):
        outcome = await intake.receive(message)
    return answer(outcome, response)
