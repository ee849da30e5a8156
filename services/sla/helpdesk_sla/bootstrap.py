"""Composition root of the SLA service.

The walking skeleton consumes the ticket stream (every event counted in /metrics)
and serves health; policies, clocks and timers come with the SLA issue.
"""

from fastapi import FastAPI

from helpdesk_events import Topic
from helpdesk_events.runtime import EventRuntime
from helpdesk_events.service import event_service_app, mongo_client
from helpdesk_sla.settings import Settings


def create_app(settings: Settings) -> FastAPI:
    runtime = EventRuntime(settings, service="sla", group_id="sla", topics=[Topic.TICKETS])
    return event_service_app(
        title="Help desk SLA",
        description="SLA policies, response and resolution clocks on business hours, warnings and breaches.",
        runtime=runtime,
        mongo=mongo_client(settings),
    )
