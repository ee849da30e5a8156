"""The SLA clocks of one ticket: a pure state machine, events in, new state and sla.* payloads out.

No I/O and no wall clock: every function takes the moment (`at`, `now`) of what happened and the
policy the ticket runs on (`ChosenPolicy`: policy name, business calendar, targets of the priority),
and returns a new `TicketClocks` with the `helpdesk_events.sla` payloads to emit, in order. The
service stores the state, turns the payloads into events and keeps a durable timer on `next_wakeup`.

Semantics (Zendesk is the reference; where it is vague, the choice is written here):

- Clocks. A ticket has at most one clock per metric. A metric whose target the policy leaves out runs
  no clock. Time counts only inside the business hours of the policy's calendar (`calendar.elapsed`,
  `calendar.add`), so a clock started on Friday evening by an office calendar is due on Monday.
- First reply starts at `ticket.created` and is met at the first public agent message. Internal notes
  (public=False), system messages and customer messages do not stop it.
- Next reply starts at a customer message that follows an agent reply (the customer is waiting
  again) and is met at the next public agent message. A customer writing twice does not restart a
  running next-reply clock: it measures from the oldest unanswered message. Each new next-reply
  clock is a fresh clock (its own target, warning and breach); it replaces the previous, met one.
- Resolution runs from creation to `solved`. A reopen (solved -> open, or any status but closed)
  resumes it with the business time already used, so a ticket solved twice is measured on its total
  time. `closed` ends everything for good; a ticket closed without being solved meets its
  resolution at the close. Later events of a closed ticket change nothing.
- Solving also meets the reply clocks still open (the solution answers the customer), and counts as
  an agent reply for next reply: a customer writing on a solved ticket starts a next-reply clock.
- Pauses. `pending` (waiting on the customer) pauses every running clock, `on_hold` (waiting on a
  third party) too when the policy document says `on_hold_pauses` (the default). Leaving them resumes
  the paused clocks. A clock that starts while the ticket is paused (a customer message on a pending
  ticket, just before intake reopens it) starts paused: while a ticket waits, none of its clocks run.
  A public agent reply meets a clock also while it is paused.
- Re-targeting. A priority change (`ticket.triaged`, or any later change) or a policy change calls
  `retarget`: every open clock keeps the business time it used and gets the new policy's target and
  a new due time; `sla.started` is told again with the new policy, target and due time (consumers
  key a clock by ticket and metric, so it replaces the earlier one). A metric the new policy has no
  target for keeps its old target; a metric it newly targets starts no clock (the time before is
  unknown). Warnings and breaches already told stay told: a clock is warned and breached at most once.
- Warning and breach. `due` tells `sla.warning` once the clock used `warning_share` of its target and
  `sla.breached` once it used all of it (a clock at exactly its target is breached). When both fell
  due by the same call (the service was down, or a re-target shrank the target), only the breach is
  told. A breach told more than `late_after` after its due time is marked late. Met clocks are never
  warned or breached afterwards: `sla.met` says `within_target=False` instead.
- States shown: `met` once stopped; `breached` once past target and not met (also while paused);
  otherwise `paused` or `running`. Paused and met clocks have no due time.

Call `due(now=at)` before applying an event at `at`, so warnings and breaches that fell due before it
are told first (what a late restart needs); transitions never tell warnings or breaches themselves.
Times are stored and told in UTC; the calendar passed to a call counts the running stretch.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

from helpdesk_events.sla import SlaBreached, SlaMet, SlaMetric, SlaPaused, SlaResumed, SlaStarted, SlaWarning
from helpdesk_events.ticket import AuthorKind, Priority, TicketStatus
from helpdesk_events.times import stored_time

if TYPE_CHECKING:
    from helpdesk_sla.policies import ChosenPolicy

SlaEvent = SlaStarted | SlaPaused | SlaResumed | SlaWarning | SlaBreached | SlaMet

_ZERO = timedelta(0)
_METRIC_ORDER = (SlaMetric.FIRST_REPLY, SlaMetric.NEXT_REPLY, SlaMetric.RESOLUTION)
_REPLY_METRICS = (SlaMetric.FIRST_REPLY, SlaMetric.NEXT_REPLY)
_PAUSING = frozenset({TicketStatus.PENDING})  # on_hold too, when the document says so


class Calendar(Protocol):
    """What the clocks need of a business calendar (helpdesk_sla.calendar.BusinessCalendar)."""

    def add(self, start: datetime, duration: timedelta) -> datetime: ...

    def elapsed(self, start: datetime, end: datetime) -> timedelta: ...


class ClockState(StrEnum):
    """What a clock shows (GET /v1/tickets/{id}, reports)."""

    RUNNING = "running"
    PAUSED = "paused"
    MET = "met"
    BREACHED = "breached"


class Phase(StrEnum):
    """Whether a clock counts time now; `state` adds breached on top of it."""

    RUNNING = "running"
    PAUSED = "paused"
    STOPPED = "stopped"


@dataclass(frozen=True)
class Clock:
    """One metric of one ticket.

    `elapsed` is the business time used before the current run (all of it while paused or stopped);
    `running_since` is when the current run began (None unless running); `due_at` is when the clock
    breaches if nothing happens (None unless running; in the past once breached).
    """

    metric: SlaMetric
    policy: str
    target: timedelta
    started_at: datetime
    phase: Phase
    elapsed: timedelta = _ZERO
    running_since: datetime | None = None
    paused_at: datetime | None = None
    due_at: datetime | None = None
    warned: bool = False
    breach_told: bool = False
    stopped_at: datetime | None = None
    within_target: bool | None = None

    @property
    def is_open(self) -> bool:
        """Running or paused: not met yet."""
        return self.phase is not Phase.STOPPED

    @property
    def state(self) -> ClockState:
        """The state as last told (a running clock becomes breached when `due` tells the breach)."""
        if self.phase is Phase.STOPPED:
            return ClockState.MET
        if self.breach_told or self.elapsed >= self.target:
            return ClockState.BREACHED
        return ClockState.PAUSED if self.phase is Phase.PAUSED else ClockState.RUNNING

    def state_at(self, now: datetime) -> ClockState:
        """The state at `now`, breached as soon as the due time passed, told or not (for views)."""
        state = self.state
        if state is ClockState.RUNNING and self.due_at is not None and now >= self.due_at:
            return ClockState.BREACHED
        return state

    def elapsed_at(self, now: datetime, calendar: Calendar) -> timedelta:
        """Business time used up to `now` (up to the stop for a met clock)."""
        if self.phase is Phase.RUNNING and self.running_since is not None:
            return self.elapsed + calendar.elapsed(self.running_since, now)
        return self.elapsed


@dataclass(frozen=True)
class TicketClocks:
    """All clocks of one ticket, with what the state machine needs to remember about the ticket.

    `paused` says whether the ticket's status pauses its clocks (pending, or on_hold when the
    document says so), decided at the status change. `agent_replied` says whether an agent (or a
    solve) answered since the customer's last message started a wait, i.e. whether a customer message
    now starts a next-reply clock.
    """

    ticket_id: str
    priority: Priority
    status: TicketStatus
    policy_name: str
    created_at: datetime
    clocks: Mapping[SlaMetric, Clock] = field(default_factory=dict)
    agent_replied: bool = False
    paused: bool = False
    channel: str | None = None
    customer_tier: str | None = None

    @property
    def closed(self) -> bool:
        return self.status is TicketStatus.CLOSED

    def clock(self, metric: SlaMetric | str) -> Clock | None:
        return self.clocks.get(SlaMetric(metric))

    def ordered(self) -> list[Clock]:
        """The clocks in a fixed order: first reply, next reply, resolution."""
        return [self.clocks[metric] for metric in _METRIC_ORDER if metric in self.clocks]

    def document(self) -> dict[str, Any]:
        """A JSON-friendly dict (datetimes as ISO 8601 strings, durations in microseconds) for storage."""
        return {
            "ticket_id": self.ticket_id,
            "priority": self.priority.value,
            "status": self.status.value,
            "policy_name": self.policy_name,
            "created_at": self.created_at.isoformat(),
            "agent_replied": self.agent_replied,
            "paused": self.paused,
            "channel": self.channel,
            "customer_tier": self.customer_tier,
            "clocks": [_clock_document(clock) for clock in self.ordered()],
        }

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> TicketClocks:
        """The inverse of `document` (datetimes may come back as strings or datetimes)."""
        clocks = [_clock_from_document(entry) for entry in document.get("clocks", ())]
        return cls(
            ticket_id=str(document["ticket_id"]),
            priority=Priority(document["priority"]),
            status=TicketStatus(document["status"]),
            policy_name=str(document["policy_name"]),
            created_at=stored_time(document["created_at"]),
            clocks={clock.metric: clock for clock in clocks},
            agent_replied=bool(document.get("agent_replied", False)),
            paused=bool(document.get("paused", False)),
            channel=document.get("channel"),
            customer_tier=document.get("customer_tier"),
        )


Outcome = tuple[TicketClocks, list[SlaEvent]]


def start(
    ticket_id: str,
    *,
    priority: Priority | str,
    channel: str | None,
    customer_tier: str | None,
    at: datetime,
    chosen: ChosenPolicy,
) -> Outcome:
    """`ticket.created`: the first-reply and resolution clocks start running (those with a target)."""
    at = _utc(at)
    ticket = TicketClocks(
        ticket_id=ticket_id,
        priority=Priority(priority),
        status=TicketStatus.NEW,
        policy_name=chosen.policy_name,
        created_at=at,
        channel=None if channel is None else str(channel),
        customer_tier=customer_tier,
    )
    events: list[SlaEvent] = []
    clocks: dict[SlaMetric, Clock] = {}
    for metric in (SlaMetric.FIRST_REPLY, SlaMetric.RESOLUTION):
        clock = _new_clock(metric, at=at, paused=False, chosen=chosen)
        if clock is not None:
            clocks[metric] = clock
            events.append(_told(SlaStarted, clock))
    return replace(ticket, clocks=clocks), events


def on_message(
    clocks: TicketClocks,
    *,
    author_kind: AuthorKind | str,
    public: bool,
    at: datetime,
    chosen: ChosenPolicy,
) -> Outcome:
    """`ticket.message_added`: a public agent reply meets the reply clocks; a customer message after
    an agent reply starts a next-reply clock. Notes and system messages change nothing."""
    if clocks.closed:
        return clocks, []
    at = _utc(at)
    author = AuthorKind(author_kind)
    if author is AuthorKind.AGENT and public:
        updated, events = _meet(clocks, _REPLY_METRICS, at=at, calendar=chosen.calendar)
        return replace(updated, agent_replied=True), events
    if author is AuthorKind.CUSTOMER and clocks.agent_replied:
        current = clocks.clock(SlaMetric.NEXT_REPLY)
        if current is not None and current.is_open:
            return clocks, []  # already waiting: measured from the oldest unanswered message
        clock = _new_clock(SlaMetric.NEXT_REPLY, at=at, paused=clocks.paused, chosen=chosen)
        updated = replace(clocks, agent_replied=False)
        if clock is None:
            return updated, []
        return _with(updated, clock), [_told(SlaStarted, clock)]
    return clocks, []


def on_status(
    clocks: TicketClocks,
    *,
    to_status: TicketStatus | str,
    at: datetime,
    chosen: ChosenPolicy,
    on_hold_pauses: bool,
) -> Outcome:
    """`ticket.status_changed`: pause, resume, meet resolution on solved, resume it on a reopen,
    end everything on closed. A change to the status the ticket already has changes nothing."""
    target_status = TicketStatus(to_status)
    if clocks.closed or target_status is clocks.status:
        return clocks, []
    at = _utc(at)
    calendar = chosen.calendar
    events: list[SlaEvent] = []
    updated = clocks
    if target_status in (TicketStatus.SOLVED, TicketStatus.CLOSED):
        updated, met = _meet(updated, _METRIC_ORDER, at=at, calendar=calendar)
        events += met
        return replace(updated, status=target_status, agent_replied=True, paused=False), events
    pauses = target_status in _PAUSING or (target_status is TicketStatus.ON_HOLD and on_hold_pauses)
    reopened = clocks.status is TicketStatus.SOLVED
    new_clocks = dict(updated.clocks)
    for clock in updated.ordered():
        if reopened and clock.metric is SlaMetric.RESOLUTION and not clock.is_open:
            reopened_clock = _reopen(clock)
            if pauses:
                new_clocks[clock.metric] = replace(reopened_clock, phase=Phase.PAUSED, paused_at=at)
                events.append(_told(SlaPaused, new_clocks[clock.metric]))
            else:
                new_clocks[clock.metric] = _run(reopened_clock, at=at, calendar=calendar)
                events.append(_told(SlaResumed, new_clocks[clock.metric]))
        elif pauses and clock.phase is Phase.RUNNING:
            new_clocks[clock.metric] = _pause(clock, at=at, calendar=calendar)
            events.append(_told(SlaPaused, new_clocks[clock.metric]))
        elif not pauses and clock.phase is Phase.PAUSED:
            new_clocks[clock.metric] = _run(clock, at=at, calendar=calendar)
            events.append(_told(SlaResumed, new_clocks[clock.metric]))
    return replace(updated, clocks=new_clocks, status=target_status, paused=pauses), events


def retarget(
    clocks: TicketClocks,
    *,
    priority: Priority | str,
    at: datetime,
    chosen: ChosenPolicy,
) -> Outcome:
    """A priority or policy change: open clocks keep their used time under the new target."""
    updated = replace(clocks, priority=Priority(priority), policy_name=chosen.policy_name)
    if clocks.closed:
        return updated, []
    at = _utc(at)
    calendar = chosen.calendar
    events: list[SlaEvent] = []
    new_clocks = dict(clocks.clocks)
    for clock in clocks.ordered():
        target = chosen.targets.target(clock.metric)
        if not clock.is_open or target is None:
            continue
        if target == clock.target and chosen.policy_name == clock.policy:
            continue
        changed = replace(clock, target=target, policy=chosen.policy_name)
        if clock.phase is Phase.RUNNING:
            changed = _run(_pause(changed, at=at, calendar=calendar), at=at, calendar=calendar)
        new_clocks[clock.metric] = changed
        events.append(_told(SlaStarted, changed))
    return replace(updated, clocks=new_clocks), events


def due(
    clocks: TicketClocks,
    *,
    now: datetime,
    chosen: ChosenPolicy,
    warning_share: float,
    late_after: timedelta,
) -> Outcome:
    """The warnings and breaches whose time has come by `now`, each told once, in time order."""
    if clocks.closed:
        return clocks, []
    now = _utc(now)
    calendar = chosen.calendar
    found: list[tuple[datetime, int, SlaEvent]] = []
    new_clocks = dict(clocks.clocks)
    for order, clock in enumerate(clocks.ordered()):
        if not clock.is_open:
            continue
        warn_at, breach_at = _thresholds(clock, calendar, warning_share)
        if breach_at is not None and breach_at <= now and not clock.breach_told:
            new_clocks[clock.metric] = replace(clock, warned=True, breach_told=True)
            late = now - breach_at > late_after
            found.append((breach_at, order, _told(SlaBreached, clock, late=late)))
        elif warn_at is not None and warn_at <= now and not clock.warned:
            new_clocks[clock.metric] = replace(clock, warned=True)
            share = clock.elapsed_at(now, calendar) / clock.target
            found.append((warn_at, order, _told(SlaWarning, clock, elapsed_share=round(share, 4))))
    found.sort(key=lambda entry: (entry[0], entry[1]))
    return replace(clocks, clocks=new_clocks), [event for _, _, event in found]


def next_wakeup(clocks: TicketClocks, chosen: ChosenPolicy, warning_share: float) -> datetime | None:
    """The earliest warning or breach not told yet (may be in the past: fire at once), None when
    nothing can fall due (all clocks met or paused short of their thresholds, or the ticket closed)."""
    if clocks.closed:
        return None
    moments: list[datetime] = []
    for clock in clocks.ordered():
        if not clock.is_open or clock.breach_told:
            continue
        warn_at, breach_at = _thresholds(clock, chosen.calendar, warning_share)
        if warn_at is not None and not clock.warned:
            moments.append(warn_at)
        if breach_at is not None:
            moments.append(breach_at)
    return min(moments, default=None)


def warning_threshold(target: timedelta, warning_share: float) -> timedelta:
    """The business time after which a clock is warned: `warning_share` of the target, to the second
    (rounded up, so a warning never comes before the share is used)."""
    microseconds = round(target / timedelta(microseconds=1) * warning_share)
    seconds, rest = divmod(microseconds, 1_000_000)
    return timedelta(seconds=seconds + (1 if rest else 0))


# ----------------------------------------------------------------------------------------------------------


def _new_clock(metric: SlaMetric, *, at: datetime, paused: bool, chosen: ChosenPolicy) -> Clock | None:
    target = chosen.targets.target(metric)
    if target is None:
        return None
    clock = Clock(
        metric=metric,
        policy=chosen.policy_name,
        target=target,
        started_at=at,
        phase=Phase.PAUSED,
        paused_at=at,
    )
    return clock if paused else _run(clock, at=at, calendar=chosen.calendar)


def _run(clock: Clock, *, at: datetime, calendar: Calendar) -> Clock:
    """A paused clock runs from `at`; its due time is the rest of the target in business time."""
    return replace(
        clock,
        phase=Phase.RUNNING,
        running_since=at,
        paused_at=None,
        due_at=_after(calendar, at, clock.target - clock.elapsed),
    )


def _pause(clock: Clock, *, at: datetime, calendar: Calendar) -> Clock:
    """A running clock stops counting at `at`, keeping the business time it used."""
    return replace(
        clock,
        phase=Phase.PAUSED,
        elapsed=clock.elapsed_at(at, calendar),
        running_since=None,
        paused_at=at,
        due_at=None,
    )


def _reopen(clock: Clock) -> Clock:
    """A met resolution clock is open again (paused until `_run`), with the time it used."""
    return replace(clock, phase=Phase.PAUSED, stopped_at=None, within_target=None)


def _meet(
    clocks: TicketClocks, metrics: Iterable[SlaMetric], *, at: datetime, calendar: Calendar
) -> tuple[TicketClocks, list[SlaEvent]]:
    events: list[SlaEvent] = []
    new_clocks = dict(clocks.clocks)
    for metric in metrics:
        clock = clocks.clocks.get(metric)
        if clock is None or not clock.is_open:
            continue
        elapsed = clock.elapsed_at(at, calendar)
        within = elapsed < clock.target and not clock.breach_told
        met = replace(
            clock,
            phase=Phase.STOPPED,
            elapsed=elapsed,
            running_since=None,
            paused_at=None,
            due_at=None,
            stopped_at=at,
            within_target=within,
        )
        new_clocks[metric] = met
        # The event carries the due time the clock had when it was met (None if it was paused).
        events.append(_told(SlaMet, replace(met, due_at=clock.due_at), within_target=within, elapsed=elapsed))
    return replace(clocks, clocks=new_clocks), events


def _with(clocks: TicketClocks, clock: Clock) -> TicketClocks:
    return replace(clocks, clocks={**clocks.clocks, clock.metric: clock})


def _thresholds(
    clock: Clock, calendar: Calendar, warning_share: float
) -> tuple[datetime | None, datetime | None]:
    """When the warning and the breach fall due. A paused clock falls due at its pause only if it had
    already used the share (a re-target shrank the target while it waited); otherwise never while paused."""
    warn_after = warning_threshold(clock.target, warning_share)
    if clock.phase is Phase.RUNNING and clock.running_since is not None:
        warn_at = _after(calendar, clock.running_since, warn_after - clock.elapsed)
        return warn_at, clock.due_at
    if clock.phase is Phase.PAUSED and clock.paused_at is not None:
        warn_at = clock.paused_at if clock.elapsed >= warn_after else None
        breach_at = clock.paused_at if clock.elapsed >= clock.target else None
        return warn_at, breach_at
    return None, None


def _after(calendar: Calendar, start: datetime, remaining: timedelta) -> datetime:
    """`remaining` business time after `start`; `start` itself when nothing remains."""
    if remaining <= _ZERO:
        return start
    return _utc(calendar.add(start, remaining))


def _told(kind: type[SlaEvent], clock: Clock, **extra: Any) -> SlaEvent:
    due_at = clock.due_at if clock.phase is not Phase.PAUSED else None
    return kind(policy=clock.policy, metric=clock.metric, target=clock.target, due_at=due_at, **extra)


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{moment!r} has no time zone: the clocks need aware datetimes")
    return moment.astimezone(UTC)


def _micros(value: timedelta) -> int:
    return value // timedelta(microseconds=1)


def _clock_document(clock: Clock) -> dict[str, Any]:
    def iso(moment: datetime | None) -> str | None:
        return None if moment is None else moment.isoformat()

    return {
        "metric": clock.metric.value,
        "policy": clock.policy,
        "target_us": _micros(clock.target),
        "started_at": iso(clock.started_at),
        "phase": clock.phase.value,
        "elapsed_us": _micros(clock.elapsed),
        "running_since": iso(clock.running_since),
        "paused_at": iso(clock.paused_at),
        "due_at": iso(clock.due_at),
        "warned": clock.warned,
        "breach_told": clock.breach_told,
        "stopped_at": iso(clock.stopped_at),
        "within_target": clock.within_target,
        "state": clock.state.value,  # for people reading the store; recomputed on load
    }


def _clock_from_document(entry: Mapping[str, Any]) -> Clock:
    return Clock(
        metric=SlaMetric(entry["metric"]),
        policy=str(entry["policy"]),
        target=timedelta(microseconds=int(entry["target_us"])),
        started_at=stored_time(entry["started_at"]),
        phase=Phase(entry["phase"]),
        elapsed=timedelta(microseconds=int(entry.get("elapsed_us", 0))),
        running_since=stored_time(entry.get("running_since")),
        paused_at=stored_time(entry.get("paused_at")),
        due_at=stored_time(entry.get("due_at")),
        warned=bool(entry.get("warned", False)),
        breach_told=bool(entry.get("breach_told", False)),
        stopped_at=stored_time(entry.get("stopped_at")),
        within_target=entry.get("within_target"),
    )
