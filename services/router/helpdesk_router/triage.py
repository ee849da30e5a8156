"""Triage rules: what a new ticket is (priority, category, tags, skills, team, SLA policy).

Pure: a rule set and a ticket in, a decision out; `now` is a parameter.

Evaluation: every rule is tried in order; conditions always look at the ticket as it arrived
(an earlier rule's actions never change what a later rule sees). Each matching rule applies its
actions: priority, category, team and SLA policy are single values, so a later match overrides
an earlier one; tags and required skills accumulate. A matching rule with `stop: true` ends the
evaluation. `matched_rules` names the rules that applied, in order.

Conditions of one rule must all hold (AND); a list inside one condition is any-of (OR), except
`tags_all`. A rule without conditions matches every ticket. `customer_tiers` and `languages`
look at what intake put in `ticket.created` (the customer record's tier, the language the channel
gave); a ticket without that fact does not match a rule that names it. A rule language with only a
primary subtag ("pt") also matches its regional forms ("pt-br"); "pt-br" matches only "pt-br".
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from helpdesk_events import Channel, Priority, TicketCreated, TicketTriaged
from helpdesk_events.times import known_timezone
from helpdesk_router.roster import normalize_label

RULE_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,99}$"
_HH_MM = re.compile(r"^(?:[01]\d|2[0-3]):[0-5]\d$")
_LANGUAGE_TAG = re.compile(r"^[a-z]{2,3}(-[a-z0-9]{2,8})*$")
_TIER = re.compile(r"^[a-z0-9_-]{1,32}$")


def _lower_all(values: Sequence[str]) -> tuple[str, ...]:
    cleaned = tuple(value.strip().lower() for value in values)
    if any(not value for value in cleaned):
        raise ValueError("must not contain empty strings")
    return cleaned


def _regex(pattern: str | None) -> re.Pattern[str] | None:
    return re.compile(pattern) if pattern is not None else None


class TimeOfDay(BaseModel):
    """A daily window in a time zone; `start` after `end` runs across midnight (22:00-06:00)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    start: str = Field(description='"HH:MM" local time, included.', examples=["09:00"])
    end: str = Field(description='"HH:MM" local time, excluded.', examples=["17:00"])
    timezone: str = Field(default="UTC", description="IANA time zone.", examples=["Europe/Paris"])

    @field_validator("start", "end")
    @classmethod
    def _hh_mm(cls, value: str) -> str:
        if not _HH_MM.match(value):
            raise ValueError(f"{value!r} is not a time HH:MM between 00:00 and 23:59")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, name: str) -> str:
        return known_timezone(name)

    @model_validator(mode="after")
    def _not_empty(self) -> TimeOfDay:
        if self.start == self.end:
            raise ValueError(
                "start and end are equal: the window would be empty (omit time_of_day for all day)"
            )
        return self

    def contains(self, now: datetime) -> bool:
        try:
            local = now.astimezone(ZoneInfo(self.timezone)).time().replace(second=0, microsecond=0, tzinfo=None)
        except OverflowError:
            return False  # an instant at the edge of datetime's range: no local time to compare
        start, end = time.fromisoformat(self.start), time.fromisoformat(self.end)
        if start < end:
            return start <= local < end
        return local >= start or local < end


