"""The feedback desk: the ticket stream in, surveys out when they fall due, answers from the survey page.

Every change of a ticket's survey is one guarded write of its document (`survey_store`), with the
events it decides in the document's outbox; they are told after the write and cleared once Kafka has
them. Event ids follow from the survey (sent, answer n, follow-up n), so telling twice is harmless and
a replayed ticket event changes nothing (its id is among the applied ones).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from prometheus_client import Counter

from helpdesk_events import (
    CustomerErased,
    Envelope,
    EventPayload,
    FeedbackFollowUpRequested,
    FeedbackReceived,
    SurveySent,
    TicketAssigned,
    TicketCreated,
    TicketStatusChanged,
    TicketTriaged,
    TicketUnassigned,
)
from helpdesk_events.consumer import ticket_id_of
from helpdesk_events.erased_requesters import ErasedRequesters
from helpdesk_events.outbox import Told, Turns, outbox_entry, publish_told
from helpdesk_events.publisher import EventPublisher
from helpdesk_feedback import surveys
from helpdesk_feedback.survey_links import SurveyLinks
from helpdesk_feedback.survey_store import MongoSurveyBook, SurveyRecord
from helpdesk_feedback.surveys import Answered, AnswerRefused, SurveyRules, TicketSurvey

log = logging.getLogger(__name__)

SERVICE = "feedback"
_EVENT_IDS = uuid.UUID("9d7e1c55-0f4b-4e1a-a1d2-5b8f0e3c6a77")  # namespace of the events this desk tells
_SAVE_ATTEMPTS = 5

SURVEYS_SENT = Counter("helpdesk_feedback_surveys_sent_total", "Surveys sent, by kind.", ["kind"])
SURVEYS_SKIPPED = Counter(
    "helpdesk_feedback_surveys_skipped_total", "Due surveys not sent, by reason.", ["reason"]
)
ANSWERS = Counter(
    "helpdesk_feedback_answers_total", "Survey answers taken (a changed answer counts again), by kind.", ["kind"]
)
FOLLOW_UPS = Counter("helpdesk_feedback_follow_ups_total", "Low scores that asked for follow-up, by kind.", ["kind"])


def utc_now() -> datetime:
    return datetime.now(UTC)


class ConcurrentSurveyUpdate(Exception):
    """Another writer kept winning the race for one ticket's survey; the caller retries later."""


