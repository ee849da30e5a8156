"""The fault suite's verdicts: what counts as lost, duplicated, dead-lettered and recovered."""

from __future__ import annotations

from collections import Counter
from email.message import EmailMessage
from types import SimpleNamespace

from chaos.__main__ import Stack
from chaos.checks import Observed, dead_letter_gaps, judge, recovery_seconds, table, ticket_evidence


def healthy(*tickets: str) -> Observed:
    """Every ticket assigned once to ada, acknowledged once by email and Slack, its clocks started once."""
    return Observed(
        accepted=set(tickets),
        agents_told={t: {"ada"} for t in tickets},
        assigned_events=Counter({t: 1 for t in tickets}),
        read_model_assignee={t: "ada" for t in tickets},
        ack_emails=Counter({t: 1 for t in tickets}),
        expects_email=set(tickets),
        slack_assignment_posts=Counter({t: 1 for t in tickets}),
        sla_started=Counter({(t, m): 1 for t in tickets for m in ("first_reply", "resolution")}),
    )


def test_a_clean_run_has_nothing_lost_or_duplicated() -> None:
    verdict = judge(healthy("T1", "T2"))
    assert verdict.clean
    assert verdict.tickets == 2


def test_a_ticket_missing_from_the_read_model_is_lost() -> None:
    seen = healthy("T1", "T2")
    del seen.read_model_assignee["T2"]
    verdict = judge(seen)
    assert verdict.lost == {"not_in_read_model": ["T2"]}
    assert verdict.lost_count == 1


def test_a_ticket_never_assigned_or_announced_is_lost_once_however_many_steps_it_missed() -> None:
    seen = healthy("T1")
    seen.agents_told.clear()
    seen.slack_assignment_posts.clear()
    seen.read_model_assignee["T1"] = None
    verdict = judge(seen)
    assert set(verdict.lost) == {"never_assigned", "no_slack_message", "read_model_unassigned"}
    assert verdict.lost_count == 1


def test_a_ticket_without_an_address_is_not_owed_an_email_but_may_not_get_two() -> None:
    seen = healthy("SOCIAL", "DOUBLE")
    seen.expects_email = set()
    seen.ack_emails = Counter({"DOUBLE": 2})
    verdict = judge(seen)
    assert verdict.lost == {}
    assert verdict.duplicated == {"ack_email_twice": ["DOUBLE"]}


def test_two_agents_or_two_slack_messages_are_duplicates() -> None:
    seen = healthy("T1", "T2")
    seen.agents_told["T1"] = {"ada", "grace"}
    seen.assigned_events["T1"] = 2
    seen.slack_assignment_posts["T2"] = 2
    verdict = judge(seen)
    assert verdict.duplicated["several_agents"] == ["T1"]
    assert verdict.duplicated["assigned_twice"] == ["T1"]
    assert verdict.duplicated["slack_message_twice"] == ["T2"]
    assert verdict.duplicated_count == 2


def test_a_slack_message_left_showing_an_old_due_time_counts_as_lost() -> None:
    seen = healthy("T1", "T2")
    seen.slack_out_of_date = {"T2": "message 1.000001 shows 'no SLA clock', its clocks say '2026-11-25 10:30 UTC'"}
    verdict = judge(seen)
    assert verdict.lost == {"slack_message_out_of_date": ["T2"]}
    assert verdict.lost_count == 1


def test_the_read_model_naming_another_agent_than_the_router_is_flagged() -> None:
    seen = healthy("T1")
    seen.read_model_assignee["T1"] = "grace"
    assert judge(seen).duplicated == {"read_model_disagrees": ["T1"]}


def test_sla_clocks_never_started_are_lost_and_started_twice_are_duplicated() -> None:
    seen = healthy("T1", "T2")
    seen.sla_started = Counter({("T2", "first_reply"): 2})
    verdict = judge(seen)
    assert verdict.lost == {"sla_clock_not_started": ["T1"]}
    assert verdict.duplicated == {"sla_clock_started_twice": ["T2"]}


