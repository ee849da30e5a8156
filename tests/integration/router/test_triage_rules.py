"""Triage rules on the real servers: the rules file at start, GET/PUT /v1/rules, triage before
assignment by skill, the rules stored across a restart, and the same triage told on a replay."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from helpdesk_events.publisher import EventPublisher
from helpdesk_router.settings import Settings
from tests.integration.router.helpers import (
    agent,
    assigned,
    eventually,
    new_ticket,
    put_agent,
    running_router,
    tickets_created_handled,
)
from tests.support.kafka import EventTap

pytestmark = pytest.mark.integration

RULES_FILE = """\
rules:
  - name: refunds
    when:
      keywords: [refund, "charged twice"]
    then:
      priority: high
      category: billing
      add_tags: [money]
      required_skills: [Refunds]
      team: Billing
      sla_policy: billing-24h
"""

PUT_RULES = {
    "rules": [
        {
            "name": "outages",
            "when": {"body_pattern": r"(?i)\bdown\b"},
            "then": {"priority": "urgent", "team": "ops"},
        },
    ]
}


@pytest.fixture
def with_rules_file(settings: Settings, tmp_path: Path) -> Settings:
    path = tmp_path / "rules.yaml"
    path.write_text(RULES_FILE)
    return settings.model_copy(update={"router_rules_file": path})


async def test_a_matching_ticket_is_triaged_then_given_to_an_agent_with_the_required_skill(
    with_rules_file: Settings, intake: EventPublisher, tickets: EventTap
) -> None:
    async with running_router(with_rules_file) as client:
        rules = await client.get("/v1/rules")
        assert rules.status_code == 200
        assert [rule["name"] for rule in rules.json()["rules"]] == ["refunds"]
        assert rules.json()["rules"][0]["then"]["required_skills"] == ["refunds"]

        await put_agent(client, "bob", agent("bob", capacity=5, skills=["billing", "refunds"], teams=["billing"]), expected=201)
        await new_ticket(intake, "T0")  # no rule matches: bob, the only agent, takes it
        assert await assigned(tickets, "T0") == "bob"
        await put_agent(client, "ada", agent("ada", capacity=5), expected=201)  # idle, but no "refunds" skill

        await new_ticket(intake, "T1", body="I was charged twice, please refund")
        assert await assigned(tickets, "T1") == "bob"

        triaged = await tickets.wait_for("ticket.triaged", lambda e: e.ticket_id == "T1")
        assert triaged.source == "router"
        assert triaged.payload.model_dump() == {
            "priority": "high",
            "category": "billing",
            "tags": ("money",),
            "required_skills": ("refunds",),
            "team": "billing",
            "sla_policy": "billing-24h",
            "matched_rules": ("refunds",),
        }
        ticket_events = [e.type for e in tickets.envelopes if e.ticket_id == "T1"]
        assert ticket_events[:3] == ["ticket.created", "ticket.triaged", "ticket.assigned"]
        told = await tickets.wait_for("ticket.assigned", lambda e: e.ticket_id == "T1")
        assert told.payload.team == "billing"

        untriaged = await tickets.wait_for("ticket.triaged", lambda e: e.ticket_id == "T0")
        assert (untriaged.payload.priority, untriaged.payload.matched_rules) == ("normal", ())


async def test_a_bad_rule_set_is_refused_whole_and_a_good_one_applies_next_and_outlives_a_restart(
    with_rules_file: Settings, intake: EventPublisher, tickets: EventTap
) -> None:
    async with running_router(with_rules_file) as client:
        before = (await client.get("/v1/rules")).json()
        bad = {"rules": [PUT_RULES["rules"][0], {"name": "broken", "when": {"subject_pattern": "(unclosed"}}]}
        refused = await client.put("/v1/rules", json=bad)
        assert refused.status_code == 422
        [problem] = refused.json()["detail"]["problems"]
        assert (problem["rule_index"], problem["rule_name"], problem["field"]) == (
            1,
            "broken",
            "when.subject_pattern",
        )
        assert "invalid regular expression" in problem["message"]
        assert (await client.get("/v1/rules")).json() == before

        accepted = await client.put("/v1/rules", json=PUT_RULES)
        assert accepted.status_code == 200, accepted.text
        assert accepted.json() == PUT_RULES
        assert accepted.headers["ETag"] == '"2"'  # the file seeded revision 1

        await put_agent(client, "ada", agent("ada", capacity=5, teams=["ops"]), expected=201)
        await new_ticket(intake, "T1", body="The site is DOWN, and I want a refund")
        triaged = await tickets.wait_for("ticket.triaged", lambda e: e.ticket_id == "T1")
        assert (triaged.payload.priority, triaged.payload.matched_rules) == ("urgent", ("outages",))

    # Restarted with the same rules file: the stored rules stay in force, not the file.
    async with running_router(with_rules_file) as client:
        assert (await client.get("/v1/rules")).json() == PUT_RULES
        await new_ticket(intake, "T2", body="down again")
        triaged = await tickets.wait_for("ticket.triaged", lambda e: e.ticket_id == "T2")
        assert (triaged.payload.team, triaged.payload.matched_rules) == ("ops", ("outages",))
        assert await assigned(tickets, "T2") == "ada"


async def test_a_replayed_ticket_created_tells_the_same_triage_again(
    with_rules_file: Settings, intake: EventPublisher, tickets: EventTap
) -> None:
    async with running_router(with_rules_file) as client:
        await put_agent(client, "bob", agent("bob", capacity=5, skills=["refunds"], teams=["billing"]), expected=201)
        created = await new_ticket(intake, "T1", body="refund please")
        assert await assigned(tickets, "T1") == "bob"

        # New rules meanwhile: a replay must still tell the first decision.
        emptied = await client.put(
            "/v1/rules", content=b"rules: []\n", headers={"Content-Type": "application/yaml"}
        )
        assert (emptied.status_code, emptied.json()) == (200, {"rules": []})
        await intake.publish(created)
        await tickets_created_handled(client, settings=with_rules_file, count=2)

        def told_triage() -> list:
            return [e for e in tickets.envelopes if e.type == "ticket.triaged" and e.ticket_id == "T1"]

        await eventually(lambda: len(told_triage()) >= 2)
        triaged = told_triage()
        assert len(triaged) == 2
        assert triaged[0].id == triaged[1].id
        assert triaged[0].payload == triaged[1].payload
        assert triaged[1].payload.matched_rules == ("refunds",)
        assert len([e for e in tickets.envelopes if e.type == "ticket.assigned" and e.ticket_id == "T1"]) == 1


def afternoon_zone() -> str:
    """A fixed-offset zone where it is now 15:xx, so the windows below run between 13:00 and 23:00.

    Unquoted, such times are base-60 numbers to YAML 1.1 (17:00 is 1020); hours 00-09 are not, so the
    zone keeps the test meaningful at any hour it runs.
    """
    offset = (15 - datetime.now(UTC).hour) % 24
    if offset > 14:
        offset -= 24
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{-offset:+d}"  # POSIX signs: Etc/GMT-3 is UTC+3


def timed_rules(zone: str) -> str:
    """Two windows written as users write them, unquoted: the ticket arrives in the first only."""
    return f"""\
