"""SLA policies: which targets a ticket gets, and on which business calendar they count.

The document (YAML in a ConfigMap, the same structure as JSON over `GET/PUT /v1/policies`):

    warning_share: 0.75          # sla.warning at this share of a target (0 < x < 1)
    on_hold_pauses: true         # on_hold pauses the clocks like pending does
    calendars:
      - name: office-paris
        timezone: Europe/Paris
        weekly: {mon: [["09:00", "18:00"]], fri: [["09:00", "17:00"]]}
        holidays: [2025-12-25]
    policies:
      - name: vip
        calendar: 24/7           # a calendar of the document, or "24/7" (always open)
        when: {customer_tiers: [gold], channels: [chat, voice]}
        targets:
          urgent: {first_reply: PT15M, next_reply: PT30M, resolution: PT4H}
      - name: standard
        calendar: office-paris
        targets:
          normal: {first_reply: PT8H, resolution: P3D}

Targets are ISO 8601 durations counted in business time of the policy's calendar, to the second
(`PT10S` lets a test run a clock of a few seconds). Weeks, days, hours, minutes and seconds only:
months and years have no fixed length, so `P1M` is refused rather than guessed as 30 days (pydantic
alone would guess). Plain numbers and "HH:MM:SS" are refused too, so a document means one thing.
A target must be positive, in whole seconds, and at most a year (P366D).

Choosing a policy for a ticket (`SlaConfig.choose`): the policy triage named (`ticket.triaged`
sla_policy) wins when it exists and has targets for the ticket's priority, whatever its `when`;
otherwise the first policy in document order whose `when` matches and that has targets for the
priority. `when` narrows with any-of lists (lower case): a policy naming customer tiers never
matches a ticket without a tier. No policy at all: the ticket runs no clocks.

Errors: `parse_config` reports every problem at once in `SlaConfigError.problems`, each naming the
section (policies, calendars, or the document), the index and name of the entry, and the field,
e.g. `policies[1] ('vip') targets.urgent.first_reply: ...`, so a 422 can say what to fix.

YAML note: YAML 1.1 (PyYAML) reads an unquoted `17:00` as the number 1020 (base 60); the shared
configuration loader (`helpdesk_events.config_files.parse_yaml`) reads such scalars as strings, so
business hours may be written quoted or not.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from helpdesk_events import Channel, Priority
from helpdesk_events.config_files import parse_yaml
from helpdesk_events.sla import SlaMetric
from helpdesk_sla.calendar import ALWAYS_OPEN, BusinessCalendar

ALWAYS_OPEN_NAME = "24/7"
POLICY_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,99}$"
LONGEST_TARGET = timedelta(days=366)

_TIER = re.compile(r"^[a-z0-9_-]{1,32}$")
_ISO_DURATION = re.compile(
    r"^P(?!$)(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?=\d)(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+(?:[.,]\d+)?)S)?)?$"
)
_MONTHS_OR_YEARS = re.compile(r"^P(?:[^T]*[YM])")


def iso_duration(value: timedelta) -> str:
    """A target written back as an ISO 8601 duration (P1DT2H, PT10S), in days and below only.

    Not pydantic's own writer: it says `P1Y` for 365 days, which this module refuses to read back.
    """
    seconds = int(value.total_seconds())
    sign, seconds = ("-", -seconds) if seconds < 0 else ("", seconds)
    days, seconds = divmod(seconds, 86400)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    clock = "".join(
        f"{amount}{unit}" for amount, unit in ((hours, "H"), (minutes, "M"), (seconds, "S")) if amount
    )
    text = (f"{days}D" if days else "") + (f"T{clock}" if clock else "")
    return f"{sign}P{text or 'T0S'}"


def parse_duration(value: object) -> timedelta:
    """An ISO 8601 duration (or a timedelta, from code) as a target; ValueError says what is wrong."""
    if isinstance(value, timedelta):
        duration = value
    elif isinstance(value, str):
        text = value.strip().upper()
        if _MONTHS_OR_YEARS.match(text):
            raise ValueError(
                f"{value!r}: months and years have no fixed length; write days or weeks (P30D, P4W)"
            )
        match = _ISO_DURATION.match(text)
        if match is None:
            raise ValueError(f"{value!r} is not an ISO 8601 duration such as PT4H, PT10S or P1DT2H")
        parts = {
            unit: float(amount.replace(",", ".")) for unit, amount in match.groupdict(default="0").items()
        }
        try:
            duration = timedelta(**parts)
        except OverflowError:
            raise ValueError(
                f"{value!r} is too long: a target is at most {iso_duration(LONGEST_TARGET)}"
            ) from None
    else:
        raise ValueError(
            f"{value!r} is not an ISO 8601 duration: write a string such as PT4H, PT10S or P1DT2H"
        )
    if duration <= timedelta(0):
        raise ValueError(f"{_shown(value)} must be longer than zero")
    if duration.microseconds:
        raise ValueError(f"{_shown(value)} is not whole seconds: targets count to the second")
    if duration > LONGEST_TARGET:
        raise ValueError(f"{_shown(value)} is too long: a target is at most {iso_duration(LONGEST_TARGET)}")
    return duration


def _shown(value: object) -> str:
    return repr(value) if isinstance(value, str) else repr(str(value))


class Targets(BaseModel):
    """Business-time targets of one priority; a metric left out runs no clock."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    first_reply: timedelta | None = Field(
        default=None, description="From ticket creation to the first public agent reply.", examples=["PT4H"]
    )
    next_reply: timedelta | None = Field(
        default=None,
        description="From a customer message that follows an agent reply to the next public agent reply.",
        examples=["PT8H"],
    )
    resolution: timedelta | None = Field(
        default=None, description="From ticket creation to solved (a reopen resumes it).", examples=["P3D"]
    )

    @field_validator("first_reply", "next_reply", "resolution", mode="before")
    @classmethod
    def _iso_duration(cls, value: object) -> timedelta | None:
        return None if value is None else parse_duration(value)

    @model_validator(mode="after")
    def _not_empty(self) -> Targets:
        if self.first_reply is None and self.next_reply is None and self.resolution is None:
            raise ValueError(
                "give at least one of first_reply, next_reply, resolution (or leave the priority out)"
            )
        return self

    def target(self, metric: SlaMetric | str) -> timedelta | None:
        """The target of one metric (first_reply, next_reply, resolution), None when it has none."""
        return getattr(self, SlaMetric(metric).value)

    def document(self) -> dict[str, str]:
        return {
            metric.value: iso_duration(target)
            for metric in SlaMetric
            if (target := self.target(metric)) is not None
        }


