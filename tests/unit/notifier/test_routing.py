"""Routes: which events reach which Slack channel or person, and the From of each team's emails."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpdesk_notifier.routing import EmailSender, NotificationRoutes, RoutesError, load_routes
from helpdesk_notifier.ticket_view import TicketView

DEFAULT_FROM = "Support <support@helpdesk.test>"


def routes_from(tmp_path: Path, text: str) -> NotificationRoutes:
    path = tmp_path / "routes.yaml"
    path.write_text(text, encoding="utf-8")
    return load_routes(path, default_from=DEFAULT_FROM)


def refused(tmp_path: Path, text: str) -> str:
    with pytest.raises(RoutesError) as caught:
        routes_from(tmp_path, text)
    return str(caught.value)


def ticket(**changes: object) -> TicketView:
    fields: dict[str, object] = {"ticket_id": "T-1", "team": "billing", "slack_user_id": "U0GRACE"}
    return TicketView(**{**fields, **changes})  # type: ignore[arg-type]


FULL = """
slack:
  team_channels: {billing: C0BILLING, hardware: C0HARDWARE}
  default_channel: C0SUPPORT
  events:
    sla.breached: [team_channel, "channel:C0MANAGERS", assignee]
    feedback.received: ["channel:C0KUDOS"]
email:
  default: {from: "Help <help@example.com>", reply_to: "replies@example.com"}
  teams:
    billing: {from: "Billing <billing@example.com>", reply_to: "billing@example.com"}
    hardware: {reply_to: null}
    sales: {from: "Sales <sales@example.com>"}
"""


# ---- defaults ----------------------------------------------------------------------------------


def test_without_a_file_assignments_go_to_the_assignee_and_nothing_else_resolves() -> None:
    routes = load_routes(None, default_from=DEFAULT_FROM)

    assert routes.slack_targets("ticket.assigned", ticket()) == ["U0GRACE"]
    # No channel is configured: team-channel events resolve to nobody rather than to a guess.
    for event in ("sla.warning", "sla.breached", "feedback.received"):
        assert routes.slack_targets(event, ticket()) == []
    assert routes.email_sender("billing") == EmailSender(from_=DEFAULT_FROM, reply_to=None)


def test_an_empty_file_is_the_defaults(tmp_path: Path) -> None:
    routes = routes_from(tmp_path, "# nothing yet\n")
    assert routes.slack_targets("ticket.assigned", ticket()) == ["U0GRACE"]
    assert routes.email_sender(None).from_ == DEFAULT_FROM


def test_events_left_out_keep_their_default_targets(tmp_path: Path) -> None:
    routes = routes_from(
        tmp_path, "slack:\n  team_channels: {billing: C0BILLING}\n  events:\n    sla.warning: [assignee]\n"
    )

    assert routes.slack_targets("sla.warning", ticket()) == ["U0GRACE"]  # overridden
    assert routes.slack_targets("sla.breached", ticket()) == ["C0BILLING"]  # default: team_channel
    assert routes.slack_targets("ticket.assigned", ticket()) == ["U0GRACE"]


def test_an_event_can_be_turned_off(tmp_path: Path) -> None:
    routes = routes_from(
        tmp_path, "slack:\n  team_channels: {billing: C0BILLING}\n  events:\n    sla.warning: []\n"
    )
    assert routes.slack_targets("sla.warning", ticket()) == []


def test_an_event_type_without_routes_goes_nowhere() -> None:
    assert load_routes(None, default_from=DEFAULT_FROM).slack_targets("ticket.created", ticket()) == []


# ---- target resolution -------------------------------------------------------------------------


def test_targets_resolve_in_order_without_repeats(tmp_path: Path) -> None:
    routes = routes_from(tmp_path, FULL)

    assert routes.slack_targets("sla.breached", ticket()) == ["C0BILLING", "C0MANAGERS", "U0GRACE"]
    assert routes.slack_targets("feedback.received", ticket()) == ["C0KUDOS"]
    assert routes.slack_targets("sla.warning", ticket(team="hardware")) == ["C0HARDWARE"]


def test_a_team_without_a_channel_and_a_ticket_without_a_team_use_the_default_channel(tmp_path: Path) -> None:
    routes = routes_from(tmp_path, FULL)

    assert routes.slack_targets("sla.warning", ticket(team="legal")) == ["C0SUPPORT"]
    assert routes.slack_targets("sla.warning", ticket(team=None)) == ["C0SUPPORT"]
    assert routes.team_channel("billing") == "C0BILLING"


def test_an_assignee_without_a_slack_user_id_is_left_out(tmp_path: Path) -> None:
    routes = routes_from(tmp_path, FULL)

    assert routes.slack_targets("ticket.assigned", ticket(slack_user_id=None)) == []
    assert routes.slack_targets("sla.breached", ticket(slack_user_id=None)) == ["C0BILLING", "C0MANAGERS"]


def test_without_a_ticket_view_only_fixed_targets_and_the_default_channel_resolve(tmp_path: Path) -> None:
    routes = routes_from(tmp_path, FULL)

    assert routes.slack_targets("sla.breached", None) == ["C0SUPPORT", "C0MANAGERS"]


def test_user_targets_resolve_to_the_user_id(tmp_path: Path) -> None:
    routes = routes_from(tmp_path, 'slack:\n  events:\n    sla.breached: ["user:U0BOSS", assignee]\n')
    assert routes.slack_targets("sla.breached", ticket()) == ["U0BOSS", "U0GRACE"]


# ---- low-score follow-ups: the team lead ------------------------------------------------------

LEADS = """
slack:
  team_channels: {billing: C0BILLING, hardware: C0HARDWARE}
  team_leads: {billing: U0BILLINGLEAD, legal: W0LEGALLEAD}
