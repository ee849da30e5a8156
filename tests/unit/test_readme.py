"""The README is the user's door: its settings table must name every setting a service reads."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVICES = sorted(p.parent.name for p in (ROOT / "services").glob("*/pyproject.toml"))


@pytest.mark.parametrize("service", SERVICES)
def test_every_setting_of_the_service_is_in_the_readme_table(service: str) -> None:
    settings = importlib.import_module(f"helpdesk_{service}.settings").Settings
    readme = (ROOT / "README.md").read_text()
    missing = [name.upper() for name in settings.model_fields if f"`{name.upper()}`" not in readme]
    assert not missing, f"README.md's settings table lacks {missing} ({service})"


def test_the_readme_gives_the_two_commands_and_ci_runs_the_test_one() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "make up" in readme and "make test" in readme
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def _yaml_after(heading: str) -> str:
    """The first YAML block in the README section under `heading`."""
    section = (ROOT / "README.md").read_text().split(heading, 1)[1]
    return section.split("```yaml", 1)[1].split("```", 1)[0]


def test_the_readme_s_sla_policies_example_is_a_valid_document() -> None:
    from helpdesk_sla.policies import parse_config_yaml

    config = parse_config_yaml(_yaml_after("### SLA clocks"))
    assert config.choose("normal", customer_tier="gold", channel="chat").policy_name == "vip-chat"
    assert config.choose("normal", customer_tier=None, channel="email").policy_name == "standard"


def test_the_readme_s_notification_routes_example_loads(tmp_path: Path) -> None:
    from helpdesk_notifier.routing import load_routes

    path = tmp_path / "routes.yaml"
    path.write_text(_yaml_after("### Notifications"))
    routes = load_routes(path, default_from="Support <support@example.com>")
    assert routes.email_sender("billing").from_ == "Billing <billing@example.com>"