def test_an_expected_metric_missing_counts_even_when_another_clock_started() -> None:
    seen = healthy("T1")
    seen.sla_started = Counter({("T1", "first_reply"): 1})
    seen.sla_metrics_expected = ("first_reply", "resolution")
    assert judge(seen).lost == {"sla_clock_not_started": ["T1"]}


def test_a_clock_on_the_wrong_due_time_is_lost_like_a_missing_step_and_says_why() -> None:
    seen = healthy("T1", "T2")
    seen.sla_due_wrong = {"T2": "first_reply told due 21:00; expected 12:00", "OTHER-RUN": "not ours"}
    verdict = judge(seen)
    assert verdict.lost == {"sla_due_wrong": ["T2"]}
    assert verdict.lost_count == 1
    assert verdict.sla_due_wrong == {"T2": "first_reply told due 21:00; expected 12:00"}


def test_each_ticket_owes_the_clocks_its_own_policy_starts() -> None:
    seen = healthy("COVERED", "UNCOVERED", "UNKNOWN")
    seen.sla_started = Counter({("COVERED", "first_reply"): 1, ("UNKNOWN", "resolution"): 1})
    seen.sla_metrics_expected = ("first_reply",)  # run-wide, for tickets whose policy is not known
    seen.sla_metrics_by_ticket = {"COVERED": ("first_reply", "resolution"), "UNCOVERED": ()}
    # COVERED lacks its resolution clock; UNCOVERED owes none; UNKNOWN falls back on the run-wide metrics.
    assert judge(seen).lost == {"sla_clock_not_started": ["COVERED", "UNKNOWN"]}


def test_a_re_targeted_clock_told_again_is_not_a_duplicate_but_once_more_is() -> None:
    seen = healthy("RETARGETED", "TOLD_THRICE")
    seen.sla_started[("RETARGETED", "first_reply")] = 2
    seen.sla_started[("TOLD_THRICE", "first_reply")] = 3
    seen.sla_starts_expected = Counter({("RETARGETED", "first_reply"): 2, ("TOLD_THRICE", "first_reply"): 2})
    assert judge(seen).duplicated == {"sla_clock_started_twice": ["TOLD_THRICE"]}


def test_poison_must_be_dead_lettered_once_per_reading_group() -> None:
    poisoned = {"k-tickets": "tickets", "k-notifications": "notifications", "k-agents": "agents"}
    dead = Counter(
        {
            ("k-tickets", "router"): 1,
            ("k-tickets", "intake-read-model"): 1,
            ("k-tickets", "feedback"): 1,
            ("k-tickets", "sla"): 2,  # one copy too many
            # notifier's copy of k-tickets missing
            ("k-notifications", "intake-read-model"): 1,
            ("k-agents", "router"): 1,  # nobody reads agents: a copy is unexpected
        }
    )
    gaps = dead_letter_gaps(poisoned, dead)
    assert gaps["missing"] == ["tickets/notifier"]
    assert "tickets/sla x2" in gaps["extra"]
    assert "agents/router (not a reader) x1" in gaps["extra"]
    assert len(gaps["extra"]) == 2


def test_every_poison_dead_lettered_once_leaves_no_gap() -> None:
    dead = Counter({("k", group): 1 for group in ("intake-read-model", "sla", "notifier")})
    assert dead_letter_gaps({"k": "sla"}, dead) == {"missing": [], "extra": []}


def test_recovery_counts_from_the_fault_to_the_first_output_after_it() -> None:
    assert recovery_seconds(100.0, [90.0, 99.9, 104.5, 103.25]) == 3.25
    assert recovery_seconds(100.0, [90.0, 100.0]) is None


