"""Validation and normalization of what a PUT /v1/agents/{agent_id} may say."""

from __future__ import annotations

import re
from typing import Any

import pytest
from pydantic import ValidationError

from helpdesk_router.roster import AGENT_ID_PATTERN, AgentProfile

VALID: dict[str, Any] = {
    "name": "Grace Hopper",
    "email": "grace@example.com",
    "slack_user_id": "U024BE7LH",
    "skills": ["Billing", " refunds ", "billing", "Password Resets"],
    "capacity": 3,
    "status": "online",
    "teams": ["Tier 2", "billing", "tier 2"],
    "working_hours": {
        "timezone": "Europe/Paris",
        "weekly": {"tue": [["13:30", "17:00"], ["09:00", "12:30"]], "mon": [["22:00", "24:00"]]},
    },
}


def body(**changes: Any) -> dict[str, Any]:
    return {**VALID, **changes}


def test_a_full_profile_is_accepted_and_normalized() -> None:
    profile = AgentProfile.model_validate(VALID)
    assert profile.skills == ("billing", "password-resets", "refunds")
    assert profile.teams == ("tier-2", "billing")  # order kept: the first is the home team
    assert profile.home_team == "tier-2"
    assert profile.working_hours is not None
    assert list(profile.working_hours.weekly) == ["mon", "tue"]
    assert profile.working_hours.weekly["tue"] == (("09:00", "12:30"), ("13:30", "17:00"))


def test_optional_fields_may_be_left_out() -> None:
    profile = AgentProfile.model_validate(
        {"name": "Ada", "email": "ada@example.com", "skills": [], "capacity": 0, "status": "offline"}
    )
    assert profile.slack_user_id is None and profile.teams == () and profile.working_hours is None


@pytest.mark.parametrize(
    ("changes", "complaint"),
    [
        ({"email": "not-an-address"}, "email"),
        ({"capacity": -1}, "capacity"),
        ({"capacity": 2.5}, "capacity"),
        ({"status": "busy"}, "status"),
        ({"name": "   "}, "name"),
        ({"skills": ["c++"]}, "skills"),
        ({"skills": [""]}, "skills"),
        ({"teams": ["a/b"]}, "teams"),
        ({"slack_user_id": "not a slack id"}, "slack_user_id"),
        ({"nickname": "amazing"}, "nickname"),
        ({"working_hours": {"timezone": "Mars/Olympus_Mons", "weekly": {}}}, "unknown IANA timezone"),
        ({"working_hours": {"timezone": "UTC", "weekly": {"mon": [["17:00", "09:00"]]}}}, "start before it ends"),
        ({"working_hours": {"timezone": "UTC", "weekly": {"mon": [["09:00", "09:00"]]}}}, "start before it ends"),
        (
            {"working_hours": {"timezone": "UTC", "weekly": {"mon": [["09:00", "13:00"], ["12:00", "17:00"]]}}},
            "overlap",
        ),
        ({"working_hours": {"timezone": "UTC", "weekly": {"mon": [["9:00", "17:00"]]}}}, "HH:MM"),
        ({"working_hours": {"timezone": "UTC", "weekly": {"mon": [["09:00", "25:00"]]}}}, "HH:MM"),
        ({"working_hours": {"timezone": "UTC", "weekly": {"mon": [["24:00", "24:00"]]}}}, "HH:MM"),
        ({"working_hours": {"timezone": "UTC", "weekly": {"monday": [["09:00", "17:00"]]}}}, "monday"),
    ],
)
def test_invalid_profiles_are_refused_with_the_reason(changes: dict[str, Any], complaint: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(complaint)):
        AgentProfile.model_validate(body(**changes))


def test_intervals_may_touch_and_a_day_may_end_at_midnight() -> None:
    hours = {"timezone": "America/New_York", "weekly": {"fri": [["08:00", "12:00"], ["12:00", "24:00"]], "sat": []}}
    profile = AgentProfile.model_validate(body(working_hours=hours))
    assert profile.working_hours is not None
    assert profile.working_hours.weekly == {"fri": (("08:00", "12:00"), ("12:00", "24:00")), "sat": ()}


@pytest.mark.parametrize("agent_id", ["grace", "G.Hopper_2", "a-b", "x" * 64])
def test_valid_agent_ids(agent_id: str) -> None:
    assert re.match(AGENT_ID_PATTERN, agent_id)


@pytest.mark.parametrize("agent_id", ["", "x" * 65, "grace hopper", "grace/hopper", "é"])
def test_invalid_agent_ids(agent_id: str) -> None:
    assert not re.match(AGENT_ID_PATTERN, agent_id)
