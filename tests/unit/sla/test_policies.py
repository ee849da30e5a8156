"""SLA policy documents: parsing, every refusal named, and which policy a ticket's clocks run on."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from helpdesk_events import Channel, Priority
from helpdesk_events.sla import SlaMetric
from helpdesk_sla.calendar import ALWAYS_OPEN, BusinessCalendar
from helpdesk_sla.policies import (
    DEFAULT_CONFIG,
    LONGEST_TARGET,
    ChosenPolicy,
    SlaConfig,
    SlaConfigError,
    SlaPolicy,
    SlaProblem,
    Targets,
    iso_duration,
    load_config_file,
    parse_config,
    parse_config_yaml,
    parse_duration,
)

PARIS = ZoneInfo("Europe/Paris")

OFFICE_YAML = """
warning_share: 0.8
on_hold_pauses: false
calendars:
  - name: office-paris
    timezone: Europe/Paris
    weekly:
      mon: [[09:00, 17:00]]
      tue: [[09:00, 17:00]]
      wed: [["09:00", "17:00"]]
      thu: [[09:00, 17:00]]
      fri: [[09:00, 12:30], [13:30, 17:00]]
    holidays: [2025-12-25]
policies:
  - name: vip
    calendar: 24/7
    when: {customer_tiers: [Gold, platinum], channels: [chat, VOICE]}
    targets:
      urgent: {first_reply: PT15M, next_reply: PT30M, resolution: PT4H}
      high: {first_reply: PT1H}
  - name: standard
    calendar: office-paris
    targets:
      urgent: {first_reply: PT1H, resolution: P1D}
      normal: {first_reply: PT8H, next_reply: P1D, resolution: P3DT4H}
