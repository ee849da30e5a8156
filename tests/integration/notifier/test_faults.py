"""The notifier as a real process (`python -m helpdesk_notifier`) through the faults it must live with.

- Slack answers a burst of posts with 429 and a Retry-After: the assignment messages wait as told,
  and each is posted once.
- The mail server is down for a minute: the default retry policy outlasts it, and each
  acknowledgement arrives once. This test waits the whole minute, on purpose (see OUTAGE_SECONDS).
- The notifier is killed with SIGKILL in the middle of a stream of tickets and started again: each
  acknowledgement and each assignment message goes out once.

Everything is judged from the outside: what FakeSlack and SmtpCapture received and what
GET /v1/deliveries says, for trigger events published on the tickets topic as intake and the router
would. The retry settings are the service's defaults (only Kafka, the servers' addresses and, for
the kill, the guard's lifetime are the test's own), so these tests are about what ships.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from devtools.fake_slack import FakeSlack
from devtools.platform import ServiceProcess
from devtools.servers import SmtpCapture, free_port
from helpdesk_events.publisher import EventPublisher
from helpdesk_notifier.settings import Settings
from tests.conftest import SLACK_TEST_TOKEN
from tests.integration.notifier.events import (
    new_slack_user_id,
    new_ticket_id,
    ticket_assigned,
    ticket_created,
)
from tests.support.waiting import until

pytestmark = pytest.mark.integration

# How long the mail server stays down. A real minute: the point is that the shipped retry defaults
# (DELIVERY_MAX_ATTEMPTS and the delays) outlast an outage this long. The slowest test in the file.
OUTAGE_SECONDS = 60.0
# Slack's burst: this many posts answered 429 with `Retry-After: RETRY_AFTER_SECONDS`.
RATE_LIMITED_POSTS = 8
RETRY_AFTER_SECONDS = 1
# Tickets in the stream the notifier is killed in the middle of, and the Slack post it is killed
# while making.
STREAM = 100
KILL_AT_POST = 20
# The Redis guard a killed process leaves on the delivery it had in hand is a lease that lapses this
# long after the kill; until then the restarted process finds it held (DeliveryBusy) and retries the
# record, never dead-letters it. The default lease is 30 s; a short one keeps the test quick.
GUARD_TTL_SECONDS = 2
# The deliveries the tests count (the handlers may make others of the same events).
KINDS = ("acknowledgement", "assignment")


# -- the notifier process ------------------------------------------------------------------------------


def notifier_environment(settings: Settings) -> dict[str, str]:
    """The settings under the environment names the service reads; the HTTP address is ServiceProcess's."""
    values = settings.model_dump(exclude={"http_host", "http_port"}, exclude_none=True)
    return {
        name.upper(): value.get_secret_value() if isinstance(value, SecretStr) else str(value)
        for name, value in values.items()
    }


@asynccontextmanager
async def notifier_process(settings: Settings, log_dir: Path) -> AsyncIterator[ServiceProcess]:
    """A notifier process, ready (/readyz); stopped at the end (nothing to do once killed)."""
    process = ServiceProcess("notifier", free_port(), notifier_environment(settings), log_dir)
    try:
        await asyncio.to_thread(process.start)  # polls with sleeps: in a thread, so the loop runs on
        yield process
    finally:
        await asyncio.to_thread(process.stop)


@asynccontextmanager
async def tickets_topic(settings: Settings) -> AsyncIterator[EventPublisher]:
    """Publishes on the tickets topic what intake and the router would."""
    publisher = EventPublisher(settings.kafka("test"), source="test")
    await publisher.start()
    try:
        yield publisher
    finally:
        await publisher.stop()


def log_of(log_dir: Path) -> str:
    """The end of the notifier's log, for a failure message (the lead's handlers are changing under us)."""
    path = log_dir / "notifier.log"
    try:
        tail = path.read_text(errors="replace")[-3000:]
    except OSError:
        return f"{path} (unreadable)"
    return f"{path}, ending:\n{tail}"


