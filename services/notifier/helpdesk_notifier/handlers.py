"""Event handlers: keep the notifier's view of each ticket, and say what should reach whom.

- ticket.created: the requester's acknowledgement email;
- ticket.assigned: the agent's Slack message with buttons; earlier agents' messages are updated;
- ticket.unassigned, ticket.status_changed, ticket.assignment_answered: the posted Slack messages
  are updated (chat.update) so their buttons never lie; a solved or reopened ticket is emailed;
- ticket.message_added: an agent's public reply is emailed to the requester, in the thread;
- sla.warning, sla.breached: an alert in the team's Slack channel, mentioning the assignee;
- survey.sent: the survey invitation email, with its one-click rating links;
- feedback.received: a shout-out for praise; feedback.follow_up_requested: a low score for the team lead.

Every send goes through the Deliverer (at most once per event, channel and recipient).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from email.utils import make_msgid, parseaddr
from typing import Any

from helpdesk_events import (
    AssignmentAnswer,
    AuthorKind,
    Channel,
    DeliveryChannel,
    Envelope,
    FeedbackFollowUpRequested,
    FeedbackReceived,
    SlaBreached,
    SlaMet,
    SlaPaused,
    SlaResumed,
    SlaStarted,
    SlaWarning,
    SurveySent,
    TicketAssigned,
    TicketAssignmentAnswered,
    TicketCreated,
    TicketMessageAdded,
    TicketPriorityChanged,
    TicketStatusChanged,
    TicketTriaged,
    TicketUnassigned,
)
from helpdesk_events.consumer import ticket_id_of
from helpdesk_notifier.deliverer import Deliverer
from helpdesk_notifier.deliveries import Delivery, DeliveryKind, DeliveryRequest, undeliverable_email
from helpdesk_notifier.email_messages import (
    OutgoingEmail,
    build_email,
    compose_acknowledgement,
    compose_agent_reply,
    compose_status_change,
    compose_survey_invitation,
    is_message_id,
)
from helpdesk_notifier.ports import ChatClient, ChatMessage, Mailer, NothingToSend, Receipt
from helpdesk_notifier.routing import NotificationRoutes
from helpdesk_notifier.slack_messages import (
    compose_assignment,
    compose_follow_up,
    compose_shout_out,
    compose_sla_alert,
    is_shout_out,
    with_delivery_key,
)
from helpdesk_notifier.slack_rate import SlackRateLimiter
from helpdesk_notifier.ticket_projection import MongoTicketProjection
from helpdesk_notifier.ticket_view import SlackPost, TicketView

log = logging.getLogger(__name__)

ALREADY_SHOWN = "the message already shows the ticket as it is"


class AssignmentPosts:
    """Where each agent's assignment message landed (conversation and ts), so it can be updated later."""

    def __init__(self, chat: ChatClient, tickets: MongoTicketProjection) -> None:
        self._chat = chat
        self._tickets = tickets

    async def find_posted(self, delivery: Delivery) -> Receipt | None:
        """For the deliverer, after an interrupted post: the message if Slack has it (remembered if so)."""
        receipt = await self._chat.find_posted(ChatMessage.from_content(delivery.content))
        if receipt is not None and delivery.kind is DeliveryKind.ASSIGNMENT:
            await self.remember(delivery, receipt)
        return receipt

    async def remember(self, delivery: Delivery, receipt: Receipt) -> None:
        if receipt.recorded_only or not receipt.external_id:
            return
        payload = (delivery.content.get("metadata") or {}).get("event_payload") or {}
        conversation = receipt.conversation or delivery.content["channel"]
        shown = ChatMessage.from_content(delivery.content).digest
        await self._tickets.posted(
            delivery.ticket_id,
            SlackPost(conversation, receipt.external_id, payload.get("agent_id", ""), delivery.key, shown),
        )


