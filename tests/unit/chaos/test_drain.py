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


async def test_every_ticket_through_ends_the_wait_at_once() -> None:
    run = Run("kill-router", accepted={"T1", "T2"}, expects_email={"T1"})
    assert await drain(Seen({"T1", "T2"}), run, timeout=60) is None  # type: ignore[arg-type]


async def test_a_ticket_that_never_comes_ends_the_wait_once_nothing_moves_and_is_counted() -> None:
    run = Run("kill-router", accepted={"T1", "T2", "T3"})
    why = await drain(Seen({"T1", "T2"}), run, timeout=60, stalled_after=1.0)  # type: ignore[arg-type]
    assert why == "not drained: 1 tickets not through, none came in 1 s"
