"""The SLA clock check of the fault suite: the policy and due time each sla.started told, against what the
SLA service's own policy selection and business-hours arithmetic give for the ticket's events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from chaos.observe import BrokerTap, sla_policies_in_force
from chaos.sla_due import (
    MessageAdded,
    PriorityChanged,
    StartedClock,
    StatusChanged,
    TicketOpened,
    Triaged,
    check_clocks,
    expected_starts,
)
from helpdesk_events import Requester, SlaStarted, TicketCreated, TicketTriaged, encode, new_envelope
from helpdesk_events.ticket import Channel, Priority
from helpdesk_sla.policies import DEFAULT_CONFIG, parse_config_yaml

PARIS = ZoneInfo("Europe/Paris")

# The shape of deploy/k8s's policies: a gold tier on 24/7, everyone else on office hours in Paris.
OFFICE_POLICIES = parse_config_yaml(
    """
calendars:
  - name: office
    timezone: Europe/Paris
    weekly: {mon: [["09:00", "18:00"]], tue: [["09:00", "18:00"]], wed: [["09:00", "18:00"]],
             thu: [["09:00", "18:00"]], fri: [["09:00", "18:00"]]}
policies:
  - name: vip
    calendar: "24/7"
    when: {customer_tiers: [gold]}
    targets:
      normal: {first_reply: PT4H, resolution: P1D}
  - name: standard
    calendar: office
    targets:
      urgent: {first_reply: PT1H, resolution: PT8H}
      normal: {first_reply: PT4H, next_reply: PT8H, resolution: P1D}
"""
)


def paris(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment of January 2025 in Paris (the 10th is a Friday, the 13th a Monday)."""
    return datetime(2025, 1, day, hour, minute, tzinfo=PARIS)


def told(ticket: str, metric: str, policy: str, due_at: datetime | None, n: int = 1) -> StartedClock:
    return StartedClock(f"{ticket}-{metric}-{n}", ticket, metric, policy, due_at)


def check(opened: TicketOpened, started: list[StartedClock], changes=(), config=OFFICE_POLICIES):
    return check_clocks(["T1"], {"T1": opened}, {"T1": list(changes)}, {"T1": started}, config)


FRIDAY_EVENING = TicketOpened(paris(10, 17), "normal", "web", None)


def test_office_hours_carry_a_friday_evening_ticket_over_the_weekend() -> None:
    expected = expected_starts(FRIDAY_EVENING, [], OFFICE_POLICIES)
    due = {clock.metric: (clock.policy, clock.due_at) for clock in expected}
    # First reply, 4 h: Friday 17:00-18:00, then 3 h on Monday from 09:00.
    # Resolution, 24 h: Friday 1 h, Monday 9 h, Tuesday 9 h, Wednesday 09:00-14:00.
    assert due == {
        "first_reply": ("standard", paris(13, 12)),
        "resolution": ("standard", paris(15, 14)),
    }
    findings = check(
        FRIDAY_EVENING,
        [
            told("T1", "first_reply", "standard", paris(13, 12)),
            told("T1", "resolution", "standard", paris(15, 14)),
        ],
    )
    assert findings.wrong == {}
    assert findings.metrics_at_creation == {"T1": ("first_reply", "resolution")}


def test_a_night_ticket_counts_from_the_next_morning() -> None:
    tuesday_night = TicketOpened(paris(14, 22, 30), "normal", "email", None)
    first_reply = expected_starts(tuesday_night, [], OFFICE_POLICIES)[0]
    assert (first_reply.metric, first_reply.due_at) == ("first_reply", paris(15, 13))


def test_a_due_time_counted_round_the_clock_instead_of_in_office_hours_is_wrong() -> None:
    findings = check(
        FRIDAY_EVENING,
        [
            told("T1", "first_reply", "standard", paris(10, 21)),  # Friday 17:00 + 4 h, the weekend ignored
            told("T1", "resolution", "standard", paris(15, 14)),
        ],
    )
    assert list(findings.wrong) == ["T1"]
    assert "first_reply" in findings.wrong["T1"] and "resolution" not in findings.wrong["T1"]
    assert "2025-01-13T11:00:00+00:00" in findings.wrong["T1"]


def test_a_second_off_is_wrong_but_microseconds_are_not() -> None:
    due = paris(13, 12)
    late = check(FRIDAY_EVENING, [told("T1", "first_reply", "standard", due + timedelta(seconds=1))])
    close = check(FRIDAY_EVENING, [told("T1", "first_reply", "standard", due + timedelta(microseconds=999))])
    assert "T1" in late.wrong
    assert close.wrong == {}