class NotifierHandlers:
    def __init__(
        self,
        *,
        tickets: MongoTicketProjection,
        deliverer: Deliverer,
        mailer: Mailer,
        chat: ChatClient,
        posts: AssignmentPosts,
        routes: NotificationRoutes,
        rate_limiter: SlackRateLimiter | None,
        email_domain: str,
        ticket_url: str | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._tickets = tickets
        self._deliverer = deliverer
        self._mailer = mailer
        self._chat = chat
        self._posts = posts
        self._routes = routes
        self._rate_limiter = rate_limiter
        self._email_domain = email_domain
        self._ticket_url = ticket_url
        self._clock = clock

    def handlers(self) -> dict[type, Callable[[Envelope[Any]], Any]]:
        """What this class handles, by payload type (ticket.created is wrapped by erasure in bootstrap)."""
        return {
            TicketCreated: self.on_ticket_created,
            TicketTriaged: self.on_ticket_triaged,
            TicketPriorityChanged: self.on_priority_changed,
            TicketAssigned: self.on_ticket_assigned,
            TicketUnassigned: self.on_ticket_unassigned,
            TicketStatusChanged: self.on_ticket_status_changed,
            TicketAssignmentAnswered: self.on_assignment_answered,
            TicketMessageAdded: self.on_message_added,
            SlaStarted: self.on_sla_clock,
            SlaPaused: self.on_sla_clock,
            SlaResumed: self.on_sla_clock,
            SlaMet: self.on_sla_clock,
            SlaWarning: self.on_sla_alert,
            SlaBreached: self.on_sla_alert,
            SurveySent: self.on_survey_sent,
            FeedbackReceived: self.on_feedback_received,
            FeedbackFollowUpRequested: self.on_follow_up_requested,
        }

    # ---- tickets ---------------------------------------------------------------------------------

    async def on_ticket_created(self, envelope: Envelope[TicketCreated]) -> None:
        ticket_id = ticket_id_of(envelope)
        created = envelope.payload
        # A ticket opened by email: the acknowledgement and later replies answer that mail.
        mail_id = created.message_id if created.channel is Channel.EMAIL and is_message_id(created.message_id) else None
        await self._tickets.created(ticket_id, created, customer_message_id=mail_id)
        view = await self._tickets.view(ticket_id)
        # A fresh Message-ID each time; only the first is kept, with the content (see the store's `begin`).
        email = compose_acknowledgement(view, **self._letterhead(view.team))
        await self._email(envelope, view, DeliveryKind.ACKNOWLEDGEMENT, email)

    async def on_ticket_triaged(self, envelope: Envelope[TicketTriaged]) -> None:
        triaged = envelope.payload
        await self._tickets.triaged(ticket_id_of(envelope), priority=triaged.priority.value, team=triaged.team)

    async def on_priority_changed(self, envelope: Envelope[TicketPriorityChanged]) -> None:
        ticket_id = ticket_id_of(envelope)
        await self._tickets.triaged(ticket_id, priority=envelope.payload.to_priority.value, team=None)
        await self._update_posts(envelope, await self._tickets.view(ticket_id))

    async def on_ticket_assigned(self, envelope: Envelope[TicketAssigned]) -> None:
        ticket_id = ticket_id_of(envelope)
        assigned = envelope.payload
        await self._tickets.assigned(
            ticket_id, agent_id=assigned.agent_id, agent_name=assigned.agent_name,
            slack_user_id=assigned.slack_user_id, team=assigned.team,
        )  # fmt: skip
        view = await self._tickets.view(ticket_id)
        recipient = assigned.slack_user_id or f"agent:{assigned.agent_id}"
        request = _request(envelope, ticket_id, DeliveryChannel.SLACK, DeliveryKind.ASSIGNMENT, recipient=recipient)
        # Earlier agents' messages now say "Reassigned to ..." (not this event's own post, on a replay).
        earlier = [post for post in view.slack_posts if post.delivery_key != request.key]
        await self._update_posts(envelope, view, earlier)
        if not assigned.slack_user_id:
            await self._deliverer.skip(request, reason=f"agent {assigned.agent_id} has no slack_user_id")
            return
        if not view.known:
            log.warning("ticket %s assigned before its ticket.created was seen: few details", ticket_id)
        message = self._assignment_message(view, assigned.agent_id, assigned.slack_user_id, request.key)
        await self._deliverer.deliver(
            dataclasses.replace(request, content=message.as_content()), self._post_assignment
        )
        # An event that changed the ticket while this message was on its way (an SLA clock started) found
        # no message to update, and the message was composed before it: bring the message up to date.
        view = await self._tickets.view(ticket_id)
        own = [post for post in view.slack_posts if post.delivery_key == request.key]
        await self._update_posts(envelope, view, own)

    async def on_ticket_unassigned(self, envelope: Envelope[TicketUnassigned]) -> None:
        ticket_id = ticket_id_of(envelope)
        await self._tickets.unassigned(ticket_id, envelope.payload.agent_id)
        await self._update_posts(envelope, await self._tickets.view(ticket_id))

    async def on_assignment_answered(self, envelope: Envelope[TicketAssignmentAnswered]) -> None:
        ticket_id = ticket_id_of(envelope)
        answer = envelope.payload
        if answer.answer is not AssignmentAnswer.ACCEPTED:
            return  # the router answers a decline with ticket.unassigned, which updates the message
        view = await self._tickets.view(ticket_id)
        agent_id = answer.agent_id or (view.agent_id if answer.slack_user_id == view.slack_user_id else None)
        if agent_id is None:
            return
        await self._tickets.accepted(ticket_id, agent_id)
        await self._update_posts(envelope, await self._tickets.view(ticket_id))

    async def on_ticket_status_changed(self, envelope: Envelope[TicketStatusChanged]) -> None:
        ticket_id = ticket_id_of(envelope)
        change = envelope.payload
        await self._tickets.status(ticket_id, change.to_status.value)
        view = await self._tickets.view(ticket_id)
        await self._update_posts(envelope, view)
        if change.from_status is None:
            return
        email = compose_status_change(
            view, to_status=change.to_status.value, from_status=change.from_status.value,
            **self._letterhead(view.team),
        )  # fmt: skip
        if email is not None:
            await self._email(envelope, view, DeliveryKind.STATUS_CHANGE, email)

    async def on_message_added(self, envelope: Envelope[TicketMessageAdded]) -> None:
        ticket_id = ticket_id_of(envelope)
        message = envelope.payload
        if message.author_kind is AuthorKind.CUSTOMER:
            if message.channel is Channel.EMAIL and is_message_id(message.message_id):
                await self._tickets.customer_message(ticket_id, message.message_id)
            return
        if message.author_kind is not AuthorKind.AGENT or not message.public:
            return  # internal notes and system messages stay inside
        view = await self._tickets.view(ticket_id)
        email = compose_agent_reply(
            view, body=message.body, agent_name=view.agent_name or message.author_id or "Support",
            **self._letterhead(view.team),
        )  # fmt: skip
        await self._email(envelope, view, DeliveryKind.AGENT_REPLY, email)

    # ---- SLA -------------------------------------------------------------------------------------

    async def on_sla_clock(self, envelope: Envelope[SlaStarted | SlaPaused | SlaResumed | SlaMet]) -> None:
        ticket_id = ticket_id_of(envelope)
        clock = envelope.payload
        due = None if isinstance(clock, SlaMet) else clock.due_at
        await self._tickets.sla_due(ticket_id, clock.metric.value, due)
        await self._update_posts(envelope, await self._tickets.view(ticket_id))

    async def on_sla_alert(self, envelope: Envelope[SlaWarning | SlaBreached]) -> None:
        ticket_id = ticket_id_of(envelope)
        alert = envelope.payload
        await self._tickets.sla_due(ticket_id, alert.metric.value, alert.due_at)
        view = await self._tickets.view(ticket_id)
        kind = "warning" if isinstance(alert, SlaWarning) else "breached"
        share = alert.elapsed_share if isinstance(alert, SlaWarning) else None
        for target in self._routes.slack_targets(envelope.type, view):
            message = compose_sla_alert(
                view, kind=kind, metric=alert.metric.value, due_at=alert.due_at, elapsed_share=share,
                channel=target, link=self._link(view),
            )  # fmt: skip
            await self._post(envelope, ticket_id, DeliveryKind.SLA_ALERT, message)

    # ---- feedback --------------------------------------------------------------------------------

    async def on_survey_sent(self, envelope: Envelope[SurveySent]) -> None:
        ticket_id = ticket_id_of(envelope)
        survey = envelope.payload
        view = await self._tickets.view(ticket_id)
        if view.requester_email is None:
            view = dataclasses.replace(view, requester_email=survey.requester_email)
        email = compose_survey_invitation(
            view, survey_url=survey.survey_url, kind=survey.kind.value, rating_links=survey.rating_links,
            expires_at=survey.expires_at, language=survey.language, **self._letterhead(survey.team or view.team),
        )  # fmt: skip
        await self._email(envelope, view, DeliveryKind.SURVEY_INVITATION, email, recipient=survey.requester_email)

    async def on_feedback_received(self, envelope: Envelope[FeedbackReceived]) -> None:
        feedback = envelope.payload
        if not is_shout_out(feedback.kind.value, feedback.score, feedback.comment):
            return
        ticket_id = ticket_id_of(envelope)
        view = await self._tickets.view(ticket_id)
        if feedback.team and not view.team:
            view = dataclasses.replace(view, team=feedback.team)
        for target in self._routes.slack_targets(envelope.type, view):
            message = compose_shout_out(
                view, score=feedback.score, kind=feedback.kind.value, comment=feedback.comment,
                agent_slack_user_id=view.slack_user_id, channel=target, link=self._link(view),
            )  # fmt: skip
            await self._post(envelope, ticket_id, DeliveryKind.SHOUT_OUT, message)

    async def on_follow_up_requested(self, envelope: Envelope[FeedbackFollowUpRequested]) -> None:
        follow_up = envelope.payload
        ticket_id = ticket_id_of(envelope)
        view = await self._tickets.view(ticket_id)
        if follow_up.team and not view.team:
            view = dataclasses.replace(view, team=follow_up.team)
        # Mention the agent the customer rated: the view's Slack id is theirs only while they are assigned.
        agent_slack_user_id = view.slack_user_id
        if follow_up.agent_id and follow_up.agent_id != view.agent_id:
            view = dataclasses.replace(view, agent_id=follow_up.agent_id, agent_name=None, slack_user_id=None)
            agent_slack_user_id = None
        targets = self._routes.slack_targets(envelope.type, view)
        if not targets and self._routes.slack.events.get(envelope.type):
            # Routed but nobody to tell (no lead, no team channel, no default channel): say so in the
            # deliveries rather than let a low score pass unseen.
            request = _request(envelope, ticket_id, DeliveryChannel.SLACK, DeliveryKind.FOLLOW_UP,
                               recipient=f"team_lead:{view.team or 'none'}")  # fmt: skip
            await self._deliverer.skip(request, reason=f"no team lead or channel for team {view.team!r}")
            return
        for target in targets:
            message = compose_follow_up(
                view, kind=follow_up.kind.value, score=follow_up.score, comment=follow_up.comment,
                agent_slack_user_id=agent_slack_user_id, reopened=follow_up.reopen, channel=target,
                link=self._link(view),
            )  # fmt: skip
            await self._post(envelope, ticket_id, DeliveryKind.FOLLOW_UP, message)

    # ---- sending ---------------------------------------------------------------------------------

    def _assignment_message(self, view: TicketView, agent_id: str, slack_user_id: str, key: str) -> ChatMessage:
        message = compose_assignment(view, for_agent=agent_id, slack_user_id=slack_user_id, link=self._link(view))
        # The metadata names the delivery, so an interrupted post is found again instead of posted twice.
        return with_delivery_key(message, key)

    def _rendering(self, view: TicketView, post: SlackPost) -> ChatMessage:
        """What the assignment message `post` should show for `view`: the ticket as it stands now."""
        return compose_assignment(
            view, for_agent=post.agent_id, slack_user_id=post.conversation, link=self._link(view)
        )

    async def _update_posts(
        self, envelope: Envelope, view: TicketView, posts: list[SlackPost] | None = None
    ) -> None:
        """Re-render the assignment messages posted for the ticket (all, or `posts`), so their buttons say
        what is true now. A message that already shows that is left alone: no delivery, no Slack call
        (most events change what a message shows only sometimes: a second SLA clock does not move the
        earliest due time it shows)."""
        for post in view.slack_posts if posts is None else posts:
            message = self._rendering(view, post)
            request = _request(envelope, view.ticket_id, DeliveryChannel.SLACK, DeliveryKind.ASSIGNMENT_UPDATE,
                               recipient=f"{post.conversation}/{post.ts}",
                               content={**message.as_content(), "ts": post.ts})  # fmt: skip
            if message.digest == post.shown:
                await self._deliverer.unneeded(request, ALREADY_SHOWN)
            else:
                await self._deliverer.deliver(request, self._update_message)

    async def _post(self, envelope: Envelope, ticket_id: str, kind: DeliveryKind, message: ChatMessage) -> None:
        request = _request(envelope, ticket_id, DeliveryChannel.SLACK, kind, recipient=message.channel)
        message = with_delivery_key(message, request.key)
        await self._deliverer.deliver(dataclasses.replace(request, content=message.as_content()), self._post_message)

    async def _email(
        self,
        envelope: Envelope,
        view: TicketView,
        kind: DeliveryKind,
        email: OutgoingEmail,
        *,
        recipient: str | None = None,
    ) -> None:
        address = recipient or view.requester_email
        request = _request(envelope, view.ticket_id, DeliveryChannel.EMAIL, kind,
                           recipient=address or "requester:unknown", content=asdict(email))  # fmt: skip
        if address is None:
            await self._deliverer.skip(request, reason="the requester's address is not known")
        elif undeliverable_email(address):
            await self._deliverer.skip(request, reason=f"the requester has no email address ({view.channel} contact)")
        else:
            await self._deliverer.deliver(request, self._send_email)

    def _letterhead(self, team: str | None) -> dict[str, Any]:
        """Who a mail about a ticket of `team` is from, signed by, answered to, and its Message-ID."""
        sender = self._routes.email_sender(team)
        return {"message_id": self._message_id(), "sender": sender.from_, "reply_to": sender.reply_to,
                "signature": _signature(sender.from_)}  # fmt: skip

    async def _send_email(self, delivery: Delivery) -> Receipt:
        # Records made before per-team senders have no `sender`: they go from the default address.
        content = OutgoingEmail.from_record(delivery.content, default_sender=self._routes.email_sender(None).from_)
        return await self._mailer.send(build_email(content, ticket_id=delivery.ticket_id, date=self._clock()))

    async def _post_message(self, delivery: Delivery) -> Receipt:
        message = ChatMessage.from_content(delivery.content)
        await self._wait_turn(message.channel)
        return await self._chat.post_message(message)

    async def _post_assignment(self, delivery: Delivery) -> Receipt:
        receipt = await self._post_message(delivery)
        await self._posts.remember(delivery, receipt)
        return receipt

    async def _update_message(self, delivery: Delivery) -> Receipt:
        """`chat.update` of a posted message, rendered from the ticket as it is once the channel's turn
        has come, not as it was when the trigger arrived: updates of one message wait their turns in
        no fixed order, and whichever goes last must not put back an older state (buttons included).
        The record keeps the rendering of the trigger's time; the message shows the latest."""
        conversation, ts = delivery.content["channel"], delivery.content["ts"]
        await self._wait_turn(conversation)
        view = await self._tickets.view(delivery.ticket_id)
        post = next((post for post in view.slack_posts if post.ts == ts), None)
        if post is None:  # not in the view (any more): send what was composed
            composed = ChatMessage.from_content(delivery.content)
            return await self._chat.update_message(conversation, ts, composed)
        message = self._rendering(view, post)
        if message.digest == post.shown:  # an update that went before this one showed it already
            raise NothingToSend(ALREADY_SHOWN)
        receipt = await self._chat.update_message(conversation, ts, message)
        await self._tickets.shown(delivery.ticket_id, ts, message.digest)
        return receipt

    async def _wait_turn(self, channel: str) -> None:
        if self._rate_limiter is not None:
            await self._rate_limiter.wait_turn(channel)

    def _message_id(self) -> str:
        return make_msgid(domain=self._email_domain)

    def _link(self, view: TicketView) -> str | None:
        return self._ticket_url.format(ticket_id=view.ticket_id) if self._ticket_url else None


def _signature(sender: str) -> str:
    return parseaddr(sender)[0] or "Support"


def _request(
    envelope: Envelope,
    ticket_id: str,
    channel: DeliveryChannel,
    kind: DeliveryKind,
    *,
    recipient: str,
    content: dict | None = None,
) -> DeliveryRequest:
    return DeliveryRequest(
        ticket_id=ticket_id,
        channel=channel,
        kind=kind,
        recipient=recipient,
        trigger_event_id=envelope.id,
        trigger_event_type=envelope.type,
        content=content or {},
    )