class Conditions(BaseModel):
    """What a ticket must look like for the rule to apply; every condition given must hold."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    channels: tuple[Channel, ...] = Field(default=(), description="Any of these channels.")
    keywords: tuple[str, ...] = Field(
        default=(), description="Any of these in the subject or body (case-insensitive)."
    )
    subject_keywords: tuple[str, ...] = Field(
        default=(), description="Any of these in the subject (case-insensitive)."
    )
    body_keywords: tuple[str, ...] = Field(
        default=(), description="Any of these in the body (case-insensitive)."
    )
    subject_pattern: str | None = Field(
        default=None, description="Python regular expression searched in the subject."
    )
    body_pattern: str | None = Field(
        default=None, description="Python regular expression searched in the body."
    )
    requester_domains: tuple[str, ...] = Field(
        default=(), description="Any of these email domains (exact, case-insensitive), e.g. example.com."
    )
    tags_any: tuple[str, ...] = Field(default=(), description="The ticket has at least one of these tags.")
    tags_all: tuple[str, ...] = Field(default=(), description="The ticket has every one of these tags.")
    priorities: tuple[Priority, ...] = Field(
        default=(), description="The priority it arrived with is any of these."
    )
    time_of_day: TimeOfDay | None = Field(default=None, description="It arrives inside this daily window.")
    customer_tiers: tuple[str, ...] = Field(
        default=(), description="The customer's tier is any of these (case-insensitive), e.g. gold."
    )
    languages: tuple[str, ...] = Field(
        default=(),
        description='The ticket\'s language is any of these BCP 47 tags (case-insensitive); "pt" also matches "pt-br".',
    )

    _subject_regex: re.Pattern[str] | None = PrivateAttr(default=None)
    _body_regex: re.Pattern[str] | None = PrivateAttr(default=None)

    @field_validator("keywords", "subject_keywords", "body_keywords", "tags_any", "tags_all")
    @classmethod
    def _lowercase(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        return _lower_all(values)

    @field_validator("requester_domains")
    @classmethod
    def _domains(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        domains = _lower_all(tuple(value.lstrip("@") for value in values))
        for domain in domains:
            if "@" in domain or "." not in domain:
                raise ValueError(f"{domain!r} is not an email domain like example.com")
        return domains

    @field_validator("customer_tiers")
    @classmethod
    def _tiers(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        tiers = _lower_all(values)
        for tier in tiers:
            if not _TIER.match(tier):
                raise ValueError(f"{tier!r} is not a tier label: 1-32 letters, digits, '_' or '-'")
        return tiers

    @field_validator("languages")
    @classmethod
    def _languages(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        languages = _lower_all(values)
        for language in languages:
            if not _LANGUAGE_TAG.match(language):
                raise ValueError(f"{language!r} is not a BCP 47 language tag like fr or pt-br")
        return languages

    @field_validator("subject_pattern", "body_pattern")
    @classmethod
    def _compiles(cls, pattern: str | None) -> str | None:
        if pattern is not None:
            try:
                re.compile(pattern)
            except re.error as error:
                raise ValueError(f"invalid regular expression {pattern!r}: {error}") from None
        return pattern

    def model_post_init(self, _context: Any) -> None:
        # Compiled once per rule set, not per ticket.
        self._subject_regex = _regex(self.subject_pattern)
        self._body_regex = _regex(self.body_pattern)

    def hold_for(self, ticket: TicketCreated, now: datetime) -> bool:
        subject, body = ticket.subject.lower(), ticket.body.lower()
        tags = {tag.lower() for tag in ticket.tags}
        domain = ticket.requester.email.rpartition("@")[2].lower()
        checks = (
            not self.channels or ticket.channel in self.channels,
            not self.keywords or any(word in subject or word in body for word in self.keywords),
            not self.subject_keywords or any(word in subject for word in self.subject_keywords),
            not self.body_keywords or any(word in body for word in self.body_keywords),
            self._subject_regex is None or self._subject_regex.search(ticket.subject) is not None,
            self._body_regex is None or self._body_regex.search(ticket.body) is not None,
            not self.requester_domains or domain in self.requester_domains,
            not self.tags_any or not tags.isdisjoint(self.tags_any),
            not self.tags_all or tags.issuperset(self.tags_all),
            not self.priorities or ticket.priority in self.priorities,
            self.time_of_day is None or self.time_of_day.contains(now),
            not self.customer_tiers
            or (ticket.customer_tier is not None and ticket.customer_tier.lower() in self.customer_tiers),
            not self.languages or (ticket.language is not None and self._speaks(ticket.language.lower())),
        )
        return all(checks)

    def _speaks(self, language: str) -> bool:
        """A rule tag names the ticket's language exactly, or is its primary subtag ("pt" for "pt-br")."""
        primary = language.split("-", 1)[0]
        return any(wanted == language or wanted == primary for wanted in self.languages)