def test_the_policy_is_chosen_by_customer_tier_and_another_one_is_wrong() -> None:
    gold = TicketOpened(paris(10, 17), "normal", "web", "gold")
    expected = expected_starts(gold, [], OFFICE_POLICIES)
    assert {(c.metric, c.policy, c.due_at) for c in expected} == {
        ("first_reply", "vip", paris(10, 21)),
        ("resolution", "vip", paris(11, 17)),
    }
    findings = check(
        gold,
        [
            told("T1", "first_reply", "standard", paris(10, 21)),
            told("T1", "resolution", "vip", paris(11, 17)),
        ],
    )
    assert "first_reply told policy 'standard'" in findings.wrong["T1"]


def test_the_default_policies_run_round_the_clock_from_the_created_time() -> None:
    created = datetime(2026, 11, 21, 23, 59, 30, 123456, tzinfo=UTC)  # a Saturday night
    expected = expected_starts(TicketOpened(created, "normal", "web", None), [], DEFAULT_CONFIG)
    assert [(c.metric, c.policy, c.due_at) for c in expected] == [
        ("first_reply", "standard", created + timedelta(hours=8)),
        ("resolution", "standard", created + timedelta(days=3)),
    ]


def test_a_triage_to_urgent_re_targets_the_clocks_with_the_time_already_used() -> None:
    monday = TicketOpened(paris(13, 9), "normal", "web", None)
    triaged = Triaged("e-triage", paris(13, 9, 30), "urgent", None)
    expected = expected_starts(monday, [triaged, triaged], OFFICE_POLICIES)  # a redelivery is one event
    # Normal: first reply 4 h (13:00), resolution 24 h (Mon 9 h, Tue 9 h, Wed 6 h: Wednesday 15:00).
    # Urgent at 09:30, 30 min used: first reply 1 h (due 10:00), resolution 8 h (due 17:00).
    assert [(c.metric, c.due_at, c.cause) for c in expected] == [
        ("first_reply", paris(13, 13), "ticket.created"),
        ("resolution", paris(15, 15), "ticket.created"),
        ("first_reply", paris(13, 10), "ticket.triaged"),
        ("resolution", paris(13, 17), "ticket.triaged"),
    ]
    both = [
        told("T1", "first_reply", "standard", paris(13, 13), 1),
        told("T1", "resolution", "standard", paris(15, 15), 1),
        told("T1", "first_reply", "standard", paris(13, 10), 2),
        told("T1", "resolution", "standard", paris(13, 17), 2),
    ]
    findings = check(monday, both, [triaged])
    assert findings.wrong == {}
    assert findings.starts_expected[("T1", "first_reply")] == 2
    # The re-target never told: the clock still shows the normal priority's due time.
    missing = check(monday, [both[0], both[1], both[3]], [triaged])
    assert "first_reply told 1 of 2 starts" in missing.wrong["T1"]


def test_a_priority_change_on_a_pending_ticket_restarts_the_clock_paused_without_a_due_time() -> None:
    monday = TicketOpened(paris(13, 9), "normal", "web", None)
    changes = [
        StatusChanged("e1", paris(13, 9, 5), "open"),
        StatusChanged("e2", paris(13, 10), "pending"),
        PriorityChanged("e3", paris(13, 11), "urgent"),
    ]
    later = [c for c in expected_starts(monday, changes, OFFICE_POLICIES) if c.cause != "ticket.created"]
    assert {(c.metric, c.due_at) for c in later} == {("first_reply", None), ("resolution", None)}
    start = [
        told("T1", "first_reply", "standard", paris(13, 13)),
        told("T1", "resolution", "standard", paris(15, 15)),
    ]
    with_due = [
        told("T1", "first_reply", "standard", paris(13, 10), 2),
        told("T1", "resolution", "standard", None, 2),
    ]
    findings = check(monday, start + with_due, changes)
    assert "first_reply told policy 'standard' due 2025-01-13T09:00:00+00:00" in findings.wrong["T1"]
    assert "resolution" not in findings.wrong["T1"]


