"""The choice of agent: who may take a ticket and who is preferred."""

from __future__ import annotations

from datetime import UTC, datetime

from helpdesk_events import AgentStatus, Channel
from helpdesk_router.assignment import Ticket, choose_agent, fits, why_nobody_fits
from helpdesk_router.roster import Agent
from helpdesk_router.working_hours import WorkingHours
from tests.unit.router.doubles import profile

EARLY = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
LATE = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)  # a Monday, 15:00 in Paris

PARIS_OFFICE = WorkingHours(timezone="Europe/Paris", weekly={"mon": (("09:00", "17:00"),)})
NIGHT_SHIFT = WorkingHours(timezone="Europe/Paris", weekly={"mon": (("00:00", "06:00"), ("22:00", "24:00"))})


def agent(
    agent_id: str,
    *,
    load: int = 0,
    capacity: int = 3,
    status: AgentStatus = AgentStatus.ONLINE,
    skills: tuple[str, ...] = (),
    teams: tuple[str, ...] = (),
    last_assigned_at: datetime | None = None,
    channel_loads: dict[str, int] | None = None,
    **extra: object,
) -> Agent:
    return Agent(
        agent_id,
        profile(name=agent_id, capacity=capacity, status=status, skills=skills, teams=teams, **extra),
        load=load,
        last_assigned_at=last_assigned_at,
        channel_loads=channel_loads or {},
    )


def ticket(**fields: object) -> Ticket:
    return Ticket("T1", **fields)  # type: ignore[arg-type]


def chosen(roster: list[Agent], **fields: object) -> str | None:
    found = choose_agent(roster, ticket(**fields), NOW)
    return found.agent_id if found is not None else None


def test_the_least_loaded_agent_gets_the_ticket() -> None:
    assert chosen([agent("ada", load=2), agent("bob", load=1), agent("cy", load=2)]) == "bob"


def test_equal_loads_go_to_who_waited_longest_since_their_last_assignment() -> None:
    assert chosen([agent("ada", last_assigned_at=LATE), agent("bob", last_assigned_at=EARLY)]) == "bob"


def test_an_agent_never_assigned_has_waited_longest() -> None:
    assert chosen([agent("ada", last_assigned_at=EARLY), agent("zed")]) == "zed"


def test_complete_ties_go_by_agent_id() -> None:
    assert chosen([agent("cy", last_assigned_at=EARLY), agent("bob", last_assigned_at=EARLY)]) == "bob"


def test_load_counts_before_waiting_time() -> None:
    assert chosen([agent("ada", load=1), agent("bob", load=0, last_assigned_at=LATE)]) == "bob"


def test_only_agents_with_every_required_skill_qualify() -> None:
    roster = [
        agent("ada", skills=("billing",)),
        agent("bob", load=2, skills=("billing", "refunds")),
        agent("cy", skills=("refunds",)),
    ]
    assert chosen(roster, required_skills=frozenset({"billing", "refunds"})) == "bob"


def test_away_offline_and_full_agents_are_excluded() -> None:
    roster = [
        agent("away", status=AgentStatus.AWAY),
        agent("offline", status=AgentStatus.OFFLINE),
        agent("full", load=3, capacity=3),
        agent("overfull", load=4, capacity=3),
        agent("no-capacity", capacity=0),
        agent("busy-but-free", load=2, capacity=3),
    ]
    assert chosen(roster) == "busy-but-free"


def test_a_ticket_for_a_team_goes_only_to_its_members() -> None:
    roster = [agent("ada"), agent("bob", load=2, teams=("tier-2", "billing")), agent("cy", teams=("tier-2",))]
    assert chosen(roster, team="billing") == "bob"
    assert chosen(roster, team="vip") is None
    assert chosen(roster) == "ada"  # no team: anyone


def test_only_agents_inside_their_working_hours_qualify() -> None:
    roster = [agent("night", working_hours=NIGHT_SHIFT), agent("day", load=2, working_hours=PARIS_OFFICE)]
    assert chosen(roster) == "day"
    monday_night = datetime(2026, 11, 23, 22, 30, tzinfo=UTC)  # 23:30 in Paris
    assert choose_agent(roster, ticket(), monday_night).agent_id == "night"  # type: ignore[union-attr]
    assert choose_agent(roster, ticket(), datetime(2026, 11, 24, 14, 0, tzinfo=UTC)) is None  # Tuesday: neither