"""
FOLLOW_UP = "feedback.follow_up_requested"


def test_a_follow_up_goes_to_the_team_lead_by_default(tmp_path: Path) -> None:
    routes = routes_from(tmp_path, LEADS)

    assert routes.slack_targets(FOLLOW_UP, ticket(team="billing")) == ["U0BILLINGLEAD"]
    assert routes.slack_targets(FOLLOW_UP, ticket(team="legal")) == ["W0LEGALLEAD"]  # no channel needed


def test_a_team_without_a_lead_gets_the_follow_up_in_its_channel_so_a_low_score_is_never_silent(
    tmp_path: Path,
) -> None:
    routes = routes_from(tmp_path, LEADS + "  default_channel: C0SUPPORT\n")

    assert routes.slack_targets(FOLLOW_UP, ticket(team="hardware")) == ["C0HARDWARE"]
    assert routes.slack_targets(FOLLOW_UP, ticket(team="sales")) == ["C0SUPPORT"]
    assert routes.slack_targets(FOLLOW_UP, ticket(team=None)) == ["C0SUPPORT"]
    assert routes.slack_targets(FOLLOW_UP, None) == ["C0SUPPORT"]
    assert routes.team_lead("billing") == "U0BILLINGLEAD"
    assert routes.team_lead("hardware") == "C0HARDWARE"


def test_without_leads_or_channels_a_follow_up_resolves_to_nobody() -> None:
    assert load_routes(None, default_from=DEFAULT_FROM).slack_targets(FOLLOW_UP, ticket()) == []


def test_team_lead_is_a_target_other_events_can_use_and_follow_ups_can_be_rerouted(tmp_path: Path) -> None:
    routes = routes_from(
        tmp_path,
        LEADS + "  events:\n    sla.breached: [team_channel, team_lead]\n"
        f"    {FOLLOW_UP}: [team_lead, 'channel:C0QUALITY']\n",
    )

    assert routes.slack_targets("sla.breached", ticket(team="billing")) == ["C0BILLING", "U0BILLINGLEAD"]
    # A team without a lead: team_lead falls back to the channel already listed, which is not repeated.
    assert routes.slack_targets("sla.breached", ticket(team="hardware")) == ["C0HARDWARE"]
    assert routes.slack_targets(FOLLOW_UP, ticket(team="billing")) == ["U0BILLINGLEAD", "C0QUALITY"]


def test_follow_ups_can_be_turned_off(tmp_path: Path) -> None:
    routes = routes_from(tmp_path, LEADS + f"  events:\n    {FOLLOW_UP}: []\n")
    assert routes.slack_targets(FOLLOW_UP, ticket(team="billing")) == []


# ---- email senders -----------------------------------------------------------------------------


def test_email_senders_per_team_fall_back_to_the_default(tmp_path: Path) -> None:
    routes = routes_from(tmp_path, FULL)

    assert routes.email_sender("billing") == EmailSender(
        "Billing <billing@example.com>", "billing@example.com"
    )
    # A team entry without `from` keeps the default's; an explicit null reply_to means none.
    assert routes.email_sender("hardware") == EmailSender("Help <help@example.com>", None)
    # Reply-To left out: the default's.
    assert routes.email_sender("sales") == EmailSender("Sales <sales@example.com>", "replies@example.com")
    assert routes.email_sender("legal") == EmailSender("Help <help@example.com>", "replies@example.com")
    assert routes.email_sender(None) == EmailSender("Help <help@example.com>", "replies@example.com")


def test_a_default_without_from_uses_the_settings_sender(tmp_path: Path) -> None:
    routes = routes_from(tmp_path, "email:\n  default: {reply_to: help@example.com}\n")
    assert routes.email_sender(None) == EmailSender(DEFAULT_FROM, "help@example.com")


# ---- bad files name the field ------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, field",
    [
        ("slack:\n  team_channels: {billing: general}\n", "slack.team_channels.billing"),
        ("slack:\n  default_channel: '#support'\n", "slack.default_channel"),
        ("slack:\n  events:\n    sla.warning: [team_chanel]\n", "slack.events.sla.warning[0]"),
        (
            "slack:\n  events:\n    sla.breached: [assignee, 'channel:c0lower']\n",
            "slack.events.sla.breached[1]",
        ),
        ("slack:\n  events:\n    sla.breached: ['user:C0NOTAUSER']\n", "slack.events.sla.breached[0]"),
        ("slack:\n  team_leads: {billing: C0BILLING}\n", "slack.team_leads.billing"),
        ("slack:\n  team_leads: {billing: '@grace'}\n", "slack.team_leads.billing"),
        ("slack:\n  team_leads: {billing: u0lower}\n", "slack.team_leads.billing"),
        ("slack:\n  events:\n    feedback.follow_up_requested: [team_leads]\n",
         "slack.events.feedback.follow_up_requested[0]"),
        ("slack:\n  events:\n    sla.warning: team_channel\n", "slack.events.sla.warning"),
        ("slack:\n  events:\n    sla.warnings: [team_channel]\n", "slack.events"),
        ("slack:\n  team_channel: {billing: C0BILLING}\n", "slack.team_channel"),
        ("email:\n  teams:\n    billing: {from: not-an-address}\n", "email.teams.billing.from"),
        ("email:\n  default: {reply_to: nobody}\n", "email.default.reply_to"),
        ("emails: {}\n", "emails"),
    ],
)
def test_a_bad_file_is_refused_naming_the_field(tmp_path: Path, text: str, field: str) -> None:
    message = refused(tmp_path, text)
    assert f": {field}: " in message, message
    assert "routes.yaml" in message


def test_an_unknown_event_type_is_named(tmp_path: Path) -> None:
    assert "sla.warnings" in refused(tmp_path, "slack:\n  events:\n    sla.warnings: [team_channel]\n")


def test_invalid_yaml_and_a_non_mapping_are_refused(tmp_path: Path) -> None:
    assert "not valid YAML" in refused(tmp_path, "slack: [unclosed\n")
    assert "expected a mapping" in refused(tmp_path, "- slack\n")


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RoutesError, match="cannot be read"):
        load_routes(tmp_path / "absent.yaml", default_from=DEFAULT_FROM)


def test_a_bad_default_sender_is_refused() -> None:
    with pytest.raises(RoutesError, match="default sender"):
        load_routes(None, default_from="nobody")
