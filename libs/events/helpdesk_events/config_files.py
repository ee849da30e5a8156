"""Configuration files ops teams mount from ConfigMaps: YAML read once, errors that name file and field.

YAML note: YAML 1.1 (PyYAML's `safe_load`) reads an unquoted `17:00` as the number 1020 (base 60), so
business hours and time windows would turn into numbers. Every configuration document goes through
`parse_yaml`, whose loader reads such scalars as strings: a time may be written quoted or not.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError


class ConfigFileError(ValueError):
    """A configuration file cannot be used; the message names the file and, where known, the field."""


class ConfigYamlLoader(yaml.SafeLoader):
    """SafeLoader without YAML 1.1's base-60 numbers, so `17:00` stays the string "17:00"."""


_NUMBER_TAGS = ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")
ConfigYamlLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in _NUMBER_TAGS]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
# SafeLoader's own int and float patterns, less their base-60 alternatives.
ConfigYamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:int",
    re.compile(r"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+)$"),
    list("-+0123456789"),
)
ConfigYamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9_]+(?:[eE][-+][0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+0123456789."),
)


def parse_yaml(text: str | bytes) -> Any:
    """One YAML document (None when empty), times like `17:00` kept as strings; raises yaml.YAMLError."""
    return yaml.load(text, Loader=ConfigYamlLoader)  # noqa: S506 - a SafeLoader subclass


def read_yaml(path: str | Path, *, what: str) -> Any:
    """The YAML document in `path` (None for an empty file); `what` names the file in errors."""
    try:
        return parse_yaml(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or error
        raise ConfigFileError(f"{what} {path}: cannot be read: {reason}") from None
    except yaml.YAMLError as error:
        raise ConfigFileError(f"{what} {path}: not valid YAML: {error}") from None


def field_path(loc: tuple[int | str, ...]) -> str:
    """`('slack', 'events', 'sla.warning', 0)` -> `slack.events.sla.warning[0]`."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += ("." if path else "") + str(part)
    return path or "(top level)"


def first_problem(error: ValidationError) -> str:
    """The first validation problem as `field: message`, with how many more there are."""
    first = error.errors()[0]
    more = f" (and {error.error_count() - 1} more)" if error.error_count() > 1 else ""
    return f"{field_path(first['loc'])}: {first['msg']}{more}"
