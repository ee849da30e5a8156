"""The fault suite's check that every assignment message ends up showing its ticket's SLA due time, on
messages as the notifier renders them (so a change of the rendering shows here, not as a silent pass)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from chaos.sla_due import StartedClock
from chaos.slack_shown import expected_due, messages_out_of_date, shown_due, ticket_of
from helpdesk_notifier.slack_messages import NO_SLA, compose_assignment, compose_sla_alert
from helpdesk_notifier.ticket_view import TicketView

FIRST = datetime(2026, 11, 25, 10, 30, 45, tzinfo=UTC)
PARIS_WINTER = timezone(timedelta(hours=1))


def clock(ticket: str, metric: str, due: datetime | None, n: int = 0) -> StartedClock:
    return StartedClock(f"e{ticket}{metric}{n}", ticket, metric, "standard", due)


def message(ticket: str, sla_due: dict[str, datetime | None], ts: str = "1.000001") -> dict:
    """As the fake Slack keeps it: the post's metadata, the blocks of the last update."""
    view = TicketView(ticket, agent_id="a1", slack_user_id="U1", sla_due=sla_due, known=True)
    rendered = compose_assignment(view, for_agent="a1", slack_user_id="U1", link=None)
    return {"ts": ts, "text": rendered.text, "blocks": list(rendered.blocks), "metadata": rendered.metadata}


def test_the_earliest_due_time_as_last_told_is_what_the_message_should_show() -> None:
    told = [
        clock("T1", "first_reply", FIRST),
        clock("T1", "resolution", FIRST + timedelta(hours=8)),
        # Escalated: the first reply's clock is told again, later than the resolution's.
        clock("T1", "first_reply", FIRST + timedelta(days=1), n=1),
    ]
    assert expected_due(told[:2]) == "2026-11-25 10:30 UTC"
    assert expected_due(told) == "2026-11-25 18:30 UTC"
    assert expected_due([clock("T1", "first_reply", FIRST.astimezone(PARIS_WINTER))]) == "2026-11-25 10:30 UTC"
    assert expected_due([]) == NO_SLA
    assert expected_due([clock("T1", "first_reply", None)]) == NO_SLA


def test_a_message_that_shows_another_due_time_than_the_clocks_is_out_of_date() -> None:
    told = {
        "T1": [clock("T1", "first_reply", FIRST), clock("T1", "resolution", FIRST + timedelta(hours=8))],
        "T2": [clock("T2", "first_reply", FIRST)],
        "T3": [],
    }
    up_to_date = message("T1", {"first_reply": FIRST, "resolution": FIRST + timedelta(hours=8)})
    never_updated = message("T2", {}, ts="2.000001")
    no_clock = message("T3", {}, ts="3.000001")
    alert = compose_sla_alert(TicketView("T2"), kind="breached", metric="first_reply", due_at=FIRST,
                              elapsed_share=None, channel="C1", link=None)  # fmt: skip

    assert shown_due(up_to_date) == "2026-11-25 10:30 UTC"
    assert ticket_of(up_to_date) == "T1"
    assert ticket_of({"blocks": list(alert.blocks), "metadata": alert.metadata}) is None
    messages = [up_to_date, never_updated, no_clock, {"blocks": list(alert.blocks), "metadata": alert.metadata}]
    wrong = messages_out_of_date(messages, told, {"T1", "T2", "T3"})
    assert list(wrong) == ["T2"]
    assert NO_SLA in wrong["T2"] and "2026-11-25 10:30 UTC" in wrong["T2"]
    # Tickets of other faults are not this fault's to judge.
    assert messages_out_of_date(messages, told, {"T1"}) == {}