async def all_deliveries(process: ServiceProcess) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(base_url=process.url, timeout=10) as http:
        response = await http.get("/v1/deliveries", params={"limit": 1000})
    assert response.status_code == 200, response.text
    return response.json()["deliveries"]


# -- what arrived ----------------------------------------------------------------------------------------


def acknowledgements(smtp: SmtpCapture, ticket_ids: list[str]) -> dict[str, list[EmailMessage]]:
    """The mails each ticket's requester received (the acknowledgement is the only mail triggered here)."""
    wanted = set(ticket_ids)
    received: dict[str, list[EmailMessage]] = {ticket_id: [] for ticket_id in ticket_ids}
    for message in smtp.messages:
        if message["X-Helpdesk-Ticket-Id"] in wanted:
            received[message["X-Helpdesk-Ticket-Id"]].append(message)
    return received


def posts(slack: FakeSlack, agents: list[str], *, status: int = 200) -> dict[str, list[dict]]:
    """chat.postMessage calls to each agent that Slack answered with `status` (200: posted, with ok)."""
    wanted = set(agents)
    answered: dict[str, list[dict]] = {agent: [] for agent in agents}
    for call in slack.calls("chat.postMessage"):
        agent = call["body"].get("channel")
        if agent in wanted and call["status"] == status and (status != 200 or call["response"].get("ok")):
            answered[agent].append(call)
    return answered


def not_once(counts: dict[str, int]) -> dict[str, int]:
    return {key: count for key, count in counts.items() if count != 1}


# -- settings ----------------------------------------------------------------------------------------


@pytest.fixture
def fault_settings(notifier_settings: Settings) -> Settings:
    """The session's servers (as the other notifier tests), with the notifier's own defaults for
    everything about retries (of deliveries, and of a handler by the consumer)."""
    defaults = {
        name: Settings.model_fields[name].default
        for name in (
            "delivery_max_attempts",
            "delivery_base_delay_seconds",
            "delivery_max_delay_seconds",
            "delivery_guard_ttl_seconds",
            "consumer_max_attempts",
        )
    }
    return notifier_settings.model_copy(update=defaults)


# -- the tests -------------------------------------------------------------------------------------------