class PolicyConditions(BaseModel):
    """Narrows a policy to some tickets; each list is any-of, an empty list does not narrow."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    customer_tiers: tuple[str, ...] = Field(
        default=(), description="The customer's tier at ticket creation is any of these, e.g. gold."
    )
    channels: tuple[Channel, ...] = Field(default=(), description="The ticket came in through any of these.")

    @field_validator("customer_tiers", mode="before")
    @classmethod
    def _tiers(cls, values: object) -> object:
        if isinstance(values, str) or not isinstance(values, Sequence):
            return values  # pydantic says it is not a list
        tiers = tuple(value.strip().lower() if isinstance(value, str) else value for value in values)
        for tier in tiers:
            if isinstance(tier, str) and not _TIER.match(tier):
                raise ValueError(f"{tier!r} is not a tier label: 1-32 letters, digits, '_' or '-'")
        return tuple(dict.fromkeys(tiers))

    @field_validator("channels", mode="before")
    @classmethod
    def _channels(cls, values: object) -> object:
        if isinstance(values, str) or not isinstance(values, Sequence):
            return values
        return tuple(
            dict.fromkeys(value.strip().lower() if isinstance(value, str) else value for value in values)
        )

    def match(self, *, customer_tier: str | None, channel: Channel | str | None) -> bool:
        tier_ok = not self.customer_tiers or (
            customer_tier is not None and customer_tier.strip().lower() in self.customer_tiers
        )
        channel_ok = not self.channels or (
            channel is not None and str(channel).strip().lower() in self.channels
        )
        return tier_ok and channel_ok


class SlaPolicy(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(
        pattern=POLICY_NAME_PATTERN,
        description="Unique in the document; what triage rules name in sla_policy.",
        examples=["vip"],
    )
    calendar: str = Field(
        min_length=1,
        description='A calendar of the document by name, or "24/7" (always open).',
        examples=["office-paris"],
    )
    when: PolicyConditions = Field(default_factory=PolicyConditions, description="Omitted: any ticket.")
    targets: dict[Priority, Targets] = Field(
        description="Per priority (low, normal, high, urgent); a priority left out is not covered here."
    )
    escalate_on_breach: bool = Field(
        default=False,
        description=(
            "When a clock breaches, raise the ticket's priority one step (low to normal to high to urgent), "
            "told as ticket.priority_changed; the open clocks then run on the new priority's targets."
        ),
    )

    @field_validator("targets")
    @classmethod
    def _some_targets(cls, targets: dict[Priority, Targets]) -> dict[Priority, Targets]:
        if not targets:
            raise ValueError("give targets for at least one priority (low, normal, high, urgent)")
        return targets

    def covers(self, priority: Priority | str) -> bool:
        return Priority(priority) in self.targets

    def document(self) -> dict[str, Any]:
        document: dict[str, Any] = {"name": self.name, "calendar": self.calendar}
        when = self.when.model_dump(mode="json", exclude_defaults=True)
        if when:
            document["when"] = when
        document["targets"] = {
            priority.value: self.targets[priority].document()
            for priority in Priority
            if priority in self.targets
        }
        if self.escalate_on_breach:
            document["escalate_on_breach"] = True
        return document


@dataclass(frozen=True)
class ChosenPolicy:
    """What the clocks of one ticket run on: the policy's name, its calendar, its targets for the priority."""

    policy_name: str
    calendar: BusinessCalendar
    targets: Targets
    escalate_on_breach: bool = False


