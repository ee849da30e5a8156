"""Who hears about what: Slack targets per event type and email senders per team, from YAML.

The file (`NOTIFIER_ROUTES_FILE`, a ConfigMap mounted as a file in Kubernetes) is read once at start;
without one the defaults below apply. A bad file stops the service with a `RoutesError` naming the
field, rather than notifications silently going nowhere.

    slack:
      team_channels: {billing: C0BILLING}   # team -> Slack channel id
      default_channel: C0SUPPORT             # teams not listed, tickets with no team; optional
      team_leads: {billing: U0BILLINGLEAD}   # team -> the lead's Slack user id; optional
      events:                                # event type -> targets; events left out keep the default,
        ticket.assigned: [assignee]          #   `[]` turns one off
        sla.warning: [team_channel]
        sla.breached: [team_channel]
        feedback.received: [team_channel]    # only shout-outs (positive with a comment)
        feedback.follow_up_requested: [team_lead]  # low scores; a team without a lead: its channel
    email:
      default: {from: "Support <support@helpdesk.local>", reply_to: null}
      teams: {billing: {from: "Billing <billing@example.com>", reply_to: "billing@example.com"}}

Targets: `assignee` (the assignee's Slack user id), `team_channel` (the ticket team's channel, else
`default_channel`), `team_lead` (the ticket team's lead in `team_leads`; a team with no lead falls back
to `team_channel`, so a low score is never silent for want of a lead), `channel:<id>`, `user:<id>`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.utils import parseaddr
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator

from helpdesk_events.config_files import ConfigFileError, first_problem, read_yaml
from helpdesk_notifier.ticket_view import TicketView

ASSIGNEE = "assignee"
TEAM_CHANNEL = "team_channel"
TEAM_LEAD = "team_lead"

DEFAULT_EVENTS: dict[str, tuple[str, ...]] = {
    "ticket.assigned": (ASSIGNEE,),
    "sla.warning": (TEAM_CHANNEL,),
    "sla.breached": (TEAM_CHANNEL,),
    "feedback.received": (TEAM_CHANNEL,),
    "feedback.follow_up_requested": (TEAM_LEAD,),
}
KNOWN_EVENTS = frozenset(DEFAULT_EVENTS)

# Slack ids: conversations C (public), G (private), D (direct); users U, W (Enterprise Grid).
_CHANNEL_ID = re.compile(r"[CGD][A-Z0-9]{2,}")
_USER_ID = re.compile(r"[UW][A-Z0-9]{2,}")


class RoutesError(ValueError):
    """The routes file cannot be used; the message names the file and the field."""


@dataclass(frozen=True)
class EmailSender:
    """The From (and optional Reply-To) of a team's emails."""

    from_: str
    reply_to: str | None = None


def _channel_id(value: str) -> str:
    if not _CHANNEL_ID.fullmatch(value):
        raise ValueError(f"{value!r} is not a Slack channel id (C..., G... or D..., upper case)")
    return value


def _user_id(value: str) -> str:
    if not _USER_ID.fullmatch(value):
        raise ValueError(f"{value!r} is not a Slack user id (U... or W..., upper case)")
    return value


def _target(value: str) -> str:
    if value in (ASSIGNEE, TEAM_CHANNEL, TEAM_LEAD):
        return value
    kind, colon, ident = value.partition(":")
    if colon and kind == "channel":
        _channel_id(ident)
        return value
    if colon and kind == "user":
        _user_id(ident)
        return value
    raise ValueError(
        f"unknown target {value!r}: expected assignee, team_channel, team_lead, channel:<id> or user:<id>"
    )


def _address(value: str) -> str:
    if "@" not in parseaddr(value)[1]:
        raise ValueError(f"{value!r} is not an email address")
    return value


