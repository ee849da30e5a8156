"""The help-desk event contract shared by every service and every subscriber.

Events travel on Kafka as a JSON envelope (`Envelope`) around a typed payload
(a subclass of `EventPayload`). Import the payload classes from here; the
registry knows every (type, version) pair and parses raw records back into
typed envelopes.
"""

from helpdesk_events.agent import AgentStatus, AgentStatusChanged
from helpdesk_events.customer import CustomerErased
from helpdesk_events.envelope import Envelope, EventPayload, new_envelope
from helpdesk_events.feedback import (
    FeedbackFollowUpRequested,
    FeedbackReceived,
    RatingLink,
    SurveyKind,
    SurveySent,
)
from helpdesk_events.notification import DeliveryChannel, NotificationFailed, NotificationSent
from helpdesk_events.registry import (
    EventDecodeError,
    UnknownEventType,
    decode,
    encode,
    event_classes,
    payload_class,
)
from helpdesk_events.sla import (
    SlaBreached,
    SlaMet,
    SlaMetric,
    SlaPaused,
    SlaResumed,
    SlaStarted,
    SlaWarning,
)
from helpdesk_events.ticket import (
    AssignmentAnswer,
    Attachment,
    AuthorKind,
    Channel,
    Priority,
    Requester,
    TicketAssigned,
    TicketAssignmentAnswered,
    TicketCreated,
    TicketMessageAdded,
    TicketPriorityChanged,
    TicketQueued,
    TicketStatus,
    TicketStatusChanged,
    TicketTriaged,
    TicketUnassigned,
)
from helpdesk_events.topics import Topic, TopicNames

__all__ = [
    "AgentStatus",
    "AgentStatusChanged",
    "AssignmentAnswer",
    "Attachment",
    "AuthorKind",
    "Channel",
    "CustomerErased",
    "DeliveryChannel",
    "Envelope",
    "EventDecodeError",
    "EventPayload",
    "FeedbackFollowUpRequested",
    "FeedbackReceived",
    "NotificationFailed",
    "NotificationSent",
    "Priority",
    "Requester",
    "SlaBreached",
    "SlaMet",
    "SlaMetric",
    "SlaPaused",
    "SlaResumed",
    "SlaStarted",
    "SlaWarning",
    "RatingLink",
    "SurveyKind",
    "SurveySent",
    "TicketAssigned",
    "TicketAssignmentAnswered",
    "TicketPriorityChanged",
    "TicketCreated",
    "TicketMessageAdded",
    "TicketQueued",
    "TicketStatus",
    "TicketStatusChanged",
    "TicketTriaged",
    "TicketUnassigned",
    "Topic",
    "TopicNames",
    "UnknownEventType",
    "decode",
    "encode",
    "event_classes",
    "new_envelope",
    "payload_class",
]