rules:
  - name: afternoon
    when:
      time_of_day: {{start: 13:00, end: 18:00, timezone: {zone}}}
    then:
      team: day-desk
  - name: evening
    when:
      time_of_day: {{start: 19:30, end: 23:00, timezone: {zone}}}
    then:
      team: evening-desk
      add_tags: [after-hours]
"""


def windows(document: dict) -> list[tuple[str, str]]:
    spans = [rule["when"]["time_of_day"] for rule in document["rules"]]
    return [(span["start"], span["end"]) for span in spans]


async def test_unquoted_times_in_the_rules_file_mean_the_hours_written(
    settings: Settings, tmp_path: Path, intake: EventPublisher, tickets: EventTap
) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(timed_rules(afternoon_zone()))
    async with running_router(settings.model_copy(update={"router_rules_file": path})) as client:
        assert windows((await client.get("/v1/rules")).json()) == [("13:00", "18:00"), ("19:30", "23:00")]

        await new_ticket(intake, "T1")
        triaged = await tickets.wait_for("ticket.triaged", lambda e: e.ticket_id == "T1")
        assert (triaged.payload.team, triaged.payload.matched_rules, triaged.payload.tags) == (
            "day-desk",
            ("afternoon",),
            (),
        )


async def test_unquoted_times_in_a_yaml_put_mean_the_hours_written(
    settings: Settings, intake: EventPublisher, tickets: EventTap
) -> None:
    async with running_router(settings) as client:
        replaced = await client.put(
            "/v1/rules",
            content=timed_rules(afternoon_zone()).encode(),
            headers={"Content-Type": "application/yaml"},
        )
        assert replaced.status_code == 200, replaced.text
        assert windows(replaced.json()) == [("13:00", "18:00"), ("19:30", "23:00")]
        assert (await client.get("/v1/rules")).json() == replaced.json()

        await new_ticket(intake, "T1")
        triaged = await tickets.wait_for("ticket.triaged", lambda e: e.ticket_id == "T1")
        assert (triaged.payload.team, triaged.payload.matched_rules) == ("day-desk", ("afternoon",))