class SurveyDesk:
    def __init__(
        self,
        *,
        book: MongoSurveyBook,
        erased: ErasedRequesters,
        publisher: EventPublisher,
        rules: SurveyRules,
        links: SurveyLinks,
        delay: timedelta,
        link_ttl: timedelta,
        customer_interval: timedelta,
        change_window: timedelta,
        clock: Callable[[], datetime] = utc_now,
        batch: int = 100,
    ) -> None:
        self._book = book
        self._erased = erased
        self._publisher = publisher
        self.rules = rules
        self._links = links
        self._delay = delay
        self._link_ttl = link_ttl
        self._customer_interval = customer_interval
        self.change_window = change_window
        self.clock = clock
        self._batch = batch
        self._turns = Turns()  # one writer at a time per ticket, and the sweep of untold events after it

    # ---- the ticket stream -----------------------------------------------------------------------

    async def ticket_created(self, envelope: Envelope[TicketCreated]) -> None:
        created = envelope.payload
        # A ticket.created handled after its requester's erasure (another topic, a replay) is erased too.
        erased = await self._erased.erased(envelope)

        def step(ticket: TicketSurvey) -> TicketSurvey:
            ticket = replace(
                ticket, requester_email=str(created.requester.email), subject=created.subject,
                language=created.language, channel=created.channel.value, status=ticket.status or "new",
            )  # fmt: skip
            return surveys.erase(ticket) if erased else ticket

        await self._apply(envelope, step)

    async def ticket_triaged(self, envelope: Envelope[TicketTriaged]) -> None:
        team = envelope.payload.team
        await self._apply(envelope, lambda t: replace(t, team=team) if team is not None else t)

    async def ticket_assigned(self, envelope: Envelope[TicketAssigned]) -> None:
        assigned = envelope.payload
        await self._apply(envelope, lambda t: replace(t, agent_id=assigned.agent_id, team=assigned.team or t.team))

    async def ticket_unassigned(self, envelope: Envelope[TicketUnassigned]) -> None:
        agent_id = envelope.payload.agent_id
        await self._apply(envelope, lambda t: replace(t, agent_id=None) if t.agent_id == agent_id else t)

    async def status_changed(self, envelope: Envelope[TicketStatusChanged]) -> None:
        to_status = envelope.payload.to_status.value
        at = envelope.occurred_at
        await self._apply(envelope, lambda t: surveys.on_status(t, to_status, at=at, delay=self._delay))

    async def customer_erased(self, envelope: Envelope[CustomerErased]) -> None:
        """The right to erasure: the customer's tickets lose their address, subject and comments."""
        emails = [email.strip().lower() for email in envelope.payload.emails]
        if not emails:
            return
        await self._erased.remember(envelope)  # first: a later ticket.created from before is erased too
        ticket_ids = await self._book.tickets_of(emails)
        for ticket_id in ticket_ids:
            await self._change(ticket_id, surveys.erase)
        await self._book.forget_customers(emails)
        log.info("erased customer %s from %d survey(s)", envelope.payload.customer_id, len(ticket_ids))

    async def _change(self, ticket_id: str, step: Callable[[TicketSurvey], TicketSurvey]) -> None:
        async with self._turns.of(ticket_id):
            for _ in range(_SAVE_ATTEMPTS):
                record = await self._book.get(ticket_id)
                if record is None or await self._book.save(record, step(record.ticket)) is not None:
                    return
        raise ConcurrentSurveyUpdate(ticket_id)

    async def _apply(self, envelope: Envelope, step: Callable[[TicketSurvey], TicketSurvey]) -> None:
        ticket_id = ticket_id_of(envelope)
        applied = str(envelope.id)
        async with self._turns.of(ticket_id):
            for _ in range(_SAVE_ATTEMPTS):
                record = await self._book.get(ticket_id) or SurveyRecord(TicketSurvey(ticket_id))
                if applied in record.applied:
                    await self._tell(record)  # a replay: tell what may still be untold, change nothing
                    return
                if await self._book.save(record, step(record.ticket), applied=applied) is not None:
                    return
        raise ConcurrentSurveyUpdate(ticket_id)

    # ---- the durable timer -----------------------------------------------------------------------

    async def tick(self) -> int:
        """Tell what an earlier failure left untold, then send the surveys that fell due; how many sent."""
        for ticket_id in await self._book.pending(self._batch):
            async with self._turns.of(ticket_id):  # after a writer telling it: then nothing is left
                record = await self._book.get(ticket_id)
                if record is not None:
                    await self._tell(record)
        now = self.clock()
        sent = 0
        for ticket_id in await self._book.due(now, self._batch):
            sent += await self._send_due(ticket_id, now)
        return sent

    async def _send_due(self, ticket_id: str, now: datetime) -> int:
        async with self._turns.of(ticket_id):
            for _ in range(_SAVE_ATTEMPTS):
                record = await self._book.get(ticket_id)
                if record is None or not surveys.is_due(record.ticket, now):
                    return 0
                ticket = record.ticket
                reason = surveys.why_not_send(ticket)
                if reason is None and not await self._book.claim_customer(
                    ticket.requester_email or "", ticket_id, now, not_since=now - self._customer_interval
                ):
                    reason = "the customer was surveyed within the interval"
                if reason is not None:
                    if await self._book.save(record, surveys.skip(ticket, reason)) is not None:
                        log.info("no survey for ticket %s: %s", ticket_id, reason)
                        SURVEYS_SKIPPED.labels(reason).inc()
                        return 0
                    continue
                kind = self.rules.kind_for(ticket)
                sent = surveys.send(ticket, kind, now=now, link_ttl=self._link_ttl)
                survey = sent.survey
                assert survey is not None
                payload = SurveySent(
                    survey_id=survey.survey_id, kind=kind, requester_email=ticket.requester_email or "",
                    survey_url=self._links.page(ticket_id, survey), rating_links=self._links.ratings(ticket_id, survey),
                    agent_id=ticket.agent_id, team=ticket.team, channel=ticket.channel, language=ticket.language,
                    expires_at=survey.expires_at,
                )  # fmt: skip
                outbox = [self._entry(ticket_id, payload, "sent", now)]
                saved = await self._book.save(record, sent, outbox=outbox)
                if saved is not None:
                    SURVEYS_SENT.labels(kind.value).inc()
                    await self._tell(saved)
                    return 1
        raise ConcurrentSurveyUpdate(ticket_id)

    # ---- answers from the survey page --------------------------------------------------------------

    async def survey_of(self, ticket_id: str) -> TicketSurvey | None:
        record = await self._book.get(ticket_id)
        return record.ticket if record is not None else None

    async def take_answer(self, ticket_id: str, survey_id: str, score: int, comment: str | None) -> Answered:
        """Record an answer (AnswerRefused says why not); its events are told once the answer is stored."""
        async with self._turns.of(ticket_id):
            for _ in range(_SAVE_ATTEMPTS):
                record = await self._book.get(ticket_id)
                survey = record.ticket.survey if record is not None else None
                if record is None or survey is None or survey.survey_id != survey_id:
                    raise AnswerRefused("unknown", f"no survey {survey_id} for ticket {ticket_id}")
                now = self.clock()
                taken = surveys.answer(record.ticket, score, comment, now=now,
                                       change_window=self.change_window)  # fmt: skip
                saved = await self._book.save(record, taken.ticket, outbox=self._answer_events(taken, now))
                if saved is not None:
                    ANSWERS.labels(survey.kind.value).inc()
                    if taken.follow_up:
                        FOLLOW_UPS.labels(survey.kind.value).inc()
                    try:
                        await self._tell(saved)
                    except Exception:  # stored: the timer tells it once Kafka answers; the customer is done
                        log.exception("answer to survey %s stored, its events are not told yet", survey_id)
                    return taken
        raise ConcurrentSurveyUpdate(ticket_id)

    def _answer_events(self, taken: Answered, now: datetime) -> list[Told]:
        ticket, answer = taken.ticket, taken.answer
        survey = ticket.survey
        assert survey is not None
        about = {"survey_id": survey.survey_id, "kind": survey.kind, "score": answer.score, "comment": answer.comment,
                 "agent_id": ticket.agent_id, "team": ticket.team, "channel": ticket.channel}  # fmt: skip
        received = FeedbackReceived(
            **about, revision=taken.revision, previous_score=taken.previous.score if taken.previous else None
        )
        entries = [self._entry(ticket.ticket_id, received, f"answer/{taken.revision}", now)]
        if taken.follow_up:
            follow_up = FeedbackFollowUpRequested(**about, reopen=self.rules.reopens(ticket.team))
            entries.append(self._entry(ticket.ticket_id, follow_up, f"follow-up/{taken.revision}", now))
        return entries

    # ---- telling -----------------------------------------------------------------------------------

    async def _tell(self, record: SurveyRecord) -> None:
        if record.outbox:
            await self._book.told(record.ticket.ticket_id, await publish_told(self._publisher, record.outbox))

    def _entry(self, ticket_id: str, payload: EventPayload, what: str, at: datetime) -> Told:
        event_id = uuid.uuid5(_EVENT_IDS, f"{surveys.survey_id_for(ticket_id)}/{what}")
        return outbox_entry(payload, source=SERVICE, ticket_id=ticket_id, event_id=event_id, at=at)
