"""The feedback service on the real servers: solved tickets in, survey.sent out after the delay; answers
through the survey pages become feedback.received (and a follow-up on a low score); the summary counts
them; a restart sends what fell due meanwhile, once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import pytest

from helpdesk_events import (
    CustomerErased,
    Envelope,
    Requester,
    TicketAssigned,
    TicketCreated,
    TicketStatus,
    TicketStatusChanged,
    TicketTriaged,
    Topic,
    TopicNames,
    new_envelope,
)
from helpdesk_events.kafka import ensure_topics
from helpdesk_events.publisher import EventPublisher
from helpdesk_feedback.bootstrap import create_app
from helpdesk_feedback.settings import Settings
from tests.support.apps import drop_database, running_app, settings_for_test
from tests.support.kafka import EventTap, publishing
from tests.support.waiting import until

pytestmark = pytest.mark.integration

PUBLIC_URL = "http://feedback.test"
SURVEYS_FILE = """
kinds:
  default: csat
  teams: {sales: nps}
follow_up:
  reopen: false
  teams: {billing: {reopen: true}}
"""


@pytest.fixture
async def settings(
    kafka_bootstrap: str, mongodb_url: str, topic_prefix: str, mongo_db_prefix: str, tmp_path: Path
) -> AsyncIterator[Settings]:
    surveys_file = tmp_path / "surveys.yaml"
    surveys_file.write_text(SURVEYS_FILE)
    settings = settings_for_test(
        Settings, "feedback", kafka_bootstrap=kafka_bootstrap, mongodb_url=mongodb_url, topic_prefix=topic_prefix,
        mongo_db_prefix=mongo_db_prefix, survey_delay_seconds=1.0, feedback_timer_interval_seconds=0.2,
        feedback_public_url=PUBLIC_URL, feedback_surveys_file=surveys_file, survey_customer_interval_seconds=0,
        feedback_token_secrets="integration-test-secret-0123456789abcdef",
    )  # fmt: skip
    await ensure_topics(settings.kafka("feedback-tests"))
    yield settings
    await drop_database(mongodb_url, settings.mongodb_database)


@pytest.fixture
async def intake(settings: Settings) -> AsyncIterator[EventPublisher]:
    async with publishing(settings, "intake") as publisher:
        yield publisher


@pytest.fixture
async def feedback_events(settings: Settings, kafka_bootstrap: str) -> AsyncIterator[EventTap]:
    async with EventTap(kafka_bootstrap, TopicNames(settings.kafka_topic_prefix).name(Topic.FEEDBACK)) as tap:
        yield tap


async def open_and_solve(
    intake: EventPublisher, ticket_id: str, *, email: str = "sam@example.com", team: str | None = None,
    language: str | None = None, created_at: datetime | None = None,
) -> None:  # fmt: skip
    created = TicketCreated(subject="Printer on fire", body="Please.", requester=Requester(email=email),
                            channel="web", message_id=f"{ticket_id}-m1", language=language)  # fmt: skip
    await intake.publish(new_envelope(created, source="intake", ticket_id=ticket_id, occurred_at=created_at))
    if team is not None:
        await intake.emit(TicketTriaged(priority="normal", team=team), ticket_id=ticket_id)
    await intake.emit(TicketAssigned(agent_id="grace", agent_name="Grace", team=team), ticket_id=ticket_id)
    await intake.emit(TicketStatusChanged(from_status="open", to_status=TicketStatus.SOLVED), ticket_id=ticket_id)


def path_of(url: str) -> str:
    assert url.startswith(PUBLIC_URL), url
    return url[len(PUBLIC_URL) :]


def of_ticket(tap: EventTap, ticket_id: str, event_type: str) -> list[Envelope]:
    """Distinct events of one type about one ticket (a repeat under the same id counted once)."""
    seen: dict[object, Envelope] = {}
    for envelope in tap.envelopes:
        if envelope.ticket_id == ticket_id and envelope.type == event_type:
            seen.setdefault(envelope.id, envelope)
    return list(seen.values())


async def answer(client: httpx.AsyncClient, url: str, score: int | str, comment: str = "") -> httpx.Response:
    return await client.post(path_of(url), data={"score": str(score), "comment": comment})


async def test_a_solved_ticket_gets_one_survey_whose_one_click_link_records_only_when_confirmed(
    settings: Settings, intake: EventPublisher, feedback_events: EventTap
) -> None:
    async with running_app(create_app(settings), startup_timeout=30) as client:
        await open_and_solve(intake, "T1", language="fr-ca")
        sent = await feedback_events.wait_for("survey.sent", lambda e: e.ticket_id == "T1", timeout=20)
        survey = sent.payload
        five = next(link.url for link in survey.rating_links if link.score == 5)

        # A mail scanner opening every link: forms, never a rating.
        for link in (survey.survey_url, *(link.url for link in survey.rating_links)):
            page = await client.get(path_of(link))
            assert page.status_code == 200, page.text
        scanned = await client.get(path_of(five))
        before = await client.get("/v1/feedback/summary", params=window())

        confirmed = await answer(client, five, 5, "Grace was wonderful")
        thanks = await client.get(confirmed.headers["location"])
        received = await feedback_events.wait_for("feedback.received", lambda e: e.ticket_id == "T1", timeout=20)
        after = await client.get("/v1/feedback/summary", params=window(group_by="agent"))
        await intake.emit(TicketStatusChanged(from_status="solved", to_status=TicketStatus.SOLVED), ticket_id="T1")
        await asyncio.sleep(2.0)  # solved again: a second survey would be due by now

    assert (sent.source, survey.kind, survey.requester_email, survey.language) == ("feedback", "csat",
                                                                                   "sam@example.com", "fr-ca")
    assert [link.score for link in survey.rating_links] == [1, 2, 3, 4, 5]
    assert (survey.agent_id, survey.channel) == ("grace", "web")
    assert checked_scores(scanned.text) == [5]
    assert 'lang="fr"' in scanned.text
    assert before.json()["groups"][0]["csat"] == {"sent": 1, "answered": 0, "score": None, "response_rate": 0.0,
                                                   "low": 0}  # fmt: skip
    assert confirmed.status_code == 303 and confirmed.headers["location"].endswith("/thanks")
    assert thanks.status_code == 200 and 'id="thanks"' in thanks.text
    assert (received.payload.score, received.payload.comment, received.payload.revision) == (5, "Grace was wonderful", 1)
    assert after.json()["groups"] == [
        {"group": "grace", "csat": {"sent": 1, "answered": 1, "score": 1.0, "response_rate": 1.0, "low": 0},
         "nps": {"sent": 0, "answered": 0, "score": None, "response_rate": None, "low": 0},
         "ces": {"sent": 0, "answered": 0, "score": None, "response_rate": None, "low": 0}}
    ]  # fmt: skip
    assert len(of_ticket(feedback_events, "T1", "survey.sent")) == 1
    assert not of_ticket(feedback_events, "T1", "feedback.follow_up_requested")


def checked_scores(html: str) -> list[int]:
    """The scores whose radio button the page shows chosen."""

    class Radios(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.checked: list[int] = []

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            found = dict(attrs)
            if tag == "input" and found.get("name") == "score" and "checked" in found:
                self.checked.append(int(found["value"] or ""))

    radios = Radios()
    radios.feed(html)
    return radios.checked


def window(**extra: str) -> dict[str, str]:
    now = datetime.now(UTC)
    return {"from": (now - timedelta(days=1)).isoformat(), "to": (now + timedelta(days=1)).isoformat(), **extra}


async def test_a_changed_answer_counts_once_and_a_low_one_asks_for_follow_up_once(
    settings: Settings, intake: EventPublisher, feedback_events: EventTap
) -> None:
    async with running_app(create_app(settings), startup_timeout=30) as client:
        await open_and_solve(intake, "T2", team="billing")
        sent = await feedback_events.wait_for("survey.sent", lambda e: e.ticket_id == "T2", timeout=20)
        url = sent.payload.survey_url
        refused = [await answer(client, url, ""), await answer(client, url, 9), await answer(client, url, "five")]
        changes = [await answer(client, url, score) for score in (4, 2, 1)]
        follow_ups = await feedback_events.wait_for(
            "feedback.received", lambda e: e.ticket_id == "T2" and e.payload.revision == 3, timeout=20
        )
        page = await client.get(path_of(url))
        summary = await client.get("/v1/feedback/summary", params=window(group_by="team"))

    assert [response.status_code for response in refused] == [422, 422, 422]
    assert 'role="alert"' in refused[0].text
    assert [response.status_code for response in changes] == [303, 303, 303]
    received = of_ticket(feedback_events, "T2", "feedback.received")
    assert [(e.payload.score, e.payload.revision, e.payload.previous_score) for e in received] == [
        (4, 1, None), (2, 2, 4), (1, 3, 2)
    ]  # fmt: skip
    assert follow_ups.payload.team == "billing"
    [follow_up] = of_ticket(feedback_events, "T2", "feedback.follow_up_requested")  # 2 became low; 1 stays low
    assert (follow_up.payload.score, follow_up.payload.reopen, follow_up.payload.team) == (2, True, "billing")
    assert page.status_code == 200 and checked_scores(page.text) == [1]
    [group] = summary.json()["groups"]
    assert (group["group"], group["csat"]["answered"], group["csat"]["score"], group["csat"]["low"]) == (
        "billing", 1, 0.0, 1
    )  # fmt: skip


async def test_reopened_before_due_no_survey_and_a_customer_is_surveyed_once_per_interval(
    settings: Settings, intake: EventPublisher, feedback_events: EventTap
) -> None:
    settings = settings.model_copy(update={"survey_delay_seconds": 2.0, "survey_customer_interval_seconds": 3600})
    async with running_app(create_app(settings), startup_timeout=30):
        await open_and_solve(intake, "T3")
        await intake.emit(TicketStatusChanged(from_status="solved", to_status=TicketStatus.OPEN), ticket_id="T3")
        await open_and_solve(intake, "T4", email="kim@example.com", team="sales")
        await open_and_solve(intake, "T5", email="KIM@example.com")
        await feedback_events.wait_for("survey.sent", lambda e: e.ticket_id in ("T4", "T5"), timeout=20)
        await asyncio.sleep(3.0)  # T3's and the other of T4/T5's would have been sent by now

    assert of_ticket(feedback_events, "T3", "survey.sent") == []
    sent = of_ticket(feedback_events, "T4", "survey.sent") + of_ticket(feedback_events, "T5", "survey.sent")
    assert len(sent) == 1  # kim, whatever the case of the address, within the interval
    if sent[0].ticket_id == "T4":
        assert sent[0].payload.kind == "nps"  # the sales team's kind


async def test_links_that_cannot_take_an_answer_get_a_page_with_the_right_status(
    settings: Settings, intake: EventPublisher, feedback_events: EventTap
) -> None:
    settings = settings.model_copy(update={"survey_answer_change_window_seconds": 1.0, "survey_link_ttl_seconds": 600})
    async with running_app(create_app(settings), startup_timeout=30) as client:
        await open_and_solve(intake, "T6")
        sent = await feedback_events.wait_for("survey.sent", lambda e: e.ticket_id == "T6", timeout=20)
        url = sent.payload.survey_url
        token = path_of(url).rsplit("/", 1)[1]
        payload, signature = token.split(".")
        forged = f"{payload}.{signature[:-2]}{'AA' if signature[-2:] != 'AA' else 'BB'}"
        responses: dict[str, Any] = {
            "forged": await client.get(f"/s/{forged}"),
            "garbage": await client.get("/s/not-a-token"),
            "forged post": await client.post(f"/s/{forged}", data={"score": "5"}),
        }
        assert (await answer(client, url, 3)).status_code == 303
        await asyncio.sleep(1.2)  # the change window is over
        responses["closed"] = await client.get(path_of(url))
        responses["closed post"] = await answer(client, url, 5)
        thanks = await client.get(path_of(url) + "/thanks")

    statuses = {name: response.status_code for name, response in responses.items()}
    assert statuses == {"forged": 400, "garbage": 400, "forged post": 400, "closed": 409, "closed post": 409}
    for response in responses.values():
        assert 'id="problem"' in response.text
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["referrer-policy"] == "no-referrer"
    assert thanks.status_code == 200 and "/thanks" not in thanks.text  # no change link once closed
    assert [e.payload.score for e in of_ticket(feedback_events, "T6", "feedback.received")] == [3]


async def test_a_survey_that_fell_due_while_the_service_was_down_is_sent_once_on_start(
    settings: Settings, intake: EventPublisher, feedback_events: EventTap
) -> None:
    async with running_app(create_app(settings), startup_timeout=30):
        await open_and_solve(intake, "T7")
        await until_consumed(settings, "T7")
    await asyncio.sleep(1.5)  # down past the delay
    async with running_app(create_app(settings), startup_timeout=30):
        await feedback_events.wait_for("survey.sent", lambda e: e.ticket_id == "T7", timeout=20)
    async with running_app(create_app(settings), startup_timeout=30):
        await asyncio.sleep(1.0)  # another restart sends nothing again

    assert len(of_ticket(feedback_events, "T7", "survey.sent")) == 1


async def until_consumed(settings: Settings, ticket_id: str) -> None:
    """Until the service has stored the ticket as solved (its survey scheduled)."""
    from pymongo import AsyncMongoClient

    client: AsyncMongoClient = AsyncMongoClient(settings.mongodb_url)
    try:
        async with asyncio.timeout(20):
            while True:
                document = await client[settings.mongodb_database].surveys.find_one({"_id": ticket_id})
                if document is not None and document.get("due") is not None:
                    return
                await asyncio.sleep(0.1)
    finally:
        await client.close()


async def test_an_erased_customer_loses_address_subject_and_comments_and_the_scores_still_add_up(
    settings: Settings, intake: EventPublisher, feedback_events: EventTap
) -> None:
    settings = settings.model_copy(update={"survey_delay_seconds": 30.0})
    app = create_app(settings)
    book, desk = app.state.surveys, app.state.desk
    async with running_app(app, startup_timeout=30) as client:
        await open_and_solve(intake, "T8", email="Lee@Example.com")
        await until_consumed(settings, "T8")
        # T8's survey is sent at once (the clock skips its delay) and answered; T9's waits for its delay.
        desk.clock = lambda: datetime.now(UTC) + timedelta(seconds=31)
        await desk.tick()
        desk.clock = lambda: datetime.now(UTC)
        sent = await feedback_events.wait_for("survey.sent", lambda e: e.ticket_id == "T8", timeout=20)
        await open_and_solve(intake, "T9", email="lee@example.com")
        await until_consumed(settings, "T9")
        answered = await answer(client, sent.payload.survey_url, 5, "Lee here: lovely")
        erased = CustomerErased(customer_id="C-lee", emails=("lee@example.com",))
        await intake.publish(new_envelope(erased, source="intake"))

        async def forgotten() -> bool:
            tickets = [(await book.get(ticket_id)).ticket for ticket_id in ("T8", "T9")]
            return all(ticket.requester_email is None for ticket in tickets)

        await until(forgotten, 20, "the erasure", "feedback app (in-process)")
        tickets = {ticket_id: (await book.get(ticket_id)).ticket for ticket_id in ("T8", "T9")}
        summary = await client.get("/v1/feedback/summary", params=window())

    assert answered.status_code == 303
    surveyed, waiting = tickets["T8"], tickets["T9"]
    assert surveyed.subject is None and [a.comment for a in surveyed.survey.answers] == [None]
    assert [a.score for a in surveyed.survey.answers] == [5]
    assert (waiting.survey, waiting.due_at, waiting.skipped) == (None, None, "the customer was erased")
    assert summary.json()["groups"][0]["csat"]["answered"] == 1


async def test_a_ticket_created_before_the_erasure_and_handled_after_it_never_gets_a_survey(
    settings: Settings, intake: EventPublisher, feedback_events: EventTap
) -> None:
    # customer.erased travels on its own topic: a ticket.created from before it can be handled after it.
    app = create_app(settings)
    book = app.state.surveys
    async with running_app(app, startup_timeout=30):
        erased_at = datetime.now(UTC)
        erased = CustomerErased(customer_id="C-kim", emails=("kim@example.com",))
        await intake.publish(new_envelope(erased, source="intake", occurred_at=erased_at))
        await until(lambda: erasure_recorded(settings), 20, "the erasure", "feedback app (in-process)")
        await open_and_solve(intake, "T30", email="Kim@example.com", created_at=erased_at - timedelta(minutes=1))
        await open_and_solve(intake, "T31", email="kim@example.com")  # written after: a new customer
        await feedback_events.wait_for("survey.sent", lambda e: e.ticket_id == "T31", timeout=20)

        async def settled() -> bool:
            record = await book.get("T30")
            return record is not None and (record.ticket.skipped or record.ticket.survey) is not None

        await until(settled, 20, "T30's survey decided", "feedback app (in-process)")
        late = (await book.get("T30")).ticket

    assert (late.requester_email, late.subject, late.channel) == (None, None, "web")
    assert (late.survey, late.skipped) == (None, "the requester has no email address")
    assert of_ticket(feedback_events, "T30", "survey.sent") == []


async def erasure_recorded(settings: Settings) -> bool:
    from pymongo import AsyncMongoClient

    client: AsyncMongoClient = AsyncMongoClient(settings.mongodb_url)
    try:
        return await client[settings.mongodb_database].erased_requesters.count_documents({}) == 1
    finally:
        await client.close()


async def test_an_expired_link_gets_410_and_takes_no_answer(
    settings: Settings, intake: EventPublisher, feedback_events: EventTap
) -> None:
    settings = settings.model_copy(update={"survey_link_ttl_seconds": 1.0})
    async with running_app(create_app(settings), startup_timeout=30) as client:
        await open_and_solve(intake, "T10")
        sent = await feedback_events.wait_for("survey.sent", lambda e: e.ticket_id == "T10", timeout=20)
        await asyncio.sleep(1.2)  # past the links' expiry
        opened = await client.get(path_of(sent.payload.rating_links[-1].url))
        posted = await answer(client, sent.payload.survey_url, 5)

    assert (opened.status_code, posted.status_code) == (410, 410)
    assert 'id="problem"' in opened.text and 'id="problem"' in posted.text
    assert of_ticket(feedback_events, "T10", "feedback.received") == []
