"""The rule set file (`ROUTER_RULES_FILE`): YAML, so ops teams can keep it in a ConfigMap."""

from __future__ import annotations

from pathlib import Path

import yaml

from helpdesk_events.config_files import parse_yaml
from helpdesk_router.triage import NO_RULES, InvalidRuleSet, RuleSet, parse_rule_set


class RuleFileError(Exception):
    """The rules file cannot be used; the message names the file, the rule and the field."""


def load_rule_file(path: Path) -> RuleSet:
    try:
        raw = parse_yaml(path.read_text(encoding="utf-8"))  # unquoted 17:00 stays a time
    except OSError as error:
        raise RuleFileError(f"cannot read the rules file {path}: {error}") from None
    except yaml.YAMLError as error:
        raise RuleFileError(f"the rules file {path} is not valid YAML: {error}") from None
    if raw is None:
        return NO_RULES  # an empty file: no rules
    try:
        return parse_rule_set(raw)
    except InvalidRuleSet as error:
        raise RuleFileError(f"the rules file {path} is refused: {error}") from None
