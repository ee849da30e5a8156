"""A live-chat message as the chat widget posts it, and the normalized message it becomes.

Pure. One conversation is one ticket: its thread key is the conversation id. The visitor is known
by email when the widget asked for it, else by the widget's visitor id (or the conversation).
"""

from __future__ import annotations

from pydantic import AwareDatetime, BaseModel, ConfigDict, EmailStr, Field

from helpdesk_events import Channel
from helpdesk_intake.channels.channel_message import ChannelMessage, SenderIdentity, ThreadRef, subject_from
from helpdesk_intake.language import LanguageTag
from helpdesk_intake.message_body import MessageBody


class ChatVisitor(BaseModel):
    model_config = ConfigDict(extra="ignore")

    email: EmailStr | None = Field(default=None, examples=["ada@example.com"])
    name: str | None = Field(default=None, max_length=200, examples=["Ada"])
    id: str | None = Field(default=None, min_length=1, max_length=200, description="The widget's visitor id.")


class ChatMessageIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    conversation_id: str = Field(
        min_length=1, max_length=200, description="All its messages go to one ticket."
    )
    message_id: str = Field(
        min_length=1, max_length=200, description="Unique per message: a resend is a duplicate."
    )
    text: MessageBody = Field(examples=["Hi, my printer is on fire."])
    visitor: ChatVisitor = Field(default_factory=ChatVisitor)
    sent_at: AwareDatetime | None = None
    language: LanguageTag | None = Field(
        default=None, description="The visitor's language as the widget knows it (BCP 47, e.g. fr); for triage."
    )


def chat_message(chat: ChatMessageIn) -> ChannelMessage:
    visitor = chat.visitor
    if visitor.email is not None:
        sender = SenderIdentity("email", str(visitor.email).lower(), visitor.name)
    else:
        sender = SenderIdentity("chat_visitor", visitor.id or chat.conversation_id, visitor.name)
    return ChannelMessage(
        channel=Channel.CHAT,
        external_id=chat.message_id,
        sender=sender,
        subject=subject_from(chat.text, prefix="Chat"),
        text=chat.text,
        threads=(ThreadRef(f"chat:{chat.conversation_id}"),),
        language=chat.language,
    )
