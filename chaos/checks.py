"""The verdicts of the fault suite, pure: what was observed in, what went wrong out.

Kept free of I/O so the rules (what counts as lost, as duplicated, as recovered) are unit tested on
their own; chaos/__main__.py gathers the observations from the broker, the fakes and intake's API.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field

# Who reads what: a poison record on a topic must reach the dead-letter topic once per group reading it.
# Kept by hand from the services' bootstrap modules (the embedded broker does not list groups' topics).
CONSUMER_GROUPS_OF_TOPIC: dict[str, frozenset[str]] = {
    "tickets": frozenset({"router", "intake-read-model", "feedback", "sla", "notifier"}),
    "customers": frozenset({"intake-read-model", "feedback", "notifier"}),
    "sla": frozenset({"intake-read-model", "sla", "notifier"}),
    "feedback": frozenset({"intake-read-model", "notifier"}),
    "notifications": frozenset({"intake-read-model"}),
    "agents": frozenset(),
}


@dataclass
class Observed:
    """What one fault's tickets left behind, by ticket id."""

    accepted: set[str]
    # Agents each ticket was told it went to (ticket.assigned, distinct event ids), and how many such events.
    agents_told: dict[str, set[str]] = field(default_factory=dict)
    assigned_events: Counter[str] = field(default_factory=Counter)
    read_model_assignee: dict[str, str | None] = field(default_factory=dict)
    ack_emails: Counter[str] = field(default_factory=Counter)
    expects_email: set[str] = field(default_factory=set)  # a social ticket has no address to acknowledge
    slack_assignment_posts: Counter[str] = field(default_factory=Counter)
    # (ticket id, metric) -> distinct sla.started event ids
    sla_started: Counter[tuple[str, str]] = field(default_factory=Counter)
    # Metrics every ticket's policy starts; empty: at least one clock, whichever.
    sla_metrics_expected: tuple[str, ...] = ()
    # Per ticket, from its policy (chaos/sla_due.py): the metrics started at creation, () when no policy
    # covers it (no clock owed). A ticket left out falls back on sla_metrics_expected.
    sla_metrics_by_ticket: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # (ticket id, metric) -> sla.started its events explain (a re-target tells a clock again); absent: one.
    sla_starts_expected: Counter[tuple[str, str]] = field(default_factory=Counter)
    # Ticket id -> what is wrong with its clocks (policy or due time not what the policy says).
    sla_due_wrong: dict[str, str] = field(default_factory=dict)
    # Ticket id -> how an assignment message of it shows another SLA due time than its clocks give.
    slack_out_of_date: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Verdict:
    tickets: int
    lost: dict[str, list[str]]
    duplicated: dict[str, list[str]]
    # Ticket id -> why its SLA clocks are wrong, for the tickets in lost["sla_due_wrong"].
    sla_due_wrong: dict[str, str] = field(default_factory=dict)

    @property
    def lost_count(self) -> int:
        return len({ticket for tickets in self.lost.values() for ticket in tickets})

    @property
    def duplicated_count(self) -> int:
        return len({ticket for tickets in self.duplicated.values() for ticket in tickets})

    @property
    def clean(self) -> bool:
        return self.lost_count == 0 and self.duplicated_count == 0


