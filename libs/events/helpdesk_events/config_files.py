"""Configuration files ops teams mount from ConfigMaps: YAML read once, errors that name file and field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError


class ConfigFileError(ValueError):
    """A configuration file cannot be used; the message names the file and, where known, the field."""


def read_yaml(path: str | Path, *, what: str) -> Any:
    """The YAML document in `path` (None for an empty file); `what` names the file in errors."""
    try:
        return yaml.safe_load(Path(path).read_text(encoding="utf-8"))
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
