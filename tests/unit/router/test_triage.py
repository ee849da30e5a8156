"""Triage rules: each condition kind, the evaluation semantics, and how bad rule sets are refused."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from helpdesk_events import Priority, Requester, TicketCreated
from helpdesk_router.rule_file import RuleFileError, load_rule_file
from helpdesk_router.triage import InvalidRuleSet, RuleSet, parse_rule_set, triage

NOON_UTC = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def ticket(**fields: Any) -> TicketCreated:
    defaults: dict[str, Any] = {
        "subject": "Question",
        "body": "Hello.",
        "requester": Requester(email="sam@example.com"),
        "channel": "web",
        "message_id": "m1",
    }
    return TicketCreated(**{**defaults, **fields})


def rules(*rules: dict[str, Any]) -> RuleSet:
    return parse_rule_set({"rules": list(rules)})


def matches(when: dict[str, Any], tkt: TicketCreated, now: datetime = NOON_UTC) -> bool:
    return triage(rules({"name": "r", "when": when}), tkt, now).matched_rules == ("r",)


def test_no_rules_keep_the_ticket_as_it_came() -> None:
    decision = triage(RuleSet(), ticket(priority="high", tags=("login",)), NOON_UTC)
    assert (decision.priority, decision.tags, decision.required_skills, decision.matched_rules) == (
        Priority.HIGH,
        ("login",),
        (),
        (),
    )
    assert (decision.category, decision.team, decision.sla_policy) == (None, None, None)


@pytest.mark.parametrize(
    ("when", "fields", "expected"),
    [
        ({"channels": ["email", "chat"]}, {"channel": "chat"}, True),
        ({"channels": ["email"]}, {"channel": "web"}, False),
        ({"keywords": ["REFUND"]}, {"body": "I want a refund now"}, True),
        ({"keywords": ["refund"]}, {"subject": "Refund please"}, True),
        ({"keywords": ["refund"]}, {"body": "nothing here"}, False),
        ({"subject_keywords": ["outage"]}, {"subject": "Total OUTAGE"}, True),
        ({"subject_keywords": ["outage"]}, {"body": "outage"}, False),
        ({"body_keywords": ["invoice"]}, {"body": "Invoice missing"}, True),
        ({"body_keywords": ["invoice"]}, {"subject": "invoice"}, False),
        ({"subject_pattern": r"INV-\d{4}"}, {"subject": "About INV-2026"}, True),
        ({"subject_pattern": r"INV-\d{4}"}, {"subject": "about inv-2026"}, False),  # case as written
        ({"subject_pattern": r"(?i)INV-\d{4}"}, {"subject": "about inv-2026"}, True),
        ({"body_pattern": r"^order \d+$"}, {"body": "order 42"}, True),
        ({"body_pattern": r"^order \d+$"}, {"body": "my order 42"}, False),
        ({"requester_domains": ["Example.COM"]}, {"requester": Requester(email="a@EXAMPLE.com")}, True),
        ({"requester_domains": ["@example.com"]}, {"requester": Requester(email="a@sub.example.com")}, False),
        ({"tags_any": ["vip", "press"]}, {"tags": ("Press",)}, True),
        ({"tags_any": ["vip", "press"]}, {"tags": ("other",)}, False),
        ({"tags_all": ["vip", "billing"]}, {"tags": ("billing", "vip", "x")}, True),
        ({"tags_all": ["vip", "billing"]}, {"tags": ("vip",)}, False),
        ({"priorities": ["high", "urgent"]}, {"priority": "urgent"}, True),
        ({"priorities": ["high", "urgent"]}, {"priority": "normal"}, False),
        ({"customer_tiers": ["Gold", "platinum"]}, {"customer_tier": "gold"}, True),
        ({"customer_tiers": ["gold", "platinum"]}, {"customer_tier": "GOLD"}, True),
        ({"customer_tiers": ["gold", "platinum"]}, {"customer_tier": "silver"}, False),
        ({"customer_tiers": ["gold"]}, {}, False),  # no tier known: a tier rule does not apply
        ({"languages": ["fr", "de"]}, {"language": "de"}, True),
        ({"languages": ["fr", "de"]}, {"language": "en"}, False),
        ({"languages": ["FR"]}, {"language": "fr"}, True),
        ({"languages": ["pt"]}, {"language": "pt-br"}, True),  # a primary tag covers its regions
        ({"languages": ["pt"]}, {"language": "PT-BR"}, True),
        ({"languages": ["pt-BR"]}, {"language": "pt-br"}, True),
        ({"languages": ["pt-br"]}, {"language": "pt-pt"}, False),  # a region names only itself
        ({"languages": ["pt-br"]}, {"language": "pt"}, False),
        ({"languages": ["pt"]}, {"language": "ptx"}, False),  # a subtag, not a string prefix
        ({"languages": ["zh-hant"]}, {"language": "zh-hant-tw"}, False),  # only a bare primary tag widens
        ({"languages": ["fr"]}, {}, False),  # no language known: a language rule does not apply
        ({}, {}, True),
    ],
)
def test_each_condition_kind(when: dict[str, Any], fields: dict[str, Any], expected: bool) -> None:
    assert matches(when, ticket(**fields)) is expected


def test_all_conditions_of_a_rule_must_hold() -> None:
    when = {"channels": ["email"], "keywords": ["refund"]}
    assert matches(when, ticket(channel="email", body="refund"))
    assert not matches(when, ticket(channel="web", body="refund"))
    assert not matches(when, ticket(channel="email", body="hello"))


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (datetime(2026, 11, 23, 8, 0, tzinfo=UTC), True),  # 09:00 in Paris (CET, UTC+1): start included
        (datetime(2026, 11, 23, 7, 59, tzinfo=UTC), False),
        (datetime(2026, 11, 23, 16, 0, tzinfo=UTC), False),  # 17:00 in Paris: end excluded
        (datetime(2026, 11, 23, 15, 59, tzinfo=UTC), True),
        # Summer time (CEST, UTC+2): the same UTC instants fall differently.
        (datetime(2026, 7, 1, 7, 0, tzinfo=UTC), True),  # 09:00 in Paris
        (datetime(2026, 7, 1, 15, 30, tzinfo=UTC), False),  # 17:30 in Paris
        # The day clocks go forward (29 March 2026, 02:00 -> 03:00): 07:30 UTC is 09:30 CEST.
        (datetime(2026, 3, 29, 7, 30, tzinfo=UTC), True),
        (datetime(2026, 3, 28, 7, 30, tzinfo=UTC), False),  # the day before: 08:30 CET
    ],
)
def test_time_of_day_is_read_in_the_rule_s_time_zone_across_daylight_saving(
    now: datetime, expected: bool
) -> None:
    when = {"time_of_day": {"start": "09:00", "end": "17:00", "timezone": "Europe/Paris"}}
    assert matches(when, ticket(), now) is expected


@pytest.mark.parametrize(
    ("hour", "minute", "expected"),
    [
        (22, 0, True),
        (23, 59, True),
        (0, 0, True),
        (5, 59, True),
        (6, 0, False),
        (12, 0, False),
        (21, 59, False),
    ],
)
def test_a_time_window_may_run_across_midnight(hour: int, minute: int, expected: bool) -> None:
    when = {"time_of_day": {"start": "22:00", "end": "06:00", "timezone": "America/New_York"}}
    local = datetime(2026, 11, 23, hour, minute, tzinfo=ZoneInfo("America/New_York"))
    assert matches(when, ticket(), local.astimezone(UTC)) is expected


def test_all_matching_rules_apply_in_order_later_values_override_tags_and_skills_accumulate() -> None:
    rule_set = rules(
        {
            "name": "billing",
            "when": {"keywords": ["invoice"]},
            "then": {
                "priority": "high",
                "category": "billing",
                "add_tags": ["billing"],
                "required_skills": ["Billing"],
                "team": "Finance Desk",
                "sla_policy": "standard",
            },
        },
        {
            "name": "not-matching",
            "when": {"channels": ["voice"]},
            "then": {"priority": "low", "add_tags": ["no"]},
        },
        {
            "name": "vip",
            "when": {"requester_domains": ["bigcorp.com"]},
            "then": {
                "priority": "urgent",
                "sla_policy": "vip",
                "add_tags": ["vip", "billing"],
                "required_skills": ["vip"],
            },
        },
        {"name": "everything", "then": {"add_tags": ["triaged"]}},
    )
    decision = triage(
        rule_set,
        ticket(body="my invoice", requester=Requester(email="a@bigcorp.com"), tags=("web",)),
        NOON_UTC,
    )
    assert decision.matched_rules == ("billing", "vip", "everything")
    assert decision.priority is Priority.URGENT  # the later rule wins
    assert decision.sla_policy == "vip"
    assert decision.category == "billing"  # kept: no later rule set it
    assert decision.team == "finance-desk"  # normalized like agents' teams
    assert decision.tags == ("web", "billing", "vip", "triaged")  # the ticket's own first, no duplicates
    assert decision.required_skills == ("billing", "vip")


def test_a_matching_rule_with_stop_ends_the_evaluation_and_a_non_matching_one_does_not() -> None:
    rule_set = rules(
        {"name": "skipped-stop", "when": {"channels": ["voice"]}, "then": {"priority": "low"}, "stop": True},
        {
            "name": "press",
            "when": {"tags_any": ["press"]},
            "then": {"priority": "urgent", "team": "comms"},
            "stop": True,
        },
        {"name": "never-reached", "then": {"priority": "low", "team": "other"}},
    )
    decision = triage(rule_set, ticket(tags=("press",)), NOON_UTC)
    assert decision.matched_rules == ("press",)
    assert (decision.priority, decision.team) == (Priority.URGENT, "comms")
    assert triage(rule_set, ticket(), NOON_UTC).matched_rules == ("never-reached",)


def test_conditions_see_the_ticket_as_it_came_not_earlier_actions() -> None:
    rule_set = rules(
        {"name": "raise", "then": {"priority": "urgent", "add_tags": ["escalated"]}},
        {"name": "on-urgent", "when": {"priorities": ["urgent"]}, "then": {"category": "x"}},
        {"name": "on-tag", "when": {"tags_any": ["escalated"]}, "then": {"category": "y"}},
    )
    assert triage(rule_set, ticket(), NOON_UTC).matched_rules == ("raise",)


def problems_of(raw: object) -> list[tuple[int | None, str | None, str, str]]:
    with pytest.raises(InvalidRuleSet) as refused:
        parse_rule_set(raw)
    return [(p.rule_index, p.rule_name, p.field, p.message) for p in refused.value.problems]


def test_a_bad_regular_expression_is_refused_naming_the_rule_and_the_field() -> None:
    [(index, name, field, message)] = problems_of(
        {"rules": [{"name": "ok"}, {"name": "broken", "when": {"body_pattern": "order (\\d+"}}]}
    )
    assert (index, name, field) == (1, "broken", "when.body_pattern")
    assert "invalid regular expression" in message and "missing )" in message


@pytest.mark.parametrize(
    ("rule", "field", "complaint"),
    [
        ({"name": "r", "then": {"priority": "critical"}}, "then.priority", "low"),
        ({"name": "r", "when": {"channel": ["email"]}}, "when.channel", "Extra inputs"),
        ({"name": "r", "when": {"channels": ["fax"]}}, "when.channels.0", "email"),
        (
            {"name": "r", "when": {"time_of_day": {"start": "9:00", "end": "17:00"}}},
            "when.time_of_day.start",
            "HH:MM",
        ),
        (
            {
                "name": "r",
                "when": {"time_of_day": {"start": "09:00", "end": "17:00", "timezone": "Mars/Base"}},
            },
            "when.time_of_day.timezone",
            "unknown IANA timezone",
        ),
        (
            {"name": "r", "when": {"time_of_day": {"start": "09:00", "end": "09:00"}}},
            "when.time_of_day",
            "empty",
        ),
        ({"name": "r", "when": {"requester_domains": ["nodot"]}}, "when.requester_domains", "email domain"),
        ({"name": "r", "when": {"keywords": [" "]}}, "when.keywords", "empty"),
        ({"name": "r", "when": {"customer_tiers": ["gold star"]}}, "when.customer_tiers", "tier label"),
        ({"name": "r", "when": {"customer_tiers": [""]}}, "when.customer_tiers", "empty"),
        ({"name": "r", "when": {"languages": ["french"]}}, "when.languages", "BCP 47"),
        ({"name": "r", "when": {"languages": ["pt_BR"]}}, "when.languages", "BCP 47"),
        ({"name": "r", "when": {"language": ["fr"]}}, "when.language", "Extra inputs"),  # misspelt: not ignored
        ({"name": "r", "then": {"required_skills": ["!!"]}}, "then.required_skills", "letters, digits"),
        ({"name": "r", "stop": "maybe"}, "stop", "boolean"),
        ({"name": "bad name!"}, "name", "pattern"),
        ({"when": {}}, "name", "required"),
    ],
)
def test_schema_errors_name_the_rule_and_the_field(rule: dict[str, Any], field: str, complaint: str) -> None:
    [(index, name, where, message)] = problems_of({"rules": [{"name": "first"}, rule]})
    assert (index, name, where) == (1, rule.get("name"), field)
    assert complaint in message


def test_tier_and_language_hold_together_with_other_conditions() -> None:
    when = {"customer_tiers": ["gold"], "languages": ["fr"], "channels": ["email"]}
    assert matches(when, ticket(channel="email", customer_tier="gold", language="fr-ca"))
    assert not matches(when, ticket(channel="email", customer_tier="gold"))
    assert not matches(when, ticket(channel="email", language="fr"))
    assert not matches(when, ticket(channel="web", customer_tier="gold", language="fr"))


def test_tier_and_language_conditions_are_kept_lower_case_in_the_document() -> None:
    rule_set = rules({"name": "vip-fr", "when": {"customer_tiers": [" Gold "], "languages": ["PT-br"]}})
    assert rule_set.document()["rules"][0]["when"] == {"customer_tiers": ["gold"], "languages": ["pt-br"]}


def test_rule_set_level_errors() -> None:
    [(index, name, field, message)] = problems_of({"rules": [{"name": "a"}, {"name": "a"}]})
    assert (index, name, field) == (None, None, "rules") and "used twice" in message
    assert problems_of({"rule": []})[0][2] == "rule"
    assert problems_of(["not", "a", "mapping"])[0][0] is None


def test_the_rule_set_document_is_what_was_given_and_parses_back_to_the_same() -> None:
    raw = {
        "rules": [
            {"name": "vip", "when": {"tags_any": ["vip"]}, "then": {"priority": "urgent"}, "stop": True}
        ]
    }
    rule_set = parse_rule_set(raw)
    assert rule_set.document() == raw
    assert parse_rule_set(rule_set.document()) == rule_set


def test_the_rules_file_is_yaml_and_a_bad_one_names_file_rule_and_field(tmp_path: Path) -> None:
    good = tmp_path / "rules.yaml"
    good.write_text(
        "rules:\n"
        "  - name: refunds\n"
        "    when: {keywords: [refund], channels: [email]}\n"
        "    then: {priority: high, required_skills: [billing]}\n"
    )
    assert [rule.name for rule in load_rule_file(good).rules] == ["refunds"]

    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    assert load_rule_file(empty).rules == ()

    bad = tmp_path / "bad.yaml"
    bad.write_text("rules:\n  - name: refunds\n    when: {subject_pattern: '[unclosed'}\n")
    with pytest.raises(
        RuleFileError, match=r"bad\.yaml.*rule 0 \('refunds'\): when\.subject_pattern: invalid regular"
    ):
        load_rule_file(bad)

    broken = tmp_path / "broken.yaml"
    broken.write_text("rules: [\n")
    with pytest.raises(RuleFileError, match="not valid YAML"):
        load_rule_file(broken)
    with pytest.raises(RuleFileError, match="cannot read"):
        load_rule_file(tmp_path / "missing.yaml")


def test_times_in_the_rules_file_may_be_written_unquoted(tmp_path: Path) -> None:
    # YAML 1.1 reads an unquoted 17:00 as 1020 (base 60); the rule must still mean five in the evening.
    path = tmp_path / "rules.yaml"
    path.write_text(
        "rules:\n"
        "  - name: evenings\n"
        "    when: {time_of_day: {start: 17:00, end: 08:30, timezone: Europe/Paris}}\n"
        "    then: {team: night-desk}\n"
    )
    rule_set = load_rule_file(path)
    window = rule_set.document()["rules"][0]["when"]["time_of_day"]
    assert (window["start"], window["end"]) == ("17:00", "08:30")

    evening = datetime(2026, 11, 23, 16, 0, tzinfo=UTC)  # 17:00 in Paris: start included
    afternoon = datetime(2026, 11, 23, 15, 59, tzinfo=UTC)
    early_morning = datetime(2026, 11, 24, 7, 29, tzinfo=UTC)  # 08:29 in Paris
    assert triage(rule_set, ticket(), evening).team == "night-desk"
    assert triage(rule_set, ticket(), early_morning).team == "night-desk"
    assert triage(rule_set, ticket(), afternoon).team is None


EVERY_KIND = rules(
    {
        "name": "everything",
        "when": {
            "channels": ["web", "email"],
            "keywords": ["a"],
            "subject_keywords": ["b"],
            "body_keywords": ["c"],
            "subject_pattern": r"(\w+)\s+\1",
            "body_pattern": r"^.*$",
            "requester_domains": ["example.com"],
            "tags_any": ["x"],
            "tags_all": ["x"],
            "priorities": ["normal"],
            "time_of_day": {"start": "23:00", "end": "01:00", "timezone": "Europe/Paris"},
            "customer_tiers": ["gold"],
            "languages": ["pt"],
        },
        "then": {"add_tags": ["t"], "required_skills": ["s"]},
    },
    {"name": "catch-all", "then": {"category": "general"}},
)


@settings(max_examples=200, deadline=None)
@example(
    subject="",
    body="",
    tags=[],
    local_part="a",
    domain="example.com",
    now=datetime.max.replace(tzinfo=UTC),
    tier=None,
    language=None,
)
@example(
    subject="",
    body="",
    tags=[],
    local_part="a",
    domain="example.com",
    now=datetime.min.replace(tzinfo=UTC),
    tier="",
    language="-",
)
@given(
    subject=st.text(max_size=200),
    body=st.text(max_size=500),
    tags=st.lists(st.text(min_size=1, max_size=20), max_size=5),
    local_part=st.from_regex(r"[a-z0-9._%+-]{1,20}", fullmatch=True),
    domain=st.sampled_from(["example.com", "EXAMPLE.COM", "other.org"]),
    now=st.datetimes(timezones=st.just(UTC)),
    tier=st.none() | st.sampled_from(["gold", "GOLD", "silver"]) | st.text(max_size=10),
    language=st.none() | st.sampled_from(["pt", "pt-br", "PT-BR", "fr"]) | st.text(max_size=10),
)
def test_evaluation_never_raises_on_arbitrary_ticket_text(
    subject: str,
    body: str,
    tags: list[str],
    local_part: str,
    domain: str,
    now: datetime,
    tier: str | None,
    language: str | None,
) -> None:
    # The router trusts no publisher: a tier or language in an odd shape simply matches no rule naming one.
    tkt = ticket(
        subject=subject,
        body=body,
        tags=tuple(tags),
        requester=Requester(email=f"{local_part}@{domain}"),
        customer_tier=tier,
        language=language,
    )
    decision = triage(EVERY_KIND, tkt, now)
    assert decision.matched_rules[-1:] == ("catch-all",)
    assert set(tkt.tags) <= set(decision.tags)