def judge(seen: Observed) -> Verdict:
    """Lost: an accepted ticket missing a step (not in the read model, unassigned, no email or Slack message,
    an SLA clock never started) or done wrong (an SLA clock on another policy or due time than its policy
    says, an assignment message not showing the due time its clocks give). Duplicated: a step done more
    than once for one ticket."""
    started_any = {ticket for (ticket, _metric), count in seen.sla_started.items() if count}

    def clock_missing(ticket: str) -> bool:
        owed = seen.sla_metrics_by_ticket.get(ticket)
        if owed is None:
            owed = seen.sla_metrics_expected
            if ticket not in started_any:
                return True
        return any(seen.sla_started[(ticket, metric)] == 0 for metric in owed)

    def started_too_often(ticket: str, metric: str) -> bool:
        return seen.sla_started[(ticket, metric)] > max(1, seen.sla_starts_expected.get((ticket, metric), 1))

    lost: dict[str, list[str]] = {
        "not_in_read_model": [t for t in seen.accepted if t not in seen.read_model_assignee],
        "read_model_unassigned": [t for t in seen.accepted if seen.read_model_assignee.get(t, "") is None],
        "never_assigned": [t for t in seen.accepted if not seen.agents_told.get(t)],
        "no_ack_email": [t for t in seen.accepted & seen.expects_email if seen.ack_emails[t] == 0],
        "no_slack_message": [t for t in seen.accepted if seen.slack_assignment_posts[t] == 0],
        "sla_clock_not_started": [t for t in seen.accepted if clock_missing(t)],
        "sla_due_wrong": [t for t in seen.accepted if t in seen.sla_due_wrong],
        "slack_message_out_of_date": [t for t in seen.accepted if t in seen.slack_out_of_date],
    }
    duplicated: dict[str, list[str]] = {
        "several_agents": [t for t in seen.accepted if len(seen.agents_told.get(t, ())) > 1],
        "assigned_twice": [t for t in seen.accepted if seen.assigned_events[t] > 1],
        "read_model_disagrees": [
            t
            for t in seen.accepted
            if seen.read_model_assignee.get(t)
            and seen.agents_told.get(t)
            and {seen.read_model_assignee[t]} != seen.agents_told[t]
        ],
        "ack_email_twice": [t for t in seen.accepted if seen.ack_emails[t] > 1],
        "slack_message_twice": [t for t in seen.accepted if seen.slack_assignment_posts[t] > 1],
        "sla_clock_started_twice": sorted(
            {t for (t, m) in seen.sla_started if t in seen.accepted and started_too_often(t, m)}
        ),
    }
    return Verdict(
        tickets=len(seen.accepted),
        lost={k: sorted(v) for k, v in lost.items() if v},
        duplicated={k: sorted(v) for k, v in duplicated.items() if v},
        sla_due_wrong={t: seen.sla_due_wrong[t] for t in sorted(lost["sla_due_wrong"])},
    )


def dead_letter_gaps(
    poisoned: dict[str, str], dead_lettered: Counter[tuple[str, str]]
) -> dict[str, list[str]]:
    """poisoned: record key -> topic (short name); dead_lettered: (record key, consumer group) -> copies.

    Each poison record must sit in the dead-letter topic exactly once per group reading its topic."""
    missing, extra = [], []
    for key, topic in poisoned.items():
        groups = CONSUMER_GROUPS_OF_TOPIC.get(topic, frozenset())
        for group in sorted(groups):
            copies = dead_lettered[(key, group)]
            if copies == 0:
                missing.append(f"{topic}/{group}")
            elif copies > 1:
                extra.append(f"{topic}/{group} x{copies}")
        for (other_key, group), copies in dead_lettered.items():
            if other_key == key and group not in groups:
                extra.append(f"{topic}/{group} (not a reader) x{copies}")
    return {"missing": missing, "extra": extra}


def recovery_seconds(fault_at: float, flowing_at: list[float]) -> float | None:
    """From the fault to the first output of the faulted hop after it (None: it never flowed again)."""
    after = [at for at in flowing_at if at > fault_at]
    return round(min(after) - fault_at, 2) if after else None


DELIVERY_FIELDS = ("delivery_key", "kind", "status", "attempts", "last_error", "reason", "trigger_event_type",
                   "updated_at")  # fmt: skip
EVIDENCE_TEXT_CHARS = 200


def ticket_evidence(ticket: str, deliveries: list[dict], slack_calls: list[dict]) -> dict[str, list[dict]]:
    """What the notifier recorded for `ticket` (its `/v1/deliveries` entries) and the Slack calls whose
    body names it, oldest first, each cut to what tells a story: kind, status, attempts, errors, text."""

    def text(content: object) -> str:
        return str((content or {}).get("text", "") if isinstance(content, dict) else "")[:EVIDENCE_TEXT_CHARS]

    return {
        "deliveries": [
            {**{k: d.get(k) for k in DELIVERY_FIELDS}, "text": text(d.get("content"))}
            for d in sorted(deliveries, key=lambda d: str(d.get("created_at", "")))
        ],
        "slack_calls": [
            {"method": c["method"], "status": c["status"], "at": c["at"], "text": text(c["body"])}
            for c in sorted(slack_calls, key=lambda c: c["at"])
            if ticket in json.dumps(c["body"])
        ],
    }


def table(rows: list[dict]) -> str:
    head = f"{'fault':<22} {'tickets':>7} {'lost':>5} {'duplicated':>10} {'recovery s':>10}  notes"
    lines = [head, "-" * len(head)]
    for row in rows:
        recovery = row.get("recovery_seconds")
        lines.append(
            f"{row['fault']:<22} {row['tickets']:>7} {row['lost']:>5} {row['duplicated']:>10} "
            f"{'n/a' if recovery is None else f'{recovery:.1f}':>10}  {row.get('notes', '')}"
        )
    return "\n".join(lines)
