"""The whole pipeline: five service processes on the real servers, from a posted ticket to Slack and email."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from devtools.fake_slack import FakeSlack
from devtools.platform import SERVICES, Platform
from devtools.servers import SmtpCapture, free_port
from tests.conftest import SLACK_TEST_TOKEN
from tests.support.browser import chromium
from tests.support.kafka import EventTap

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def platform(
    kafka_bootstrap: str,
    mongodb_url: str,
    redis_url: str,
    smtp_capture: SmtpCapture,
    fake_slack: FakeSlack,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Platform]:
    prefix = f"e2e{uuid.uuid4().hex[:6]}."
    running = Platform(
        kafka_bootstrap_servers=kafka_bootstrap,
        mongodb_url=mongodb_url,
        redis_url=redis_url,
        smtp_host=smtp_capture.host,
        smtp_port=smtp_capture.port,
        run_dir=Path(tmp_path_factory.mktemp("platform")),
        ports={name: free_port() for name in SERVICES},
        email_smtp_port=free_port(),
        env={
            "KAFKA_TOPIC_PREFIX": prefix,
            "SLACK_API_URL": fake_slack.url,
            "SLACK_BOT_TOKEN": SLACK_TEST_TOKEN,
            "ENVIRONMENT": "test",
            # Surveys a second after the solve, every customer every time: the journey runs in seconds.
            "SURVEY_DELAY_SECONDS": "1",
            "SURVEY_CUSTOMER_INTERVAL_SECONDS": "0",
            "FEEDBACK_TIMER_INTERVAL_SECONDS": "0.2",
        },
    )
    try:
        running.start()
        yield running
    finally:
        running.stop()


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10) as http:
        yield http


def topic(platform: Platform, family: str) -> str:
    return platform.env["KAFKA_TOPIC_PREFIX"] + family


async def put_agent(client: httpx.AsyncClient, platform: Platform, agent_id: str, slack_user_id: str) -> None:
    response = await client.put(
        f"{platform.url('router')}/v1/agents/{agent_id}",
        json={
            "name": f"Agent {agent_id}",
            "email": f"{agent_id}@example.com",
            "slack_user_id": slack_user_id,
            "skills": ["english"],
            "capacity": 10,
            "status": "online",
        },
    )
    assert response.status_code in (200, 201), response.text


async def post_ticket(client: httpx.AsyncClient, platform: Platform, requester: str, subject: str) -> str:
    response = await client.post(
        f"{platform.url('intake')}/v1/tickets",
        json={"subject": subject, "body": "It stopped working this morning.", "requester": {"email": requester, "name": "Sam"}},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "new"
    return body["ticket_id"]


async def eventually(probe, timeout: float = 15.0):
    """Poll `probe` (async, returns a value or None) until it returns something."""
    async with asyncio.timeout(timeout):
        while True:
            value = await probe()
            if value:
                return value
            await asyncio.sleep(0.1)


async def test_a_posted_ticket_is_assigned_announced_in_slack_and_acknowledged_by_email(
    platform: Platform, client: httpx.AsyncClient, fake_slack: FakeSlack, smtp_capture: SmtpCapture, kafka_bootstrap: str
) -> None:
    agent_id, slack_user = f"agent-{uuid.uuid4().hex[:6]}", f"U{uuid.uuid4().hex[:8].upper()}"
    await put_agent(client, platform, agent_id, slack_user)
    requester = f"sam-{uuid.uuid4().hex[:6]}@example.com"
    subject = f"Printer jammed {uuid.uuid4().hex[:6]}"

    async with EventTap(kafka_bootstrap, topic(platform, "tickets")) as tickets:
        ticket_id = await post_ticket(client, platform, requester, subject)
        created = await tickets.wait_for("ticket.created", lambda e: e.ticket_id == ticket_id)
        assigned = await tickets.wait_for("ticket.assigned", lambda e: e.ticket_id == ticket_id)
    assert created.source == "intake" and created.payload.subject == subject
    assert assigned.source == "router" and assigned.payload.agent_id == agent_id

    slack_call = await asyncio.to_thread(
        fake_slack.wait_for_call,
        "chat.postMessage",
        lambda call: call["body"].get("channel") == slack_user,
        15,
    )
    assert subject in str(slack_call["body"])
    assert slack_call["headers"].get("Authorization") == f"Bearer {SLACK_TEST_TOKEN}"

    mail = await smtp_capture.wait_for_async(lambda m: m["To"] and requester in m["To"], timeout=15)
    assert ticket_id in mail["Subject"]
    assert mail["Message-ID"]

    async def assigned_in_read_model():
        response = await client.get(f"{platform.url('intake')}/v1/tickets/{ticket_id}")
        ticket = response.json() if response.status_code == 200 else {}
        return ticket if ticket.get("assignee_id") == agent_id and ticket.get("status") == "open" else None

    ticket = await eventually(assigned_in_read_model)
    assert ticket["subject"] == subject and ticket["requester"]["email"] == requester

    async def both_deliveries():
        response = await client.get(f"{platform.url('notifier')}/v1/deliveries", params={"ticket_id": ticket_id})
        deliveries = response.json()["deliveries"]
        sent = {d["channel"]: d for d in deliveries if d["status"] == "sent"}
        return sent if {"slack", "email"} <= set(sent) else None

    sent = await eventually(both_deliveries)
    assert sent["slack"]["recipient"] == slack_user
    assert sent["email"]["recipient"] == requester
    assert sent["email"]["external_id"] == mail["Message-ID"]


async def test_a_poison_event_is_dead_lettered_by_every_consumer_and_the_pipeline_goes_on(
    platform: Platform, client: httpx.AsyncClient, kafka_bootstrap: str
) -> None:
    await put_agent(client, platform, f"agent-{uuid.uuid4().hex[:6]}", "U0POISON")
    poison_key = f"poison-{uuid.uuid4().hex[:6]}".encode()
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    try:
        async with EventTap(kafka_bootstrap, topic(platform, "deadletter")) as dead, EventTap(
            kafka_bootstrap, topic(platform, "tickets")
        ) as tickets:
            await producer.send_and_wait(topic(platform, "tickets"), b"\x00 not an event", key=poison_key)
            ticket_id = await post_ticket(client, platform, "after-poison@example.com", "After the poison")
            await tickets.wait_for("ticket.assigned", lambda e: e.ticket_id == ticket_id)
            records = await dead.wait_for_records(lambda r: r.key == poison_key, count=5, timeout=20)
    finally:
        await producer.stop()
    groups = {dict(r.headers)["dlq-consumer-group"].decode() for r in records}
    assert groups == {"intake-read-model", "router", "sla", "feedback", "notifier"}
    assert all(dict(r.headers)["dlq-reason"] == b"undecodable" for r in records)
    assert all(r.value == b"\x00 not an event" for r in records)


async def test_every_service_reports_ready_and_exports_metrics(platform: Platform, client: httpx.AsyncClient) -> None:
    for name in SERVICES:
        ready = await client.get(f"{platform.url(name)}/readyz")
        assert ready.status_code == 200, f"{name}: {ready.text}"
        metrics = await client.get(f"{platform.url(name)}/metrics")
        assert "helpdesk_events_consumed_total" in metrics.text, name


def text_of(mail: EmailMessage) -> str:
    part = mail.get_body(preferencelist=("plain",))
    assert part is not None, "the email has no text part"
    return part.get_content()


def link_for(text: str, score: int) -> str:
    """The one-click link for `score` in the survey email's text part (a line with the score, then its URL)."""
    links = re.findall(r"(?m)^\s*(\d+)\b.*?(https?://\S+/s/[A-Za-z0-9_.-]+)\s*$", text)
    found = {int(found_score): url for found_score, url in links}
    assert score in found, f"no one-click link for {score} in:\n{text}"
    return found[score]