ChannelId = Annotated[str, AfterValidator(_channel_id)]
UserId = Annotated[str, AfterValidator(_user_id)]
Target = Annotated[str, AfterValidator(_target)]
Address = Annotated[str, AfterValidator(_address)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class SlackRoutes(_Strict):
    team_channels: dict[str, ChannelId] = Field(default_factory=dict)
    default_channel: ChannelId | None = None
    team_leads: dict[str, UserId] = Field(default_factory=dict)
    events: dict[str, tuple[Target, ...]] = Field(default_factory=lambda: dict(DEFAULT_EVENTS))

    @field_validator("events", mode="before")
    @classmethod
    def _events(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value  # pydantic names the type error
        unknown = sorted(set(value) - KNOWN_EVENTS)
        if unknown:
            raise ValueError(f"unknown event type(s) {unknown}: expected some of {sorted(KNOWN_EVENTS)}")
        # Events left out keep their default; `null` is the same as leaving the event out.
        merged: dict[str, Any] = dict(DEFAULT_EVENTS)
        merged.update({event: targets for event, targets in value.items() if targets is not None})
        return merged


class _SenderConfig(_Strict):
    from_: Address | None = Field(default=None, alias="from")
    reply_to: Address | None = None


class EmailRoutes(_Strict):
    default: _SenderConfig = Field(default_factory=_SenderConfig)
    teams: dict[str, _SenderConfig] = Field(default_factory=dict)


class NotificationRoutes(_Strict):
    slack: SlackRoutes = Field(default_factory=SlackRoutes)
    email: EmailRoutes = Field(default_factory=EmailRoutes)
    # settings.email_from: the From of teams and defaults that do not name one
    default_from: str = Field(default="Support <support@helpdesk.local>", exclude=True)

    def slack_targets(self, event_type: str, view: TicketView | None) -> list[str]:
        """The Slack channel and user ids `event_type` about `view`'s ticket goes to, in the configured
        order without repeats; empty when none resolves (no assignee's Slack id, no channel for the team)."""
        resolved: list[str] = []
        for target in self.slack.events.get(event_type, ()):
            ident = self._resolve(target, view)
            if ident and ident not in resolved:
                resolved.append(ident)
        return resolved

    def team_channel(self, team: str | None) -> str | None:
        """The team's channel, else the default channel (also for tickets with no team), else None."""
        if team is not None and team in self.slack.team_channels:
            return self.slack.team_channels[team]
        return self.slack.default_channel

    def team_lead(self, team: str | None) -> str | None:
        """The team lead's Slack user id, else the team's channel (see `team_channel`), else None."""
        if team is not None and team in self.slack.team_leads:
            return self.slack.team_leads[team]
        return self.team_channel(team)

    def email_sender(self, team: str | None) -> EmailSender:
        """From and Reply-To for a team's emails: the team's entry, filled in from the default's."""
        default = self.email.default
        base = EmailSender(from_=default.from_ or self.default_from, reply_to=default.reply_to)
        team_config = self.email.teams.get(team) if team is not None else None
        if team_config is None:
            return base
        return EmailSender(
            from_=team_config.from_ or base.from_,
            reply_to=team_config.reply_to if "reply_to" in team_config.model_fields_set else base.reply_to,
        )

    def _resolve(self, target: str, view: TicketView | None) -> str | None:
        if target == ASSIGNEE:
            return view.slack_user_id if view is not None else None
        if target == TEAM_CHANNEL:
            return self.team_channel(view.team if view is not None else None)
        if target == TEAM_LEAD:
            return self.team_lead(view.team if view is not None else None)
        return target.partition(":")[2]


def load_routes(path: Path | None, *, default_from: str) -> NotificationRoutes:
    """The routes in `path` (YAML), or the defaults when `path` is None or the file is empty.

    `default_from` (settings.email_from) is the sender wherever the file names none.
    """
    try:
        _address(default_from)
    except ValueError as error:
        raise RoutesError(f"default sender: {error}") from None
    if path is None:
        return NotificationRoutes(default_from=default_from)
    try:
        raw = read_yaml(path, what="routes file")
    except ConfigFileError as error:
        raise RoutesError(str(error)) from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise RoutesError(
            f"routes file {path}: expected a mapping with `slack` and/or `email`, got {type(raw).__name__}"
        )
    try:
        return NotificationRoutes.model_validate({**raw, "default_from": default_from})
    except ValidationError as error:
        raise RoutesError(f"routes file {path}: {first_problem(error)}") from None