class SlaConfig(BaseModel):
    """The whole SLA document; build it with `parse_config` to get every problem named at once."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    calendars: tuple[BusinessCalendar, ...] = Field(
        default=(), description='Business calendars policies can name ("24/7" needs none).'
    )
    policies: tuple[SlaPolicy, ...] = Field(default=(), description="Tried in order; see choose().")
    warning_share: float = Field(
        default=0.75, gt=0, lt=1, description="sla.warning when this share of a target is used (0.75 = 75%)."
    )
    on_hold_pauses: bool = Field(default=True, description="on_hold pauses the clocks like pending does.")

    _calendars: dict[str, BusinessCalendar] = PrivateAttr(default_factory=dict)
    _policies: dict[str, SlaPolicy] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _references(self, info: ValidationInfo) -> SlaConfig:
        # parse_config reports these itself, per entry; a config built directly still may not be inconsistent.
        if info.context and info.context.get(_CHECKED_BY_PARSE):
            return self
        problems = _reference_problems(
            [(calendar.name, calendar.has_business_hours) for calendar in self.calendars],
            [(policy.name, policy.calendar) for policy in self.policies],
        )
        if problems:
            raise ValueError("; ".join(str(problem) for problem in problems))
        return self

    def model_post_init(self, _context: Any) -> None:
        # Built once per document, not per ticket.
        self._calendars = {calendar.name: calendar for calendar in self.calendars}
        self._calendars[ALWAYS_OPEN_NAME] = ALWAYS_OPEN
        self._policies = {policy.name: policy for policy in self.policies}

    def calendar(self, name: str) -> BusinessCalendar:
        """A calendar of the document by name, or ALWAYS_OPEN for "24/7"; KeyError for an unknown name."""
        try:
            return self._calendars[name]
        except KeyError:
            raise KeyError(f"no calendar named {name!r}") from None

    def policy(self, name: str) -> SlaPolicy | None:
        return self._policies.get(name)

    def choose(
        self,
        priority: Priority | str,
        *,
        customer_tier: str | None = None,
        channel: Channel | str | None = None,
        named: str | None = None,
    ) -> ChosenPolicy | None:
        """The policy a ticket's clocks run on (see the module docstring), None when no policy covers it."""
        wanted = Priority(priority)
        chosen = self._policies.get(named) if named is not None else None
        if chosen is None or not chosen.covers(wanted):
            chosen = next(
                (
                    policy
                    for policy in self.policies
                    if policy.covers(wanted)
                    and policy.when.match(customer_tier=customer_tier, channel=channel)
                ),
                None,
            )
        if chosen is None:
            return None
        return ChosenPolicy(
            chosen.name, self.calendar(chosen.calendar), chosen.targets[wanted], chosen.escalate_on_breach
        )

    def document(self) -> dict[str, Any]:
        """The document as JSON (the structure of the YAML), durations as ISO 8601, unset fields left out."""
        return {
            "warning_share": self.warning_share,
            "on_hold_pauses": self.on_hold_pauses,
            "calendars": [
                calendar.model_dump(mode="json", exclude_defaults=True) for calendar in self.calendars
            ],
            "policies": [policy.document() for policy in self.policies],
        }


