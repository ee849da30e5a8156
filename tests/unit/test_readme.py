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
