"""Composition root of the feedback service.

The walking skeleton consumes the ticket and feedback streams (every event counted
in /metrics) and serves health; surveys and scores come with the feedback issue.
"""

from fastapi import FastAPI

from helpdesk_events import Topic
from helpdesk_events.runtime import EventRuntime
from helpdesk_events.service import event_service_app, mongo_client
from helpdesk_feedback.settings import Settings


def create_app(settings: Settings) -> FastAPI:
    runtime = EventRuntime(settings, service="feedback", group_id="feedback", topics=[Topic.TICKETS, Topic.FEEDBACK])
    return event_service_app(
        title="Help desk feedback",
        description="CSAT, NPS and CES surveys for solved tickets, and their scores.",
        runtime=runtime,
        mongo=mongo_client(settings),
    )