async def test_a_burst_of_slack_rate_limits_delays_assignment_messages_but_loses_none(
    fault_settings: Settings, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    ticket_ids = [new_ticket_id() for _ in range(6)]
    agent_of = {ticket_id: new_slack_user_id() for ticket_id in ticket_ids}
    agents = list(agent_of.values())
    logs = lambda: log_of(tmp_path)  # noqa: E731

    async with (
        notifier_process(fault_settings, tmp_path) as process,
        tickets_topic(fault_settings) as tickets,
    ):
        fake_slack.fail_next(
            RATE_LIMITED_POSTS, status=429, retry_after=RETRY_AFTER_SECONDS, method="chat.postMessage"
        )
        try:
            for ticket_id in ticket_ids:
                await tickets.publish(ticket_created(ticket_id))
                await tickets.publish(ticket_assigned(ticket_id, agent_of[ticket_id]))
            await until(
                lambda: all(posts(fake_slack, agents).values()),
                60,
                lambda: f"an assignment message to each agent (posted: {posts(fake_slack, agents)})",
                logs,
            )
        finally:
            fake_slack.fail_next(0)  # the session's fake is shared
        deliveries = await all_deliveries(process)

    posted, limited = posts(fake_slack, agents), posts(fake_slack, agents, status=429)
    assert not_once({agent: len(calls) for agent, calls in posted.items()}) == {}, f"log {logs()}"
    # The burst hit these posts, and each was made again only once Retry-After had passed.
    assert sum(len(calls) for calls in limited.values()) == RATE_LIMITED_POSTS
    for agent, refused in limited.items():
        if refused:
            assert posted[agent][0]["at"] - refused[-1]["at"] >= RETRY_AFTER_SECONDS, (agent, refused, posted)

    assignments = [d for d in deliveries if d["kind"] == "assignment"]
    assert sorted(d["recipient"] for d in assignments) == sorted(agents)
    assert {d["status"] for d in assignments} == {"sent"}
    # Every refused post was one attempt of a delivery that went on to succeed.
    assert sum(d["attempts"] for d in assignments) == len(agents) + RATE_LIMITED_POSTS


async def test_a_mail_server_down_for_a_minute_is_ridden_out_one_acknowledgement_each(
    fault_settings: Settings, tmp_path: Path
) -> None:
    """Slow on purpose: the mail server really stays down for OUTAGE_SECONDS (a minute)."""
    # A port with nothing listening on it: connections are refused until the server starts there.
    mail_server = SmtpCapture(port=free_port())
    settings = fault_settings.model_copy(update={"smtp_port": mail_server.port})
    ticket_ids = [new_ticket_id() for _ in range(3)]
    logs = lambda: log_of(tmp_path)  # noqa: E731

    async def refused_attempts() -> bool:
        acks = [d for d in await all_deliveries(process) if d["kind"] == "acknowledgement"]
        return any(d["attempts"] >= 2 and d["status"] == "sending" for d in acks)

    try:
        async with notifier_process(settings, tmp_path) as process, tickets_topic(settings) as tickets:
            outage = asyncio.create_task(asyncio.sleep(OUTAGE_SECONDS))
            for ticket_id in ticket_ids:
                await tickets.publish(ticket_created(ticket_id))
            # The notifier is in the outage: attempts refused, the delivery still going.
            await until(refused_attempts, 30, lambda: "a refused acknowledgement attempt", logs)
            await outage
            await asyncio.to_thread(mail_server.start)
            # The next attempt comes at most DELIVERY_MAX_DELAY_SECONDS (30) after the server is back.
            await until(
                lambda: all(acknowledgements(mail_server, ticket_ids).values()),
                60,
                lambda: f"an acknowledgement for each of {ticket_ids}",
                logs,
            )
            deliveries = await all_deliveries(process)
    finally:
        await asyncio.to_thread(mail_server.stop)

    received = acknowledgements(mail_server, ticket_ids)
    assert not_once({ticket_id: len(mails) for ticket_id, mails in received.items()}) == {}, f"log {logs()}"
    acks = {d["ticket_id"]: d for d in deliveries if d["kind"] == "acknowledgement"}
    assert set(acks) == set(ticket_ids)
    assert {d["status"] for d in acks.values()} == {"sent"}
    # At least one of them was tried through the whole outage, and none was given up.
    assert max(d["attempts"] for d in acks.values()) > 2
    for ticket_id, delivery in acks.items():
        assert delivery["external_id"] == received[ticket_id][0]["Message-ID"]


async def test_a_notifier_killed_midstream_sends_each_acknowledgement_and_assignment_once(
    fault_settings: Settings, smtp_capture: SmtpCapture, tmp_path: Path
) -> None:
    """The kill lands in the worst place for Slack: the post reached Slack, its answer never reached
    the notifier (the fake kills the process while answering). The restarted notifier finds the
    delivery interrupted and must look for the message rather than post it twice."""
    ticket_ids = [new_ticket_id() for _ in range(STREAM)]
    agent_of = {ticket_id: new_slack_user_id() for ticket_id in ticket_ids}
    agents = list(agent_of.values())
    before_dir, after_dir = tmp_path / "before-kill", tmp_path / "after-kill"
    logs = lambda: f"{log_of(before_dir)}\nand {log_of(after_dir)}"  # noqa: E731

    first: list[ServiceProcess] = []
    killed_during: list[dict] = []  # the post whose answer the notifier never got

    def kill_while_answering(call: dict) -> None:
        """Runs in the fake's thread after recording a call and before answering it."""
        if killed_during or call["method"] != "chat.postMessage" or call["status"] != 200 or not first:
            return
        if sum(1 for _ in slack.calls("chat.postMessage")) >= KILL_AT_POST:
            killed_during.append(call)
            first[0].kill()

    with FakeSlack(token=SLACK_TEST_TOKEN, on_call=kill_while_answering) as slack:
        settings = fault_settings.model_copy(
            update={"delivery_guard_ttl_seconds": GUARD_TTL_SECONDS, "slack_api_url": slack.url}
        )

        def mails_so_far() -> int:
            return sum(1 for mails in acknowledgements(smtp_capture, ticket_ids).values() if mails)

        async with tickets_topic(settings) as tickets:

            async def stream() -> None:  # intake and the router go on while the notifier is down
                for ticket_id in ticket_ids:
                    await tickets.publish(ticket_created(ticket_id))
                    await tickets.publish(ticket_assigned(ticket_id, agent_of[ticket_id]))

            async with notifier_process(settings, before_dir) as process:
                first.append(process)
                streaming = asyncio.create_task(stream())
                try:
                    await until(lambda: bool(killed_during), 30, lambda: f"post number {KILL_AT_POST}", logs)
                    # Mails and Slack posts go out side by side (lanes), each kind at its own pace.
                    sent_before_kill = mails_so_far() + sum(1 for _ in slack.calls("chat.postMessage"))
                finally:
                    await streaming

            async with notifier_process(settings, after_dir) as second:
                deliveries: list[dict[str, Any]] = []

                async def all_settled() -> bool:
                    deliveries[:] = await all_deliveries(second)
                    kinds = Counter(d["kind"] for d in deliveries if d["status"] != "sending")
                    return kinds["acknowledgement"] == kinds["assignment"] == STREAM

                await until(
                    all_settled,
                    60,
                    lambda: (
                        f"{STREAM} settled acknowledgements and assignments "
                        f"(have {Counter((d['kind'], d['status']) for d in deliveries)})"
                    ),
                    logs,
                )
        posted = posts(slack, agents)
        looked_up = slack.calls("conversations.history")

    assert 0 < sent_before_kill < 2 * STREAM, "the kill did not land in the middle of the stream"
    failed = [d for d in deliveries if d["kind"] in KINDS and d["status"] != "sent"]
    assert failed == [], f"deliveries not sent: {failed}; notifier log {logs()}"

    # Slack: one assignment message per agent, each delivery naming the message posted.
    assert not_once({agent: len(calls) for agent, calls in posted.items()}) == {}, f"log {logs()}"
    assignments = {d["recipient"]: d for d in deliveries if d["kind"] == "assignment"}
    assert sorted(assignments) == sorted(agents)
    wrong_ts = {
        agent: (delivery["external_id"], posted[agent][0]["response"]["ts"])
        for agent, delivery in assignments.items()
        if delivery["external_id"] != posted[agent][0]["response"]["ts"]
    }
    assert wrong_ts == {}, f"deliveries not naming the message posted: {wrong_ts}"
    # The post cut off by the kill was found in the agent's conversation, not posted again.
    interrupted_agent = killed_during[0]["body"]["channel"]
    assert looked_up, "the interrupted post was not looked for"
    assert assignments[interrupted_agent]["status"] == "sent"

    # Email: one acknowledgement per requester. The one window SMTP leaves open (the server took the
    # mail, the process died before writing so) sends it again under the same Message-ID, which the
    # requester's mail client shows as one message; only a delivery in flight at the kill can be there.
    received = acknowledgements(smtp_capture, ticket_ids)
    acks = {d["ticket_id"]: d for d in deliveries if d["kind"] == "acknowledgement"}
    message_ids = {ticket_id: {m["Message-ID"] for m in mails} for ticket_id, mails in received.items()}
    assert not_once({ticket_id: len(ids) for ticket_id, ids in message_ids.items()}) == {}, f"log {logs()}"
    copied = {ticket_id: len(mails) for ticket_id, mails in received.items() if len(mails) > 1}
    assert all(copies == 2 and acks[ticket]["attempts"] == 2 for ticket, copies in copied.items()), copied
    assert len(copied) <= settings.consumer_concurrency, copied  # one delivery in hand per lane
    for ticket_id, delivery in acks.items():
        assert delivery["external_id"] == received[ticket_id][0]["Message-ID"]
