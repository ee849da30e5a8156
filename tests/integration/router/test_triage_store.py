"""The triage stores on the real server: one rule set with a revision, one decision per ticket."""

from __future__ import annotations

import asyncio

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from helpdesk_events import Priority
from helpdesk_router.triage import NO_RULES, TriageDecision, parse_rule_set
from helpdesk_router.triage_store import MongoRuleBook, MongoTriageBook

pytestmark = pytest.mark.integration

VIP = parse_rule_set(
    {"rules": [{"name": "vip", "when": {"tags_any": ["vip"]}, "then": {"priority": "urgent"}}]}
)
PRESS = parse_rule_set({"rules": [{"name": "press", "when": {"subject_pattern": "(?i)press"}, "stop": True}]})


async def test_rules_are_seeded_once_then_replaced_whole_with_a_revision_every_instance_sees(
    db: AsyncDatabase,
) -> None:
    one, other = MongoRuleBook(db), MongoRuleBook(db)  # two router instances
    assert await one.current() == (0, NO_RULES)
    assert await one.seed(VIP) is True
    assert await other.seed(PRESS) is False  # the first seed stays
    assert await other.current() == (1, VIP)

    revisions = await asyncio.gather(one.replace(PRESS), other.replace(VIP))
    assert sorted(revisions) == [2, 3]  # two writers, two revisions, none lost
    revision, rule_set = await one.current()
    assert revision == 3 and rule_set == (PRESS if revisions[0] == 3 else VIP)
    assert await other.current() == (revision, rule_set)


async def test_the_first_decision_of_a_ticket_is_kept(db: AsyncDatabase) -> None:
    book = MongoTriageBook(db)
    first = TriageDecision(
        priority=Priority.URGENT,
        category="billing",
        tags=("vip",),
        required_skills=("refunds",),
        team="billing",
        sla_policy="vip",
        matched_rules=("vip", "billing"),
    )
    assert await book.decision("T1") is None
    assert await book.record("T1", first, 1) == (first, True)
    assert await book.record("T1", TriageDecision(priority=Priority.LOW), 2) == (first, False)  # kept
    assert await book.decision("T1") == first
