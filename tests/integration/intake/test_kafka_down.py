"""Without Kafka's acknowledgement there is no ticket: 503 with Retry-After, never 201.

Each test runs a broker of its own (Tansu starts in milliseconds) so it can be absent or stopped
without touching the session's broker.
"""

from __future__ import annotations

import asyncio

import pytest

from devtools.servers import EmbeddedKafka, free_port
from helpdesk_intake.settings import Settings
from tests.integration.intake.helpers import FORM, frozen, open_ticket, own_broker, poll, running_intake

pytestmark = pytest.mark.integration


async def test_kafka_down_at_startup_answers_503_until_it_comes_up(settings: Settings) -> None:
    port = free_port()
    settings = settings.model_copy(
        update={"kafka_bootstrap_servers": f"127.0.0.1:{port}", "kafka_connect_retry_seconds": 0.2}
    )
    broker = EmbeddedKafka(port=port)
    try:
        async with running_intake(settings) as client:  # starts although nothing listens on the port
            refused = await client.post("/v1/tickets", json=FORM)
            assert refused.status_code == 503
            assert refused.headers["retry-after"] == "5"
            assert "not recorded" in refused.json()["detail"]

            readiness = await client.get("/readyz")
            assert readiness.status_code == 503
            checks = readiness.json()["checks"]
            assert checks["mongodb"] == "ok"
            assert "not connected to Kafka yet" in checks["kafka"]

            await asyncio.to_thread(broker.start)
            await poll(client, "/readyz", lambda r: r.status_code == 200)
            await open_ticket(client)
    finally:
        broker.stop()


async def test_a_broker_that_stops_answering_gets_503_within_the_publish_timeout(settings: Settings) -> None:
    async with (
        own_broker(settings, publish_timeout_seconds=0.5) as (stalling, broker),
        running_intake(stalling) as client,
    ):
        await open_ticket(client)
        with frozen(broker):
            refused = await client.post("/v1/tickets", json=FORM)
        assert refused.status_code == 503
        assert refused.headers["retry-after"] == "5"
        # The publish timeout answered, not Kafka's own, much longer, request timeouts.
        assert "did not acknowledge within 0.5 s" in refused.json()["detail"]