def test_next_reply_is_owed_once_a_customer_writes_after_an_agent_reply() -> None:
    monday = TicketOpened(paris(13, 9), "normal", "web", None)
    changes = [
        MessageAdded("m1", paris(13, 10), "agent", True),
        MessageAdded("m2", paris(13, 17), "customer", True),
    ]
    start = [
        told("T1", "first_reply", "standard", paris(13, 13)),
        told("T1", "resolution", "standard", paris(15, 15)),
    ]
    findings = check(monday, start, changes)
    # 8 h from Monday 17:00: 1 h on Monday, 7 h on Tuesday from 09:00.
    assert "next_reply never started" in findings.wrong["T1"]
    assert "2025-01-14T15:00:00+00:00" in findings.wrong["T1"]
    right = check(monday, [*start, told("T1", "next_reply", "standard", paris(14, 16))], changes)
    assert right.wrong == {}


def test_a_ticket_no_policy_covers_owes_no_clock_and_may_not_start_one() -> None:
    low = TicketOpened(paris(13, 9), "low", "web", None)
    assert expected_starts(low, [], OFFICE_POLICIES) == []
    assert check(low, []).metrics_at_creation == {"T1": ()}
    started = check(low, [told("T1", "first_reply", "standard", paris(13, 13))])
    assert (
        "first_reply started (policy 'standard') though its policy runs no such clock" in started.wrong["T1"]
    )


def test_a_ticket_whose_creation_was_not_seen_is_left_to_the_other_checks() -> None:
    findings = check_clocks(["T1"], {}, {}, {"T1": []}, OFFICE_POLICIES)
    assert findings.metrics_at_creation == {} and findings.wrong == {}


def test_the_policies_in_force_are_the_sla_service_s_file_relative_to_its_directory_else_the_default(
    tmp_path,
) -> None:
    (tmp_path / "policies.yaml").write_text(
        "policies: [{name: fast, calendar: 24/7, targets: {normal: {first_reply: PT10S}}}]\n"
    )
    from_file = sla_policies_in_force({"sla_policies_file": "policies.yaml"}, tmp_path)
    assert [policy.name for policy in from_file.policies] == ["fast"]
    assert sla_policies_in_force({"SLA_POLICIES_FILE": ""}, tmp_path) is DEFAULT_CONFIG


def record(envelope) -> SimpleNamespace:
    """A consumer record as aiokafka hands it to the tap: the encoded event and its timestamp."""
    return SimpleNamespace(value=encode(envelope), timestamp=0, topic="t", headers=(), key=None)


def test_the_tap_keeps_what_the_check_needs_and_the_service_s_own_decision_passes() -> None:
    """The events go the real way: encoded as on the broker, the clocks decided by the SLA service's code."""
    from helpdesk_sla import clocks

    tap = BrokerTap("unused:9092")
    at = datetime(2025, 1, 10, 16, 0, 0, 250_000, tzinfo=UTC)  # Friday 17:00:00.25 in Paris
    created = TicketCreated(
        subject="Printer", body="On fire", requester=Requester(email="c@example.com"), channel=Channel.WEB,
        message_id="m", priority=Priority.NORMAL,
    )  # fmt: skip
    tap._event(record(new_envelope(created, source="intake", ticket_id="T1", occurred_at=at)))
    triaged = new_envelope(TicketTriaged(priority=Priority.NORMAL), source="router", ticket_id="T1")
    tap._event(record(triaged))
    tap._event(record(triaged))  # redelivered
    chosen = OFFICE_POLICIES.choose("normal", customer_tier=None, channel="web")
    _, decided = clocks.start(
        "T1", priority="normal", channel="web", customer_tier=None, at=at, chosen=chosen
    )
    for payload in decided:
        tap._event(record(new_envelope(payload, source="sla", ticket_id="T1")))
    wrong = SlaStarted(policy="standard", metric="resolution", target=timedelta(days=1), due_at=at)
    tap._event(record(new_envelope(wrong, source="sla", ticket_id="T2")))  # another ticket, not asked about

    opened, changes, started = tap.sla_clocks({"T1"})
    assert opened == {"T1": TicketOpened(at, "normal", "web", None)}
    assert [type(change).__name__ for change in changes["T1"]] == ["Triaged"]
    assert [(c.metric, c.policy) for c in started["T1"]] == [
        ("first_reply", "standard"),
        ("resolution", "standard"),
    ]
    findings = check_clocks({"T1"}, opened, changes, started, OFFICE_POLICIES)
    assert findings.wrong == {}
    assert started["T1"][0].due_at == paris(13, 12) + timedelta(microseconds=250_000)