class Actions(BaseModel):
    """What a matching rule decides; single values override earlier rules, lists accumulate."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    priority: Priority | None = None
    category: str | None = Field(default=None, min_length=1, max_length=100)
    add_tags: tuple[str, ...] = Field(default=(), description="Tags added to the ticket's own.")
    required_skills: tuple[str, ...] = Field(
        default=(), description="Skills the assignee must hold; normalized like agents' skills."
    )
    team: str | None = Field(default=None, description="Normalized like agents' teams.")
    sla_policy: str | None = Field(default=None, min_length=1, max_length=100)

    @field_validator("add_tags")
    @classmethod
    def _tags(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(dict.fromkeys(_lower_all(values)))

    @field_validator("required_skills")
    @classmethod
    def _skills(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(dict.fromkeys(normalize_label(value) for value in values))

    @field_validator("team")
    @classmethod
    def _team(cls, value: str | None) -> str | None:
        return normalize_label(value) if value is not None else None


class Rule(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(
        pattern=RULE_NAME_PATTERN, description="Unique in the rule set; shown in matched_rules."
    )
    when: Conditions = Field(default_factory=Conditions, description="Omitted: matches every ticket.")
    then: Actions = Field(default_factory=Actions)
    stop: bool = Field(default=False, description="When this rule matches, no later rule is tried.")


class RuleSet(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    rules: tuple[Rule, ...] = Field(default=(), max_length=1000)

    @field_validator("rules")
    @classmethod
    def _unique_names(cls, rules: tuple[Rule, ...]) -> tuple[Rule, ...]:
        seen: set[str] = set()
        for rule in rules:
            if rule.name in seen:
                raise ValueError(f"rule name {rule.name!r} is used twice")
            seen.add(rule.name)
        return rules

    def document(self) -> dict[str, Any]:
        """The rule set as JSON (the same structure as the YAML), without unset fields."""
        return {"rules": [rule.model_dump(mode="json", exclude_defaults=True) for rule in self.rules]}


NO_RULES = RuleSet()


@dataclass(frozen=True)
class RuleProblem:
    """One reason a rule set was refused: which rule (index and name) and which field."""

    rule_index: int | None
    rule_name: str | None
    field: str
    message: str

    def __str__(self) -> str:
        where = "rule set" if self.rule_index is None else f"rule {self.rule_index}"
        if self.rule_name is not None:
            where += f" ({self.rule_name!r})"
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


class InvalidRuleSet(ValueError):
    def __init__(self, problems: Sequence[RuleProblem]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(str(problem) for problem in self.problems))


def parse_rule_set(raw: object) -> RuleSet:
    """Validate a rule set as read from YAML or JSON; InvalidRuleSet names every bad rule and field."""
    try:
        return RuleSet.model_validate(raw)
    except ValidationError as error:
        raise InvalidRuleSet([_problem(raw, detail) for detail in error.errors()]) from None


def _problem(raw: object, detail: Mapping[str, Any]) -> RuleProblem:
    location = list(detail["loc"])
    message = str(detail["msg"]).removeprefix("Value error, ")
    index: int | None = None
    name: str | None = None
    if len(location) >= 2 and location[0] == "rules" and isinstance(location[1], int):
        index = location[1]
        location = location[2:]
        rules = raw.get("rules") if isinstance(raw, Mapping) else None
        if isinstance(rules, Sequence) and index < len(rules) and isinstance(rules[index], Mapping):
            candidate = rules[index].get("name")
            name = candidate if isinstance(candidate, str) else None
    return RuleProblem(index, name, ".".join(str(part) for part in location), message)


# The decision is exactly what ticket.triaged tells: one model, so the two cannot drift apart.
TriageDecision = TicketTriaged


def triage(rule_set: RuleSet, ticket: TicketCreated, now: datetime) -> TriageDecision:
    """Apply every matching rule in order (see the module's docstring); `now` must be aware."""
    priority, category, team, sla_policy = ticket.priority, None, None, None
    tags: dict[str, None] = dict.fromkeys(ticket.tags)
    skills: dict[str, None] = {}
    matched: list[str] = []
    for rule in rule_set.rules:
        if not rule.when.hold_for(ticket, now):
            continue
        matched.append(rule.name)
        actions = rule.then
        priority = actions.priority or priority
        category = actions.category or category
        team = actions.team or team
        sla_policy = actions.sla_policy or sla_policy
        tags.update(dict.fromkeys(actions.add_tags))
        skills.update(dict.fromkeys(actions.required_skills))
        if rule.stop:
            break
    return TriageDecision(
        priority=priority,
        category=category,
        tags=tuple(tags),
        required_skills=tuple(skills),
        team=team,
        sla_policy=sla_policy,
        matched_rules=tuple(matched),
    )
