"""The SLA and feedback services of the walking skeleton: they start, report readiness, consume their topics."""

from __future__ import annotations

import asyncio

import pytest
from prometheus_client.parser import text_string_to_metric_families

from helpdesk_events import CustomerErased, TicketStatusChanged
from helpdesk_events.publisher import EventPublisher
from helpdesk_feedback.bootstrap import create_app as create_feedback
from helpdesk_feedback.settings import Settings as FeedbackSettings
from helpdesk_sla.bootstrap import create_app as create_sla
from helpdesk_sla.settings import Settings as SlaSettings
from tests.support.apps import running_app, settings_for_test

pytestmark = pytest.mark.integration

SERVICES = {
    "sla": (create_sla, SlaSettings, [TicketStatusChanged(from_status="new", to_status="open")]),
    "feedback": (
        create_feedback,
        FeedbackSettings,
        [
            TicketStatusChanged(from_status="open", to_status="solved"),
            CustomerErased(customer_id="C-1", emails=("gone@example.com",)),
        ],
    ),
}


def consumed(metrics: str, service: str, event_type: str) -> float:
    return sum(
        sample.value
        for family in text_string_to_metric_families(metrics)
        for sample in family.samples
        if sample.name == "helpdesk_events_consumed_total"
        and (sample.labels.get("service"), sample.labels.get("type")) == (service, event_type)
    )


@pytest.mark.parametrize("service", sorted(SERVICES))
async def test_service_is_ready_and_consumes_its_topics(
    service: str, kafka_bootstrap: str, mongodb_url: str, topic_prefix: str, mongo_db_prefix: str
) -> None:
    create_app, settings_class, events = SERVICES[service]
    settings = settings_for_test(
        settings_class,
        service,
        kafka_bootstrap=kafka_bootstrap,
        mongodb_url=mongodb_url,
        topic_prefix=topic_prefix,
        mongo_db_prefix=mongo_db_prefix,
    )
    async with running_app(create_app(settings)) as client:
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        ready = await client.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json()["checks"] == {"kafka": "ok", "mongodb": "ok"}

        before = {
            e.event_type: consumed((await client.get("/metrics")).text, service, e.event_type) for e in events
        }
        publisher = EventPublisher(settings.kafka("test"), source="test")
        await publisher.start()
        try:
            for event in events:
                await publisher.emit(event, ticket_id="T-1")
        finally:
            await publisher.stop()
        for _ in range(150):
            metrics = (await client.get("/metrics")).text
            if all(consumed(metrics, service, e.event_type) > before[e.event_type] for e in events):
                break
            await asyncio.sleep(0.1)
        else:
            pytest.fail(f"{service} did not consume {[e.event_type for e in events]}:\n{metrics[-2000:]}")


async def test_readiness_reports_an_unreachable_store(kafka_bootstrap: str, topic_prefix: str) -> None:
    from devtools.servers import free_port

    unreachable = f"mongodb://127.0.0.1:{free_port()}/?directConnection=true"
    settings = settings_for_test(
        SlaSettings,
        "sla",
        kafka_bootstrap=kafka_bootstrap,
        mongodb_url=unreachable,
        topic_prefix=topic_prefix,
        mongo_db_prefix="unused_",
    )
    async with running_app(create_sla(settings)) as client:
        response = await client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "not_ready" and body["checks"]["kafka"] == "ok"
    assert body["checks"]["mongodb"].startswith("error")