def test_working_hours_follow_local_time_across_a_daylight_saving_change() -> None:
    hours = WorkingHours(timezone="Europe/Paris", weekly={"mon": (("09:00", "17:00"),), "sun": (("09:00", "17:00"),)})
    # Summer, UTC+2: 09:00 local is 07:00 UTC. Winter, UTC+1: 08:00 UTC.
    assert hours.contains(datetime(2026, 7, 6, 7, 0, tzinfo=UTC))
    assert not hours.contains(datetime(2026, 7, 6, 6, 59, tzinfo=UTC))
    assert not hours.contains(datetime(2026, 11, 23, 7, 30, tzinfo=UTC))
    assert hours.contains(datetime(2026, 11, 23, 8, 0, tzinfo=UTC))
    # The day clocks went back (Sunday 25 October 2026): still 09:00 to 17:00 local.
    assert hours.contains(datetime(2026, 10, 25, 8, 0, tzinfo=UTC)) and not hours.contains(
        datetime(2026, 10, 25, 7, 59, tzinfo=UTC)
    )


def test_an_interval_includes_its_start_and_excludes_its_end_and_24_00_ends_the_day() -> None:
    assert PARIS_OFFICE.contains(datetime(2026, 11, 23, 8, 0, tzinfo=UTC))  # 09:00 Paris
    assert not PARIS_OFFICE.contains(datetime(2026, 11, 23, 16, 0, tzinfo=UTC))  # 17:00 Paris
    assert NIGHT_SHIFT.contains(datetime(2026, 11, 23, 22, 59, 59, tzinfo=UTC))  # 23:59:59 Paris, Monday
    assert not NIGHT_SHIFT.contains(datetime(2026, 11, 23, 23, 0, tzinfo=UTC))  # 00:00 Tuesday: not listed


def test_a_channel_limit_caps_that_channel_only() -> None:
    capped = agent("ada", channel_capacity={"chat": 1}, channel_loads={"chat": 1})
    other = agent("bob", load=2)
    assert chosen([capped, other], channel=Channel.CHAT) == "bob"
    assert chosen([capped, other], channel=Channel.EMAIL) == "ada"  # email is bounded by capacity alone
    assert not agent("cy", channel_capacity={"voice": 0}).has_room_for(Channel.VOICE)


def test_an_agent_who_declined_is_not_offered_the_ticket_again() -> None:
    roster = [agent("ada"), agent("bob", load=1)]
    assert chosen(roster, declined_by=frozenset({"ada"})) == "bob"
    assert chosen(roster, declined_by=frozenset({"ada", "bob"})) is None


def test_fits_and_choose_agree() -> None:
    roster = [agent("ada", teams=("x",)), agent("bob", skills=("vip",)), agent("cy", status=AgentStatus.AWAY)]
    for fields in ({}, {"team": "x"}, {"required_skills": frozenset({"vip"})}):
        fitting = {a.agent_id for a in roster if fits(a, ticket(**fields), NOW)}
        assert (chosen(roster, **fields) in fitting) if fitting else chosen(roster, **fields) is None


def test_nobody_fits_gives_none() -> None:
    assert chosen([]) is None
    assert chosen([agent("full", load=1, capacity=1), agent("away", status=AgentStatus.AWAY)]) is None
    assert chosen([agent("ada", skills=("billing",))], required_skills=frozenset({"refunds"})) is None


def why(roster: list[Agent], **fields: object) -> str:
    return why_nobody_fits(roster, ticket(**fields), NOW)


def test_the_reason_says_why_nobody_fits() -> None:
    assert why([]) == "no agents on the roster"
    assert why([agent("away", status=AgentStatus.AWAY)]) == "no agent is online"
    assert why([agent("ada", working_hours=NIGHT_SHIFT)]) == "no online agent is inside their working hours"
    assert why([agent("ada", teams=("billing",))], team="vip") == "no online agent is in team vip"
    assert why([agent("ada", skills=("billing",))], required_skills=frozenset({"refunds", "vip"})) == (
        "no online agent has the skills refunds, vip"
    )
    assert why([agent("ada", teams=("vip",))], team="vip", required_skills=frozenset({"x"})) == (
        "no online agent in team vip has the skills x"
    )
    assert why([agent("ada")], declined_by=frozenset({"ada"})) == "every online agent who could take it declined it"
    assert why([agent("full", load=1, capacity=1)]) == "every online agent is at capacity"
    assert why([agent("full", load=1, capacity=1, skills=("vip",))], required_skills=frozenset({"vip"})) == (
        "every online agent with the skills is at capacity"
    )
    assert why(
        [agent("ada", channel_capacity={"chat": 1}, channel_loads={"chat": 1})], channel=Channel.CHAT
    ) == "every online agent is at capacity for chat"