@pytest.mark.parametrize("javascript", [False, True], ids=["no-javascript", "javascript"])
async def test_a_solved_ticket_is_surveyed_by_email_rated_in_a_browser_and_counted_in_the_summary(
    platform: Platform, client: httpx.AsyncClient, smtp_capture: SmtpCapture, javascript: bool
) -> None:
    agent_id, slack_user = f"agent-{uuid.uuid4().hex[:6]}", f"U{uuid.uuid4().hex[:8].upper()}"
    await put_agent(client, platform, agent_id, slack_user)
    requester = f"rae-{uuid.uuid4().hex[:6]}@example.com"
    ticket_id = await post_ticket(client, platform, requester, f"Invoice missing {uuid.uuid4().hex[:6]}")
    reply = await client.post(f"{platform.url('intake')}/v1/tickets/{ticket_id}/replies",
                              json={"agent_id": agent_id, "body": "Here is your invoice."})  # fmt: skip
    assert reply.status_code == 201, reply.text

    async def assigned() -> dict | None:
        ticket = (await client.get(f"{platform.url('intake')}/v1/tickets/{ticket_id}")).json()
        return ticket if ticket.get("assignee_id") == agent_id else None

    await eventually(assigned)
    solved = await client.post(f"{platform.url('intake')}/v1/tickets/{ticket_id}/status",
                               json={"agent_id": agent_id, "status": "solved"})  # fmt: skip
    assert solved.status_code == 200, solved.text

    invitation = await smtp_capture.wait_for_async(
        lambda m: bool(m["To"]) and requester in m["To"] and "/s/" in text_of(m), timeout=30
    )
    four = link_for(text_of(invitation), 4)
    assert four.startswith(platform.url("feedback"))

    async with chromium() as browser:
        context = await browser.new_context(java_script_enabled=javascript)
        page = await context.new_page()
        opened = await page.goto(four)
        assert opened is not None and opened.status == 200
        assert await page.is_checked("#score-4")  # the link's score, waiting for the customer to confirm
        await page.fill("#comment", "Quick and kind, thank you Grace!")
        await page.click("#submit")
        await page.wait_for_selector("#thanks")
        thanked = await page.inner_text("main")
        await context.close()
    assert "4" in thanked

    window = {"from": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
              "to": (datetime.now(UTC) + timedelta(hours=1)).isoformat(), "group_by": "agent"}  # fmt: skip

    async def counted() -> dict | None:
        response = await client.get(f"{platform.url('feedback')}/v1/feedback/summary", params=window)
        assert response.status_code == 200, response.text
        groups = {group["group"]: group for group in response.json()["groups"]}
        mine = groups.get(agent_id)
        return mine if mine is not None and mine["csat"]["answered"] == 1 else None

    summary = await eventually(counted)
    assert summary["csat"] == {"sent": 1, "answered": 1, "score": 1.0, "response_rate": 1.0, "low": 0}
