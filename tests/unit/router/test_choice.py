"""The choice of agent: who may take a ticket and who is preferred."""

from __future__ import annotations

from datetime import UTC, datetime

from helpdesk_events import AgentStatus
from helpdesk_router.assignment import choose_agent, why_nobody_fits
from helpdesk_router.roster import Agent
from tests.unit.router.doubles import profile

EARLY = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
LATE = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def agent(
    agent_id: str,
    *,
    load: int = 0,
    capacity: int = 3,
    status: AgentStatus = AgentStatus.ONLINE,
    skills: tuple[str, ...] = (),
    last_assigned_at: datetime | None = None,
) -> Agent:
    return Agent(
        agent_id,
        profile(name=agent_id, capacity=capacity, status=status, skills=skills),
        load=load,
        last_assigned_at=last_assigned_at,
    )


def test_the_least_loaded_agent_gets_the_ticket() -> None:
    chosen = choose_agent([agent("ada", load=2), agent("bob", load=1), agent("cy", load=2)])
    assert chosen is not None and chosen.agent_id == "bob"


def test_equal_loads_go_to_who_waited_longest_since_their_last_assignment() -> None:
    chosen = choose_agent([agent("ada", last_assigned_at=LATE), agent("bob", last_assigned_at=EARLY)])
    assert chosen is not None and chosen.agent_id == "bob"


def test_an_agent_never_assigned_has_waited_longest() -> None:
    chosen = choose_agent([agent("ada", last_assigned_at=EARLY), agent("zed")])
    assert chosen is not None and chosen.agent_id == "zed"


def test_complete_ties_go_by_agent_id() -> None:
    chosen = choose_agent([agent("cy", last_assigned_at=EARLY), agent("bob", last_assigned_at=EARLY)])
    assert chosen is not None and chosen.agent_id == "bob"


def test_load_counts_before_waiting_time() -> None:
    chosen = choose_agent([agent("ada", load=1), agent("bob", load=0, last_assigned_at=LATE)])
    assert chosen is not None and chosen.agent_id == "bob"


def test_only_agents_with_every_required_skill_qualify() -> None:
    roster = [
        agent("ada", skills=("billing",)),
        agent("bob", load=2, skills=("billing", "refunds")),
        agent("cy", skills=("refunds",)),
    ]
    chosen = choose_agent(roster, {"billing", "refunds"})
    assert chosen is not None and chosen.agent_id == "bob"


def test_away_offline_and_full_agents_are_excluded() -> None:
    roster = [
        agent("away", status=AgentStatus.AWAY),
        agent("offline", status=AgentStatus.OFFLINE),
        agent("full", load=3, capacity=3),
        agent("overfull", load=4, capacity=3),
        agent("no-capacity", capacity=0),
        agent("busy-but-free", load=2, capacity=3),
    ]
    chosen = choose_agent(roster)
    assert chosen is not None and chosen.agent_id == "busy-but-free"


def test_nobody_fits_gives_none() -> None:
    assert choose_agent([]) is None
    assert choose_agent([agent("full", load=1, capacity=1), agent("away", status=AgentStatus.AWAY)]) is None
    assert choose_agent([agent("ada", skills=("billing",))], {"refunds"}) is None


def test_the_reason_says_why_nobody_fits() -> None:
    assert why_nobody_fits([]) == "no agents on the roster"
    assert why_nobody_fits([agent("away", status=AgentStatus.AWAY)]) == "no agent is online"
    assert why_nobody_fits([agent("ada", skills=("billing",))], {"refunds", "vip"}) == (
        "no online agent has the skills refunds, vip"
    )
    assert why_nobody_fits([agent("full", load=1, capacity=1)]) == "every online agent is at capacity"
    assert why_nobody_fits([agent("full", load=1, capacity=1, skills=("vip",))], {"vip"}) == (
        "every online agent with the skills is at capacity"
    )
