"""Configuration YAML: times stay strings, every other scalar is typed as plain safe_load types it."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import yaml

from helpdesk_events.config_files import ConfigFileError, parse_yaml, read_yaml

# Scalars other than times: parse_yaml must read each exactly as yaml.safe_load does.
TYPED = """\
count: 42
negative: -7
big: 1_000
hex: 0x1f
share: 0.75
exponent: 1.5e+3
infinite: .inf
on_hold_pauses: true
legacy_yes: yes
disabled: off
nothing: null
holiday: 2025-12-25
word: seventeen
"""


def test_an_unquoted_time_stays_a_string() -> None:
    document = parse_yaml(
        "start: 17:00\nend: 9:30\nshift: 1:30:00\nlate: 23:59\nearly: 08:30\nfraction: 1:30.5\n"
    )
    assert document == {
        "start": "17:00",
        "end": "9:30",
        "shift": "1:30:00",
        "late": "23:59",
        "early": "08:30",
        "fraction": "1:30.5",
    }
    # What plain safe_load would have made of them: the bug parse_yaml exists to avoid.
    assert yaml.safe_load("start: 17:00\nend: 9:30") == {"start": 1020, "end": 570}


def test_numbers_booleans_dates_and_null_keep_their_types() -> None:
    document = parse_yaml(TYPED)
    assert document == yaml.safe_load(TYPED)
    assert document == {
        "count": 42,
        "negative": -7,
        "big": 1000,
        "hex": 31,
        "share": 0.75,
        "exponent": 1500.0,
        "infinite": float("inf"),
        "on_hold_pauses": True,
        "legacy_yes": True,
        "disabled": False,
        "nothing": None,
        "holiday": date(2025, 12, 25),
        "word": "seventeen",
    }
    assert [type(document[key]) for key in ("count", "share", "on_hold_pauses")] == [int, float, bool]


def test_bytes_and_empty_documents() -> None:
    assert parse_yaml(b"window: {start: 17:00}\n") == {"window": {"start": "17:00"}}
    assert parse_yaml("") is None
    with pytest.raises(yaml.YAMLError):
        parse_yaml("rules: [\n")


def test_read_yaml_uses_the_same_loader_and_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "routes.yaml"
    path.write_text("quiet: {from: 22:00, to: 7:00}\nretries: 3\n")
    assert read_yaml(path, what="routes file") == {"quiet": {"from": "22:00", "to": "7:00"}, "retries": 3}

    broken = tmp_path / "broken.yaml"
    broken.write_text("a: [\n")
    with pytest.raises(ConfigFileError, match=r"routes file .*broken\.yaml: not valid YAML"):
        read_yaml(broken, what="routes file")
    with pytest.raises(ConfigFileError, match=r"missing\.yaml: cannot be read"):
        read_yaml(tmp_path / "missing.yaml", what="routes file")