def test_the_table_shows_each_fault_and_na_for_no_recovery() -> None:
    text = table(
        [
            {"fault": "kill-router", "tickets": 200, "lost": 0, "duplicated": 0, "recovery_seconds": 4.81},
            {
                "fault": "duplicate-webhooks",
                "tickets": 200,
                "lost": 1,
                "duplicated": 2,
                "recovery_seconds": None,
                "notes": "x",
            },
        ]
    )
    lines = text.splitlines()
    assert lines[2].split()[:5] == ["kill-router", "200", "0", "0", "4.8"]
    assert lines[3].split()[:6] == ["duplicate-webhooks", "200", "1", "2", "n/a", "x"]


def test_an_acknowledgement_sent_twice_says_whether_it_kept_its_message_id() -> None:
    def mail(ticket: str, message_id: str, to: str = "customer@example.com") -> EmailMessage:
        message = EmailMessage()
        message["To"], message["Message-ID"], message["X-Helpdesk-Ticket-Id"] = to, message_id, ticket
        return message

    smtp = SimpleNamespace(messages=[
        mail("RESENT", "<a@helpdesk>"), mail("RESENT", "<a@helpdesk>"),
        mail("TWICE", "<b@helpdesk>"), mail("TWICE", "<c@helpdesk>"),
        mail("ONCE", "<d@helpdesk>"), mail("ONCE", "<e@helpdesk>", to="chaos-agent-1@helpdesk.test"),
    ])  # fmt: skip
    stack = Stack(platform=None, slack=None, smtp=smtp, tap=None, bootstrap="")  # type: ignore[arg-type]

    assert stack.ack_emails() == Counter({"RESENT": 2, "TWICE": 2, "ONCE": 1})
    assert stack.ack_message_ids({"RESENT", "TWICE"}) == {
        "RESENT": {"<a@helpdesk>"},
        "TWICE": {"<b@helpdesk>", "<c@helpdesk>"},
    }


def test_the_evidence_of_a_lost_ticket_keeps_its_deliveries_and_only_the_slack_calls_naming_it() -> None:
    ticket, other = "0b5c1e9e-1d1f-4d55-9a4c-7e6f0f5b0a11", "5d0a9c2e-8f5b-4b6e-9d7a-1c2b3a4d5e6f"
    deliveries = [
        {"delivery_key": "e2:slack:U1", "kind": "assignment", "status": "sent", "attempts": 3,
         "last_error": "HTTP 500: Slack: internal_error", "reason": None, "trigger_event_type": "ticket.assigned",
         "created_at": "2026-11-25T10:00:02Z", "updated_at": "2026-11-25T10:03:00Z",
         "content": {"text": "x" * 500, "blocks": [{"type": "header"}]}},
        {"delivery_key": "e1:email:a@example.com", "kind": "acknowledgement", "status": "sent", "attempts": 1,
         "last_error": None, "reason": None, "trigger_event_type": "ticket.created",
         "created_at": "2026-11-25T10:00:01Z", "updated_at": "2026-11-25T10:00:01Z",
         "content": {"subject": "We got your message"}},
    ]  # fmt: skip
    calls = [
        {"method": "chat.postMessage", "status": 200, "at": 20.0, "body": {"text": f"Ticket #{ticket} is yours"}},
        {"method": "chat.postMessage", "status": 500, "at": 10.0, "body": {"text": f"Ticket #{ticket} is yours"}},
        {"method": "chat.postMessage", "status": 200, "at": 15.0, "body": {"text": f"Ticket #{other} is yours"}},
    ]

    found = ticket_evidence(ticket, deliveries, calls)

    assert [d["delivery_key"] for d in found["deliveries"]] == ["e1:email:a@example.com", "e2:slack:U1"]
    assert found["deliveries"][1]["last_error"] == "HTTP 500: Slack: internal_error"
    assert found["deliveries"][1]["text"] == "x" * 200
    assert found["deliveries"][0]["text"] == ""
    assert "content" not in found["deliveries"][1]
    assert [(c["status"], c["at"]) for c in found["slack_calls"]] == [(500, 10.0), (200, 20.0)]