_CHECKED_BY_PARSE = "references_checked_by_parse_config"


@dataclass(frozen=True)
class SlaProblem:
    """One reason a document was refused: where (section, index, name) and which field."""

    index: int | None
    name: str | None
    field: str
    message: str
    section: str | None = "policies"

    def __str__(self) -> str:
        if self.section is None:
            where = "document"
        elif self.index is None:
            where = self.section
        else:
            where = f"{self.section}[{self.index}]"
        if self.name is not None:
            where += f" ({self.name!r})"
        return f"{where} {self.field}: {self.message}" if self.field else f"{where}: {self.message}"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class SlaConfigError(ValueError):
    """The document cannot be used; `problems` names every bad entry and field."""

    def __init__(self, problems: Sequence[SlaProblem], *, source: str | None = None) -> None:
        self.problems = tuple(problems)
        self.source = source
        text = "; ".join(str(problem) for problem in self.problems)
        super().__init__(f"{source}: {text}" if source else text)


def parse_config(data: Mapping[str, Any]) -> SlaConfig:
    """Validate a document read from YAML or JSON; SlaConfigError names every problem found."""
    if not isinstance(data, Mapping):
        raise SlaConfigError(
            [SlaProblem(None, None, "", "must be a mapping with calendars and policies", None)]
        )
    problems: list[SlaProblem] = []
    config: SlaConfig | None = None
    try:
        config = SlaConfig.model_validate(data, context={_CHECKED_BY_PARSE: True})
    except ValidationError as error:
        problems.extend(_problem(data, detail) for detail in error.errors())
    # The references are checked on what was sent, so they are reported along with any other problem.
    calendars = data.get("calendars")
    policies = data.get("policies")
    problems.extend(
        _reference_problems(
            [_calendar_facts(entry) for entry in _entries(calendars)],
            [
                (entry.get("name"), entry.get("calendar")) if isinstance(entry, Mapping) else None
                for entry in _entries(policies)
            ],
        )
    )
    if problems:
        raise SlaConfigError(problems)
    assert config is not None
    return config


def parse_config_yaml(text: str, *, source: str | None = None) -> SlaConfig:
    """A YAML document (a ConfigMap, or a PUT with Content-Type application/yaml); empty means no policies."""
    try:
        raw = parse_yaml(text)
    except yaml.YAMLError as error:
        raise SlaConfigError(
            [SlaProblem(None, None, "", f"not valid YAML: {error}", None)], source=source
        ) from None
    if raw is None:
        return SlaConfig()
    try:
        return parse_config(raw)
    except SlaConfigError as error:
        raise SlaConfigError(error.problems, source=source) from None


