"""The feedback surveys file: defaults, the documented example, and errors naming the file and the field."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from helpdesk_events import SurveyKind
from helpdesk_events.config_files import ConfigFileError
from helpdesk_feedback.survey_config import load_survey_rules, parse_survey_rules
from helpdesk_feedback.surveys import SurveyRules

EXAMPLE = """\
kinds:
  default: csat              # csat (1-5), nps (0-10) or ces (1-7)
  channels: {chat: ces}      # by the channel the ticket came in on
  teams: {sales: nps}        # by the ticket's team; a team's choice wins over its channel's
follow_up:
  reopen: false              # a low score reopens the ticket (the team lead is told either way)
  teams: {billing: {reopen: true}}
"""

EXAMPLE_RULES = SurveyRules(
    default_kind=SurveyKind.CSAT,
    kinds_by_channel={"chat": SurveyKind.CES},
    kinds_by_team={"sales": SurveyKind.NPS},
    reopen_on_low_score=False,
    reopen_by_team={"billing": True},
)


# ---- parse_survey_rules ------------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", [None, {}, {"kinds": {}, "follow_up": {}}, {"kinds": None, "follow_up": None}])
def test_nothing_configured_gives_the_defaults(raw: object) -> None:
    assert parse_survey_rules(raw) == SurveyRules()
    assert SurveyRules() == SurveyRules(SurveyKind.CSAT, {}, {}, False, {})


def test_the_documented_example() -> None:
    rules = parse_survey_rules(yaml.safe_load(EXAMPLE))
    assert rules == EXAMPLE_RULES
    # Channels come out as plain strings, as the ticket stream gives them.
    assert all(type(channel) is str for channel in rules.kinds_by_channel)
    assert all(
        isinstance(kind, SurveyKind) for kind in (*rules.kinds_by_channel.values(), rules.default_kind)
    )


def test_every_kind_and_channel_is_understood() -> None:
    channels = ["email", "web", "api", "chat", "social", "voice"]
    raw = {"kinds": {"default": "nps", "channels": dict.fromkeys(channels, "ces"), "teams": {"vip": "csat"}}}
    rules = parse_survey_rules(raw)
    assert rules.default_kind is SurveyKind.NPS
    assert rules.kinds_by_channel == dict.fromkeys(channels, SurveyKind.CES)
    assert rules.kinds_by_team == {"vip": SurveyKind.CSAT}


def test_reopen_everywhere_but_one_team() -> None:
    rules = parse_survey_rules({"follow_up": {"reopen": True, "teams": {"vip": {"reopen": False}}}})
    assert (rules.reopen_on_low_score, rules.reopen_by_team) == (True, {"vip": False})
    assert rules.reopens("support") and not rules.reopens("vip")


@pytest.mark.parametrize(
    ("raw", "field", "says"),
    [
        ({"kinds": {"default": "ces5"}}, "kinds.default", "'csat', 'nps' or 'ces'"),
        ({"kinds": {"default": "CSAT"}}, "kinds.default", "'csat', 'nps' or 'ces'"),
        ({"kinds": {"channels": {"fax": "csat"}}}, "kinds.channels.fax", "'email', 'web'"),
        ({"kinds": {"teams": {"sales": "stars"}}}, "kinds.teams.sales", "'csat', 'nps' or 'ces'"),
        ({"kinds": {"deafult": "nps"}}, "kinds.deafult", "Extra inputs are not permitted"),
        ({"kind": {"default": "nps"}}, "kind", "Extra inputs are not permitted"),
        ({"follow_up": {"reopen": "maybe"}}, "follow_up.reopen", "valid boolean"),
        ({"follow_up": {"teams": {"billing": {}}}}, "follow_up.teams.billing.reopen", "Field required"),
        ({"follow_up": {"teams": {"billing": True}}}, "follow_up.teams.billing", "valid dictionary"),
        ({"follow_up": {"teams": {"billing": {"reopen": True, "notify": "lead"}}}},
         "follow_up.teams.billing.notify", "Extra inputs"),
        (["kinds"], "(top level)", "expected a mapping with `kinds` and/or `follow_up`, got list"),
        ("csat", "(top level)", "expected a mapping with `kinds` and/or `follow_up`, got str"),
        ({"kinds": ["csat"]}, "kinds", "expected a mapping, got list"),
    ],
)  # fmt: skip
def test_a_bad_file_names_the_field(raw: object, field: str, says: str) -> None:
    with pytest.raises(ConfigFileError) as error:
        parse_survey_rules(raw, source="feedback surveys file /etc/helpdesk/surveys.yaml")
    message = str(error.value)
    assert message.startswith(f"feedback surveys file /etc/helpdesk/surveys.yaml: {field}")
    assert says in message


def test_several_problems_report_the_first_and_count_the_rest() -> None:
    with pytest.raises(ConfigFileError, match=r"\(and 2 more\)"):
        parse_survey_rules({"kinds": {"default": "x", "teams": {"a": "y"}}, "follow_up": {"reopen": "z"}})


def test_config_errors_are_value_errors() -> None:
    with pytest.raises(ValueError, match="^feedback surveys file: kinds.default"):
        parse_survey_rules({"kinds": {"default": "x"}})


# ---- load_survey_rules -------------------------------------------------------------------------------------


def test_no_file_gives_the_defaults() -> None:
    assert load_survey_rules(None) == SurveyRules()


def test_loads_the_documented_example(tmp_path: Path) -> None:
    path = tmp_path / "surveys.yaml"
    path.write_text(EXAMPLE, encoding="utf-8")
    assert load_survey_rules(path) == EXAMPLE_RULES


@pytest.mark.parametrize("text", ["", "# nothing configured yet\n", "---\n"])
def test_an_empty_file_gives_the_defaults(tmp_path: Path, text: str) -> None:
    path = tmp_path / "surveys.yaml"
    path.write_text(text, encoding="utf-8")
    assert load_survey_rules(path) == SurveyRules()


def test_a_bad_field_names_the_file_and_the_field(tmp_path: Path) -> None:
    path = tmp_path / "surveys.yaml"
    path.write_text("kinds:\n  channels: {chat: effort}\n", encoding="utf-8")
    with pytest.raises(ConfigFileError) as error:
        load_survey_rules(path)
    assert str(error.value).startswith(f"feedback surveys file {path}: kinds.channels.chat:")


def test_a_missing_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.yaml"
    with pytest.raises(ConfigFileError) as error:
        load_survey_rules(path)
    assert str(error.value).startswith(f"feedback surveys file {path}: cannot be read")


def test_a_file_that_is_not_yaml_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "surveys.yaml"
    path.write_text("kinds: {default: csat\n", encoding="utf-8")
    with pytest.raises(ConfigFileError) as error:
        load_survey_rules(path)
    assert str(error.value).startswith(f"feedback surveys file {path}: not valid YAML")
