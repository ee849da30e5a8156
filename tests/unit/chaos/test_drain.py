"""How long a fault run waits for its tickets to come through: until all have, or it stops coming."""

from __future__ import annotations

from collections import Counter

from chaos.__main__ import Run, drain


class Seen:
    """What the run's observers report: the tickets all the way through, the rest nowhere."""

    def __init__(self, through: set[str]) -> None:
        self.through = through
        self.tap = self

    def agents_told(self, tickets: set[str]) -> tuple[dict[str, set[str]], int]:
        return {t: {"ada"} for t in tickets & self.through}, 0

    def clocks_started(self, tickets: set[str]) -> list[tuple[str, str]]:
        return [(t, "first_reply") for t in tickets & self.through]

    def slack_assignment_posts(self) -> tuple[Counter[str], dict]:
        return Counter({t: 1 for t in self.through}), {}

    def ack_emails(self) -> Counter[str]:
        return Counter({t: 1 for t in self.through})

    def messages_out_of_date(self, tickets: set[str]) -> dict[str, str]:
        return {}


async def test_every_ticket_through_ends_the_wait_at_once() -> None:
    run = Run("kill-router", accepted={"T1", "T2"}, expects_email={"T1"})
    assert await drain(Seen({"T1", "T2"}), run, timeout=60) is None  # type: ignore[arg-type]


async def test_a_ticket_that_never_comes_ends_the_wait_once_nothing_moves_and_is_counted() -> None:
    run = Run("kill-router", accepted={"T1", "T2", "T3"})
    why = await drain(Seen({"T1", "T2"}), run, timeout=60, stalled_after=1.0)  # type: ignore[arg-type]
    assert why == "not drained: 1 tickets not through, none came in 1 s"


class SlowSlack(Seen):
    """Every ticket assigned, mailed and on the clock; Slack still owes some of their messages."""

    def __init__(self, through: set[str], posted: set[str]) -> None:
        super().__init__(through)
        self.posted = posted

    def slack_assignment_posts(self) -> tuple[Counter[str], dict]:
        return Counter({t: 1 for t in self.posted}), {}


async def test_the_wait_says_what_each_hop_still_owed_when_the_load_ended() -> None:
    run = Run("kill-router", accepted={"T1", "T2", "T3"}, expects_email={"T1", "T2"})
    seen = SlowSlack({"T1", "T2", "T3"}, posted={"T1"})
    why = await drain(seen, run, timeout=60, stalled_after=1.0)  # type: ignore[arg-type]
    assert why == "not drained: 2 tickets not through, none came in 1 s"
    assert run.extra["behind_when_the_load_ended"] == {
        "assignment": 0, "slack_message": 2, "ack_email": 0, "sla_clock": 0, "slack_update": 0
    }


class StaleMessage(Seen):
    """Every ticket through, but one's Slack message still shows an earlier SLA due time."""

    def messages_out_of_date(self, tickets: set[str]) -> dict[str, str]:
        return {"T2": "shows 'no SLA clock'"} if "T2" in tickets else {}


async def test_a_message_not_yet_showing_its_clock_is_still_owed() -> None:
    run = Run("kill-notifier", accepted={"T1", "T2"})
    why = await drain(StaleMessage({"T1", "T2"}), run, timeout=60, stalled_after=1.0)  # type: ignore[arg-type]
    assert why == "not drained: 1 tickets not through, none came in 1 s"
    assert run.extra["behind_when_the_load_ended"]["slack_update"] == 1
