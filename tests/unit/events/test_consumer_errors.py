"""Which failures mean "try the event again later" rather than "the event is bad"."""

from __future__ import annotations

import aiokafka.errors
import pymongo.errors

from helpdesk_events.consumer import is_infrastructure_error


class HeldElsewhere(Exception):
    """A service's own kind of outage, named when it builds its dispatcher."""


def test_stores_and_brokers_that_are_away_are_infrastructure() -> None:
    assert is_infrastructure_error(ConnectionError("refused"))
    assert is_infrastructure_error(pymongo.errors.ServerSelectionTimeoutError("no primary"))
    assert is_infrastructure_error(aiokafka.errors.KafkaConnectionError())
    assert is_infrastructure_error(HeldElsewhere(), (HeldElsewhere,))


def test_kafka_errors_it_calls_retriable_or_cannot_name_are_infrastructure() -> None:
    # The embedded broker answers UnknownError to produce requests for a few seconds after a restart.
    assert is_infrastructure_error(aiokafka.errors.UnknownError())
    assert is_infrastructure_error(aiokafka.errors.NotLeaderForPartitionError())
    assert is_infrastructure_error(aiokafka.errors.UnknownTopicOrPartitionError())


def test_a_record_that_is_its_own_problem_or_a_bug_is_not() -> None:
    assert not is_infrastructure_error(aiokafka.errors.MessageSizeTooLargeError())
    assert not is_infrastructure_error(ValueError("bad ticket"))
    assert not is_infrastructure_error(KeyError("requester"))
