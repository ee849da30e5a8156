"""HTTP API of the triage rules: read the rule set in force, replace it as a whole."""

from __future__ import annotations

import json
from typing import Annotated, Any

import yaml
from fastapi import APIRouter, Depends, HTTPException, Request, Response, status

from helpdesk_events.config_files import parse_yaml
from helpdesk_router.triage import InvalidRuleSet, RuleSet, parse_rule_set
from helpdesk_router.triage_service import TicketTriage
from helpdesk_router.triage_store import ConcurrentRulesUpdate


def _triage(request: Request) -> TicketTriage:
    return request.app.state.triage


TriageDep = Annotated[TicketTriage, Depends(_triage)]

router = APIRouter(prefix="/v1", tags=["triage rules"])

_RULES_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The rule set in force, as in the YAML file; its revision in the `ETag` header.",
        "content": {"application/json": {"schema": RuleSet.model_json_schema()}},
    }
}


def _answer(revision: int, rule_set: RuleSet, response: Response) -> dict[str, Any]:
    response.headers["ETag"] = f'"{revision}"'
    return rule_set.document()


@router.get(
    "/rules", operation_id="get_rules", responses=_RULES_RESPONSE, summary="The triage rules in force"
)
async def get_rules(triage: TriageDep, response: Response) -> dict[str, Any]:
    revision, rule_set = await triage.rules_in_force()
    return _answer(revision, rule_set, response)


@router.put(
    "/rules",
    operation_id="put_rules",
    responses={
        **_RULES_RESPONSE,
        409: {"description": "Other writers kept replacing the rules; send the PUT again."},
        415: {"description": "The body is neither JSON nor YAML."},
        422: {
            "description": (
                "The rule set was refused as a whole; `detail.problems` names each bad rule "
                "(`rule_index`, `rule_name`) and `field`. The rules in force stay in force."
            )
        },
    },
    summary="Replace the triage rules",
    description=(
        "Replaces the whole rule set at once: JSON as `GET` returns it, or the YAML of the rules file "
        "(`Content-Type: application/yaml`, so an edited ConfigMap can be applied as it is). Stored in the "
        "router's MongoDB, so every router instance uses it for the next ticket, and it outlives restarts."
    ),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": RuleSet.model_json_schema()},
                "application/yaml": {"schema": {"type": "string"}},
            },
        }
    },
)
async def put_rules(triage: TriageDep, request: Request, response: Response) -> dict[str, Any]:
    body = await _rule_set_body(request)
    try:
        rule_set = parse_rule_set(body)
    except InvalidRuleSet as error:
        problems = [
            {"rule_index": p.rule_index, "rule_name": p.rule_name, "field": p.field, "message": p.message}
            for p in error.problems
        ]
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            {"message": f"rules refused: {error}", "problems": problems},
        ) from None
    try:
        revision = await triage.replace_rules(rule_set)
    except ConcurrentRulesUpdate:
        raise HTTPException(status.HTTP_409_CONFLICT, "the rules changed concurrently; retry") from None
    return _answer(revision, rule_set, response)


_YAML_TYPES = frozenset({"application/yaml", "application/x-yaml", "text/yaml"})


async def _rule_set_body(request: Request) -> object:
    media_type = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
    raw = await request.body()
    if media_type in _YAML_TYPES:
        try:
            return parse_yaml(raw)  # the same reading as the rules file: unquoted 17:00 stays a time
        except yaml.YAMLError as error:
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_CONTENT, f"the body is not valid YAML: {error}"
            ) from None
    if media_type == "application/json":
        try:
            return json.loads(raw)
        except ValueError as error:
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_CONTENT, f"the body is not valid JSON: {error}"
            ) from None
    raise HTTPException(
        status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
        f"send application/json or application/yaml, not {media_type!r}",
    )