def load_config_file(path: str | Path) -> SlaConfig:
    """The policies file (YAML); SlaConfigError names the file, the entry and the field."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise SlaConfigError(
            [SlaProblem(None, None, "", f"cannot read it: {error}", None)], source=str(path)
        ) from None
    return parse_config_yaml(text, source=str(path))


def _entries(value: object) -> list[object]:
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        return list(value)
    return []


def _calendar_facts(entry: object) -> tuple[object, bool | None]:
    """A calendar as sent: its name, and whether it ever opens (None when it is not a valid calendar)."""
    if not isinstance(entry, Mapping):
        return None, None
    try:
        opens: bool | None = BusinessCalendar.model_validate(entry).has_business_hours
    except ValidationError:
        opens = None  # the structural check says why
    return entry.get("name"), opens


def _reference_problems(
    calendars: Sequence[tuple[object, bool | None]], policies: Sequence[tuple[object, object] | None]
) -> list[SlaProblem]:
    """Names that must be unique, and calendars that policies name but the document lacks or never opens."""
    problems: list[SlaProblem] = []
    known: set[str] = set()
    closed: set[str] = set()
    for index, (name, opens) in enumerate(calendars):
        if not isinstance(name, str):
            continue  # the structural check already says so
        if opens is False:
            closed.add(name)
        if name == ALWAYS_OPEN_NAME:
            problems.append(
                SlaProblem(
                    index, name, "name", f"{ALWAYS_OPEN_NAME!r} is reserved for always open", "calendars"
                )
            )
        elif name in known:
            problems.append(
                SlaProblem(index, name, "name", f"calendar name {name!r} is used twice", "calendars")
            )
        known.add(name)
    seen: set[str] = set()
    for index, entry in enumerate(policies):
        if entry is None:
            continue
        name, calendar = entry
        shown = name if isinstance(name, str) else None
        if isinstance(name, str):
            if name in seen:
                problems.append(SlaProblem(index, shown, "name", f"policy name {name!r} is used twice"))
            seen.add(name)
        if isinstance(calendar, str) and calendar != ALWAYS_OPEN_NAME and calendar not in known:
            choices = ", ".join(repr(option) for option in sorted(known | {ALWAYS_OPEN_NAME}))
            problems.append(
                SlaProblem(index, shown, "calendar", f"no calendar named {calendar!r} (known: {choices})")
            )
        elif isinstance(calendar, str) and calendar in closed:
            problems.append(
                SlaProblem(
                    index,
                    shown,
                    "calendar",
                    f"calendar {calendar!r} has no business hours: the clocks would never run out",
                )
            )
    return problems


def _problem(raw: Mapping[str, Any], detail: Mapping[str, Any]) -> SlaProblem:
    location = [part for part in detail["loc"] if part != "[key]"]
    message = str(detail["msg"]).removeprefix("Value error, ")
    if detail.get("type") == "enum":  # pydantic lists the choices but not what was sent
        choices = message.removeprefix("Input should be ")
        if "[key]" in detail["loc"]:
            message = f"{detail.get('input')!r} is not a priority: {choices}"
        else:
            message = f"{detail.get('input')!r} is not one of {choices}"
    if len(location) >= 2 and location[0] in ("policies", "calendars") and isinstance(location[1], int):
        section, index = str(location[0]), location[1]
        entries = _entries(raw.get(section))
        name: str | None = None
        if index < len(entries) and isinstance(entries[index], Mapping):
            candidate = entries[index].get("name")
            name = candidate if isinstance(candidate, str) else None
        return SlaProblem(index, name, _dotted(location[2:]), message, section)
    return SlaProblem(None, None, _dotted(location), message, None)


def _dotted(location: Sequence[object]) -> str:
    return ".".join(str(part) for part in location)


def _standard(first_reply: str, next_reply: str, resolution: str) -> Targets:
    return Targets(first_reply=first_reply, next_reply=next_reply, resolution=resolution)


DEFAULT_CONFIG = SlaConfig(
    policies=(
        SlaPolicy(
            name="standard",
            calendar=ALWAYS_OPEN_NAME,
            targets={
                Priority.URGENT: _standard("PT1H", "PT2H", "PT8H"),
                Priority.HIGH: _standard("PT4H", "PT8H", "P1D"),
                Priority.NORMAL: _standard("PT8H", "P1D", "P3D"),
                Priority.LOW: _standard("P1D", "P2D", "P5D"),
            },
        ),
    )
)
