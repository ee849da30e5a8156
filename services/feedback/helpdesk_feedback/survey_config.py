"""The feedback configuration file (`FEEDBACK_SURVEYS_FILE`, a ConfigMap): which survey, and what a low
score does.

    kinds:
      default: csat              # csat (1-5), nps (0-10) or ces (1-7)
      channels: {chat: ces}      # by the channel the ticket came in on
      teams: {sales: nps}        # by the ticket's team; a team's choice wins over its channel's
    follow_up:
      reopen: false              # a low score reopens the ticket (the team lead is told either way)
      teams: {billing: {reopen: true}}

Read once at start; a bad file stops the service with an error naming the file and the field.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from helpdesk_events import Channel, SurveyKind
from helpdesk_events.config_files import ConfigFileError, first_problem, read_yaml
from helpdesk_feedback.surveys import SurveyRules


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Kinds(_Strict):
    default: SurveyKind = SurveyKind.CSAT
    channels: dict[Channel, SurveyKind] = Field(default_factory=dict)
    teams: dict[str, SurveyKind] = Field(default_factory=dict)


class _TeamFollowUp(_Strict):
    reopen: bool


class _FollowUp(_Strict):
    reopen: bool = False
    teams: dict[str, _TeamFollowUp] = Field(default_factory=dict)


class _SurveysFile(_Strict):
    kinds: _Kinds = Field(default_factory=_Kinds)
    follow_up: _FollowUp = Field(default_factory=_FollowUp)

    @field_validator("kinds", "follow_up", mode="before")
    @classmethod
    def _empty_section(cls, value: object) -> object:
        # `kinds:` with nothing under it is YAML's null: the section's defaults, as if left out.
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise ValueError(f"expected a mapping, got {type(value).__name__}")
        return value

    def rules(self) -> SurveyRules:
        return SurveyRules(
            default_kind=self.kinds.default,
            kinds_by_channel={channel.value: kind for channel, kind in self.kinds.channels.items()},
            kinds_by_team=dict(self.kinds.teams),
            reopen_on_low_score=self.follow_up.reopen,
            reopen_by_team={team: entry.reopen for team, entry in self.follow_up.teams.items()},
        )


def parse_survey_rules(raw: object, *, source: str = "feedback surveys file") -> SurveyRules:
    if raw is None:
        return SurveyRules()
    if not isinstance(raw, dict):
        raise ConfigFileError(
            f"{source}: (top level): expected a mapping with `kinds` and/or `follow_up`, got {type(raw).__name__}"
        )
    try:
        return _SurveysFile.model_validate(raw).rules()
    except ValidationError as error:
        raise ConfigFileError(f"{source}: {first_problem(error)}") from None


def load_survey_rules(path: Path | None) -> SurveyRules:
    """The rules in `path`, or the defaults (CSAT for everyone, no reopening) without a file."""
    if path is None:
        return SurveyRules()
    return parse_survey_rules(read_yaml(path, what="feedback surveys file"), source=f"feedback surveys file {path}")