"""


def office_config() -> SlaConfig:
    return parse_config_yaml(OFFICE_YAML)


def document(**overrides: object) -> dict[str, object]:
    """A valid document as JSON would carry it; overrides replace top-level keys."""
    base: dict[str, object] = {
        "calendars": [
            {"name": "office", "timezone": "Europe/Paris", "weekly": {"mon": [["09:00", "17:00"]]}},
        ],
        "policies": [
            {"name": "standard", "calendar": "office", "targets": {"normal": {"first_reply": "PT8H"}}},
            {"name": "vip", "calendar": "24/7", "targets": {"urgent": {"first_reply": "PT1H"}}},
        ],
    }
    base.update(overrides)
    return base


def refusal(data: object) -> SlaConfigError:
    with pytest.raises(SlaConfigError) as caught:
        parse_config(data)  # type: ignore[arg-type]
    return caught.value


# --- durations ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("PT4H", timedelta(hours=4)),
        ("PT10S", timedelta(seconds=10)),
        ("P1DT2H", timedelta(days=1, hours=2)),
        ("PT1H30M", timedelta(hours=1, minutes=30)),
        ("P2W", timedelta(days=14)),
        ("P3D", timedelta(days=3)),
        ("PT90M", timedelta(minutes=90)),
        ("pt15m", timedelta(minutes=15)),
        ("PT1.0S", timedelta(seconds=1)),
        ("P366D", LONGEST_TARGET),
    ],
)
def test_iso_8601_durations_are_targets(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("P1M", "months and years"),
        ("P1Y", "months and years"),
        ("P1Y2M3D", "months and years"),
        ("PT0S", "longer than zero"),
        ("P0D", "longer than zero"),
        ("-PT1H", "not an ISO 8601 duration"),
        ("PT0.5S", "whole seconds"),
        ("PT1.25S", "whole seconds"),
        ("P", "not an ISO 8601 duration"),
        ("PT", "not an ISO 8601 duration"),
        ("P1DT", "not an ISO 8601 duration"),
        ("4 hours", "not an ISO 8601 duration"),
        ("01:00:00", "not an ISO 8601 duration"),
        ("", "not an ISO 8601 duration"),
        ("P367D", "too long"),
        ("P99999999999999999999D", "too long"),
        (3600, "write a string"),
        (1.5, "write a string"),
        (True, "write a string"),
        (timedelta(0), "longer than zero"),
        (timedelta(seconds=-5), "longer than zero"),
        (timedelta(milliseconds=1500), "whole seconds"),
    ],
)
def test_durations_that_are_not_targets_are_refused(value: object, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        parse_duration(value)


@given(st.integers(min_value=1, max_value=int(LONGEST_TARGET.total_seconds())))
def test_a_target_written_back_reads_the_same(seconds: int) -> None:
    target = timedelta(seconds=seconds)
    text = iso_duration(target)
    assert text.startswith("P")
    assert parse_duration(text) == target


def test_targets_give_each_metric_and_leave_out_the_missing_ones() -> None:
    targets = Targets(first_reply="PT4H", resolution="P2D")
    assert targets.target(SlaMetric.FIRST_REPLY) == timedelta(hours=4)
    assert targets.target("resolution") == timedelta(days=2)
    assert targets.target(SlaMetric.NEXT_REPLY) is None
    assert targets.document() == {"first_reply": "PT4H", "resolution": "P2D"}


def test_targets_with_no_metric_at_all_are_refused() -> None:
    with pytest.raises(ValidationError, match="at least one of first_reply"):
        Targets()


# --- the default -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("priority", "first_reply", "next_reply", "resolution"),
    [
        (Priority.URGENT, timedelta(hours=1), timedelta(hours=2), timedelta(hours=8)),
        (Priority.HIGH, timedelta(hours=4), timedelta(hours=8), timedelta(days=1)),
        (Priority.NORMAL, timedelta(hours=8), timedelta(days=1), timedelta(days=3)),
        (Priority.LOW, timedelta(days=1), timedelta(days=2), timedelta(days=5)),
    ],
)
def test_the_default_is_one_standard_policy_around_the_clock(
    priority: Priority, first_reply: timedelta, next_reply: timedelta, resolution: timedelta
) -> None:
    chosen = DEFAULT_CONFIG.choose(priority, customer_tier=None, channel=Channel.EMAIL, named=None)
    assert chosen == ChosenPolicy(
        "standard",
        ALWAYS_OPEN,
        Targets(first_reply=first_reply, next_reply=next_reply, resolution=resolution),
    )
    assert DEFAULT_CONFIG.warning_share == 0.75
    assert DEFAULT_CONFIG.on_hold_pauses is True


def test_the_default_reads_back_from_its_own_document() -> None:
    assert parse_config(DEFAULT_CONFIG.document()) == DEFAULT_CONFIG


# --- a document --------------------------------------------------------------------------------


def test_a_yaml_document_with_unquoted_hours_and_dates_is_read_as_written() -> None:
    config = office_config()
    assert config.warning_share == 0.8
    assert config.on_hold_pauses is False
    office = config.calendar("office-paris")
    assert isinstance(office, BusinessCalendar)
    assert office.timezone == "Europe/Paris"
    # YAML 1.1 would read 17:00 as 1020 (base 60) and 12:30 as 750: the hours must be the written ones.
    assert office.is_open(datetime(2025, 12, 2, 16, 59, tzinfo=PARIS))  # a Tuesday
    assert not office.is_open(datetime(2025, 12, 2, 17, 0, tzinfo=PARIS))
    assert not office.is_open(datetime(2025, 12, 5, 13, 0, tzinfo=PARIS))  # Friday lunch
    assert office.is_open(datetime(2025, 12, 5, 13, 30, tzinfo=PARIS))
    assert not office.is_open(datetime(2025, 12, 25, 10, 0, tzinfo=PARIS))  # the holiday, a Thursday
    assert office.is_open(datetime(2025, 12, 18, 10, 0, tzinfo=PARIS))  # the Thursday before
    standard = config.policy("standard")
    assert standard is not None
    assert standard.targets[Priority.NORMAL].resolution == timedelta(days=3, hours=4)
    assert standard.targets[Priority.NORMAL].next_reply == timedelta(days=1)
    vip = config.policy("vip")
    assert vip is not None
    assert vip.when.customer_tiers == ("gold", "platinum")
    assert vip.when.channels == (Channel.CHAT, Channel.VOICE)


def test_the_document_reads_back_the_same_as_json_and_as_yaml() -> None:
    config = office_config()
    written = config.document()
    assert written["policies"][1]["targets"]["normal"] == {  # type: ignore[index]
        "first_reply": "PT8H",
        "next_reply": "P1D",
        "resolution": "P3DT4H",
    }
    assert parse_config(json.loads(json.dumps(written))) == config
    assert parse_config_yaml(yaml.safe_dump(written)) == config


def test_an_empty_document_has_no_policies_and_chooses_nothing() -> None:
    for empty in (parse_config({}), parse_config_yaml(""), parse_config_yaml("# nothing yet\n")):
        assert empty.policies == ()
        assert empty.choose(Priority.URGENT, customer_tier="gold", channel="chat", named="vip") is None


def test_the_always_open_calendar_needs_no_declaration_and_unknown_names_are_refused() -> None:
    config = office_config()
    assert config.calendar("24/7") is ALWAYS_OPEN
    with pytest.raises(KeyError, match="'nowhere'"):
        config.calendar("nowhere")
    assert config.policy("nowhere") is None


# --- refusals ----------------------------------------------------------------------------------


def test_a_bad_target_names_the_policy_the_priority_and_the_metric() -> None:
    data = document()
    data["policies"][1]["targets"]["urgent"]["first_reply"] = "P1M"  # type: ignore[index]
    error = refusal(data)
    assert error.problems == (
        SlaProblem(1, "vip", "targets.urgent.first_reply", error.problems[0].message, "policies"),
    )
    assert "months and years" in error.problems[0].message
    assert str(error).startswith("policies[1] ('vip') targets.urgent.first_reply: ")


@pytest.mark.parametrize(
    ("policy_change", "field", "says"),
    [
        ({"targets": {"urgent": {"first_reply": "PT0S"}}}, "targets.urgent.first_reply", "longer than zero"),
        ({"targets": {"urgent": {"resolution": 7200}}}, "targets.urgent.resolution", "write a string"),
        (
            {"targets": {"urgent": {"first_reply": "PT1H", "first_response": "PT1H"}}},
            "targets.urgent.first_response",
            "Extra inputs",
        ),
        (
            {"targets": {"critical": {"first_reply": "PT1H"}}},
            "targets.critical",
            "'critical' is not a priority",
        ),
        ({"targets": {}}, "targets", "at least one priority"),
        ({"targets": {"urgent": {}}}, "targets.urgent", "at least one of first_reply"),
        ({"calendar": "office-london"}, "calendar", "no calendar named 'office-london'"),
        ({"when": {"channels": ["pigeon"]}}, "when.channels.0", "'pigeon' is not one of"),
        ({"when": {"customer_tiers": ["gold!"]}}, "when.customer_tiers", "not a tier label"),
        ({"when": {"languages": ["fr"]}}, "when.languages", "Extra inputs"),
        ({"escalate": True}, "escalate", "Extra inputs"),
    ],
)
def test_each_refusal_names_the_policy_and_the_field(
    policy_change: dict[str, object], field: str, says: str
) -> None:
    data = document()
    data["policies"][1].update(policy_change)  # type: ignore[index]
    error = refusal(data)
    [problem] = error.problems
    assert (problem.section, problem.index, problem.name, problem.field) == ("policies", 1, "vip", field)
    assert says in problem.message
    assert str(problem).startswith(f"policies[1] ('vip') {field}: ")


def test_a_policy_without_a_calendar_is_refused_rather_than_guessed() -> None:
    data = document()
    del data["policies"][0]["calendar"]  # type: ignore[attr-defined,index]
    [problem] = refusal(data).problems
    assert (problem.index, problem.name, problem.field) == (0, "standard", "calendar")
    assert "required" in problem.message.lower()


def test_names_must_be_unique_and_24_7_is_not_a_calendar_name() -> None:
    calendar = {"name": "office", "timezone": "UTC", "weekly": {"tue": [["08:00", "16:00"]]}}
    reserved = {"name": "24/7", "timezone": "UTC", "weekly": {"tue": [["08:00", "16:00"]]}}
    policy = {"name": "vip", "calendar": "24/7", "targets": {"low": {"resolution": "P5D"}}}
    data = document(calendars=[*document()["calendars"], calendar, reserved])  # type: ignore[misc]
    data["policies"] = [*data["policies"], policy]  # type: ignore[misc]
    problems = refusal(data).problems
    assert [(p.section, p.index, p.name, p.field) for p in problems] == [
        ("calendars", 1, "office", "name"),
        ("calendars", 2, "24/7", "name"),
        ("policies", 2, "vip", "name"),
    ]
    assert "used twice" in problems[0].message and "reserved" in problems[1].message
    assert "used twice" in problems[2].message


def test_a_policy_on_a_calendar_that_never_opens_is_refused() -> None:
    closed = {"name": "closed", "timezone": "UTC", "weekly": {}}
    data = document(calendars=[*document()["calendars"], closed])  # type: ignore[misc]
    assert parse_config(data).calendar("closed").has_business_hours is False  # unused: fine
    data["policies"][0]["calendar"] = "closed"  # type: ignore[index]
    [problem] = refusal(data).problems
    assert (problem.index, problem.name, problem.field) == (0, "standard", "calendar")
    assert "no business hours" in problem.message
    with pytest.raises(ValidationError, match="no business hours"):
        SlaConfig(
            calendars=(BusinessCalendar(name="closed", timezone="UTC"),),
            policies=(SlaPolicy(name="x", calendar="closed", targets={"low": {"resolution": "P1D"}}),),
        )


def test_a_bad_calendar_is_named_in_the_calendars_section() -> None:
    data = document(calendars=[{"name": "office", "timezone": "Mars/Olympus", "weekly": {}}])
    problems = refusal(data).problems
    assert {(p.section, p.index, p.name) for p in problems} == {("calendars", 0, "office")}
    assert any("timezone" in p.field or "Mars/Olympus" in p.message for p in problems)


def test_every_problem_is_reported_at_once() -> None:
    data = document(warning_share=1.0)
    data["policies"][0]["targets"]["normal"]["first_reply"] = "soon"  # type: ignore[index]
    data["policies"][1]["calendar"] = "moon-base"  # type: ignore[index]
    problems = refusal(data).problems
    assert [(p.section, p.index, p.field) for p in problems] == [
        ("policies", 0, "targets.normal.first_reply"),
        (None, None, "warning_share"),
        ("policies", 1, "calendar"),
    ]
    assert str(problems[1]).startswith("document warning_share: ")


@pytest.mark.parametrize("share", [0, 0.0, 1, -0.5, 1.5, "most"])
def test_the_warning_share_lies_strictly_between_zero_and_one(share: object) -> None:
    [problem] = refusal(document(warning_share=share)).problems
    assert problem.field == "warning_share"


@pytest.mark.parametrize("data", [None, [], "policies: []", 42])
def test_a_document_that_is_not_a_mapping_is_refused(data: object) -> None:
    [problem] = refusal(data).problems
    assert problem.section is None and "mapping" in problem.message


def test_unknown_top_level_keys_are_refused() -> None:
    [problem] = refusal(document(warning=0.5)).problems
    assert (problem.section, problem.field) == (None, "warning")


def test_problems_serialize_for_a_422() -> None:
    data = document()
    data["policies"][0]["calendar"] = "nowhere"  # type: ignore[index]
    [problem] = refusal(data).problems
    assert json.loads(json.dumps(problem.as_dict())) == {
        "index": 0,
        "name": "standard",
        "field": "calendar",
        "message": problem.message,
        "section": "policies",
    }


def test_a_config_built_in_code_is_checked_too() -> None:
    policy = SlaPolicy(name="x", calendar="office", targets={Priority.LOW: Targets(resolution="P1D")})
    with pytest.raises(ValidationError, match="no calendar named 'office'"):
        SlaConfig(policies=(policy,))
    with pytest.raises(ValidationError, match="used twice"):
        SlaConfig(policies=(policy.model_copy(update={"calendar": "24/7"}),) * 2)


# --- the file ----------------------------------------------------------------------------------


def test_the_policies_file_is_yaml(tmp_path) -> None:
    path = tmp_path / "sla.yaml"
    path.write_text(OFFICE_YAML, encoding="utf-8")
    assert load_config_file(path) == office_config()
    assert load_config_file(str(path)) == office_config()


def test_a_refused_file_names_the_file_the_policy_and_the_field(tmp_path) -> None:
    path = tmp_path / "sla.yaml"
    path.write_text(OFFICE_YAML.replace("first_reply: PT8H", "first_reply: P1Y"), encoding="utf-8")
    with pytest.raises(SlaConfigError) as caught:
        load_config_file(path)
    assert str(caught.value).startswith(f"{path}: policies[1] ('standard') targets.normal.first_reply: ")


@pytest.mark.parametrize(
    ("content", "says"),
    [(None, "cannot read"), ("policies: [unclosed\n", "not valid YAML"), (b"\xff\xfe\x00bad", "cannot read")],
)
def test_an_unreadable_file_is_refused_with_its_name(
    tmp_path, content: str | bytes | None, says: str
) -> None:
    path = tmp_path / "sla.yaml"
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    elif isinstance(content, bytes):
        path.write_bytes(content)
    with pytest.raises(SlaConfigError, match=says) as caught:
        load_config_file(path)
    assert str(path) in str(caught.value)


# --- choosing ----------------------------------------------------------------------------------


def test_the_policy_triage_named_wins_over_the_order_and_its_conditions() -> None:
    config = office_config()
    chosen = config.choose(Priority.URGENT, customer_tier=None, channel=Channel.EMAIL, named="vip")
    assert chosen is not None
    assert chosen.policy_name == "vip"
    assert chosen.calendar is ALWAYS_OPEN
    assert chosen.targets.first_reply == timedelta(minutes=15)


def test_a_named_policy_without_targets_for_the_priority_falls_back_to_the_order() -> None:
    config = office_config()
    chosen = config.choose(Priority.NORMAL, customer_tier="gold", channel=Channel.CHAT, named="vip")
    assert chosen is not None and chosen.policy_name == "standard"
    assert chosen.calendar == config.calendar("office-paris")


def test_an_unknown_named_policy_falls_back_to_the_order() -> None:
    chosen = office_config().choose("urgent", customer_tier="gold", channel="chat", named="retired-policy")
    assert chosen is not None and chosen.policy_name == "vip"


@pytest.mark.parametrize(
    ("tier", "channel", "expected"),
    [
        ("gold", Channel.CHAT, "vip"),
        ("GOLD", "Voice", "vip"),
        ("platinum", "voice", "vip"),
        ("gold", Channel.EMAIL, "standard"),
        ("silver", Channel.CHAT, "standard"),
        (None, Channel.CHAT, "standard"),
        ("gold", None, "standard"),
    ],
)
def test_the_first_policy_whose_conditions_match_is_chosen(
    tier: str | None, channel: Channel | str | None, expected: str
) -> None:
    chosen = office_config().choose(Priority.URGENT, customer_tier=tier, channel=channel, named=None)
    assert chosen is not None and chosen.policy_name == expected


def test_no_policy_for_the_priority_means_no_clocks() -> None:
    config = office_config()
    assert config.choose(Priority.LOW, customer_tier="gold", channel="chat", named="vip") is None
    # vip covers high but not for an email from a silver customer, and standard has no high targets
    assert config.choose(Priority.HIGH, customer_tier="silver", channel="email", named=None) is None
    high = config.choose(Priority.HIGH, customer_tier="gold", channel="chat", named=None)
    assert high is not None and high.targets == Targets(first_reply=timedelta(hours=1))


def test_an_unknown_priority_is_an_error_not_a_silent_miss() -> None:
    with pytest.raises(ValueError):
        office_config().choose("critical", customer_tier=None, channel=None, named=None)


# --- properties --------------------------------------------------------------------------------

TIERS = ("gold", "silver", "bronze")
CHANNELS = tuple(Channel)
NAMES = ("alpha", "beta", "gamma", "delta", "epsilon")

targets_strategy = st.builds(
    Targets,
    first_reply=st.integers(1, 10**6).map(lambda s: timedelta(seconds=s)),
    next_reply=st.none() | st.integers(1, 10**6).map(lambda s: timedelta(seconds=s)),
    resolution=st.none() | st.integers(1, 10**6).map(lambda s: timedelta(seconds=s)),
)


@st.composite
def configs(draw: st.DrawFn) -> SlaConfig:
    names = draw(st.lists(st.sampled_from(NAMES), unique=True, max_size=len(NAMES)))
    calendar = BusinessCalendar(name="office", timezone="Europe/Paris", weekly={"wed": [["08:00", "20:00"]]})
    policies = [
        SlaPolicy(
            name=name,
            calendar=draw(st.sampled_from(["24/7", "office"])),
            when={
                "customer_tiers": draw(st.lists(st.sampled_from(TIERS), max_size=2)),
                "channels": draw(st.lists(st.sampled_from(CHANNELS), max_size=2)),
            },
            targets=draw(st.dictionaries(st.sampled_from(list(Priority)), targets_strategy, min_size=1)),
        )
        for name in names
    ]
    return SlaConfig(
        calendars=(calendar,),
        policies=tuple(policies),
        warning_share=draw(st.floats(0.01, 0.99)),
        on_hold_pauses=draw(st.booleans()),
    )


@settings(max_examples=200, deadline=None)
@given(
    configs(),
    st.sampled_from(list(Priority)),
    st.none() | st.sampled_from(TIERS),
    st.none() | st.sampled_from(CHANNELS),
    st.none() | st.sampled_from((*NAMES, "unknown")),
)
def test_choose_follows_the_named_policy_then_the_order(
    config: SlaConfig, priority: Priority, tier: str | None, channel: Channel | None, named: str | None
) -> None:
    chosen = config.choose(priority, customer_tier=tier, channel=channel, named=named)
    named_policy = config.policy(named) if named else None
    candidates = [
        policy
        for policy in config.policies
        if priority in policy.targets and policy.when.match(customer_tier=tier, channel=channel)
    ]
    if named_policy is not None and priority in named_policy.targets:
        expected = named_policy
    elif candidates:
        expected = candidates[0]
    else:
        assert chosen is None
        return
    assert chosen == ChosenPolicy(
        expected.name, config.calendar(expected.calendar), expected.targets[priority]
    )


@settings(max_examples=100, deadline=None)
@given(configs())
def test_every_document_reads_back_the_same(config: SlaConfig) -> None:
    written = config.document()
    assert parse_config(json.loads(json.dumps(written))) == config
    assert parse_config_yaml(yaml.safe_dump(written)) == config
