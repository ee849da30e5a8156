"""`POST /v1/channels/chat/messages`: one live-chat message in, the conversation's ticket out.

Answers only after Kafka holds the message's events: 201 for the conversation's first message (a
new ticket), 200 for a later one or a resend of the same message id.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from helpdesk_intake.api import require_json
from helpdesk_intake.channels.channel_intake import ChannelIntake
from helpdesk_intake.channels.chat_message import ChatMessageIn, chat_message
from helpdesk_intake.channels.inbound_http import (
    InboundReceived,
    answer,
    inbound_route,
    json_body,
    json_request_body,
    problem,
    unrecorded_is_503,
)


def get_channel_intake(request: Request) -> ChannelIntake:
    return request.app.state.channel_intake


ChannelIntakeDep = Annotated[ChannelIntake, Depends(get_channel_intake)]

router = APIRouter(prefix="/v1/channels/chat", tags=["chat"])


@inbound_route(
    router,
    "/messages",
    operation_id="receive_chat_message",
    dependencies=[Depends(require_json)],
    request_body=json_request_body(ChatMessageIn),
    responses={
        415: problem("The body is not JSON."),
        422: problem("The body is not a valid chat message."),
    },
)
async def receive_chat_message(
    request: Request, intake: ChannelIntakeDep, response: Response
) -> InboundReceived:
    """All messages of one `conversation_id` go to one ticket: the first opens it (channel chat),
    later ones add `ticket.message_added` and reopen it when solved. The same `message_id` twice
    is one message."""
    chat = json_body(ChatMessageIn, await request.body())
    with unrecorded_is_503("chat message"):
        outcome = await intake.receive(chat_message(chat))
    return answer(outcome, response)
