"""HTTP API of the SLA policies: read the document in force, replace it as a whole.

The book comes from `request.app.state.policies` (a `PolicyBook`: `MongoPolicyBook` in the service, a
double in unit tests). After a PUT is stored, `request.app.state.on_policies_changed()` runs when the
app has one, so open clocks are re-targeted on the new policies.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Protocol

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status

from helpdesk_sla.policies import SlaConfig, SlaConfigError, SlaProblem, parse_config, parse_config_yaml
from helpdesk_sla.policy_store import ConcurrentPolicyUpdate


class PolicyBook(Protocol):
    """Where the policies in force live, with a revision that changes on every replacement."""

    async def current(self) -> tuple[int, SlaConfig]: ...

    async def replace(self, config: SlaConfig) -> int: ...


def _book(request: Request) -> PolicyBook:
    return request.app.state.policies


BookDep = Annotated[PolicyBook, Depends(_book)]

router = APIRouter(prefix="/v1", tags=["policies"])


def _inlined(schema: dict[str, Any]) -> dict[str, Any]:
    """The model's JSON schema with its `$defs` written in place: OpenAPI resolves `#/$defs/...` nowhere."""
    definitions = schema.get("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            reference = node.get("$ref")
            if isinstance(reference, str) and reference.startswith("#/$defs/"):
                return inline(definitions[reference.removeprefix("#/$defs/")])
            return {key: inline(value) for key, value in node.items() if key != "$defs"}
        if isinstance(node, list):
            return [inline(item) for item in node]
        return node

    return inline(schema)


_DOCUMENT_SCHEMA = _inlined(SlaConfig.model_json_schema())

_DOCUMENT = """\
The SLA document, the same structure as the YAML of the policies file (a ConfigMap):

- `calendars`: business calendars by `name`, each with an IANA `timezone`, `weekly` business hours
  per weekday (`mon`..`sun`, spans `[["09:00", "18:00"]]`; an overnight span such as `["22:00", "06:00"]`
  runs into the next day) and `holidays` (local dates on which nothing counts). `"24/7"` needs no entry.
- `policies`: tried in document order. Each names a `calendar` (one of `calendars`, or `"24/7"`),
  may narrow itself with `when` (`customer_tiers`, `channels`: any-of lists; omitted, any ticket) and
  gives `targets` per priority (`low`, `normal`, `high`, `urgent`): `first_reply`, `next_reply` and
  `resolution`, each an ISO 8601 duration counted in business time of the calendar, to the second
  (`PT4H`, `PT10S`, `P1DT2H`; no months or years). A metric left out runs no clock. The policy triage
  named (`sla_policy`) wins when it covers the ticket's priority; otherwise the first whose `when` matches.
- `warning_share`: `sla.warning` when this share of a target is used (0 < x < 1, 0.75 by default).
- `on_hold_pauses`: whether on-hold pauses the clocks as pending does (true by default).
"""

_POLICIES_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The policies in force, as in the YAML file; their revision in the `ETag` header.",
        "content": {"application/json": {"schema": _DOCUMENT_SCHEMA}},
    }
}


def _answer(revision: int, config: SlaConfig, response: Response) -> dict[str, Any]:
    response.headers["ETag"] = f'"{revision}"'
    return config.document()


@router.get(
    "/policies",
    operation_id="get_policies",
    responses=_POLICIES_RESPONSE,
    summary="The SLA policies in force",
    description=_DOCUMENT + "\nRevision 0 is the built-in default, in force until policies are stored.",
)
async def get_policies(book: BookDep, response: Response) -> dict[str, Any]:
    revision, config = await book.current()
    return _answer(revision, config, response)


@router.put(
    "/policies",
    operation_id="put_policies",
    responses={
        **_POLICIES_RESPONSE,
        409: {"description": "Other writers kept replacing the policies; send the PUT again."},
        415: {"description": "The body is neither JSON nor YAML."},
        422: {
            "description": (
                "The document was refused as a whole; `detail.problems` names each problem: `section` "
                "(policies, calendars, or null for the document), `index` and `name` of the entry, `field` "
                "and `message`. The policies in force stay in force."
            )
        },
    },
    summary="Replace the SLA policies",
    description=(
        "Replaces the whole document at once: JSON as `GET` returns it, or the YAML of the policies file "
        "(`Content-Type: application/yaml`, so an edited ConfigMap can be applied as it is). Stored in the "
        "SLA service's MongoDB, so every instance uses it and it outlives restarts; the open clocks are "
        "re-targeted on the new policies.\n\n" + _DOCUMENT
    ),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": _DOCUMENT_SCHEMA},
                "application/yaml": {"schema": {"type": "string"}},
            },
        }
    },
)
async def put_policies(book: BookDep, request: Request, response: Response) -> dict[str, Any]:
    try:
        config = await _config_body(request)
    except SlaConfigError as error:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            {"message": f"policies refused: {error}", "problems": [p.as_dict() for p in error.problems]},
        ) from None
    try:
        revision = await book.replace(config)
    except ConcurrentPolicyUpdate:
        raise HTTPException(status.HTTP_409_CONFLICT, "the policies changed concurrently; retry") from None
    changed = getattr(request.app.state, "on_policies_changed", None)
    if changed is not None:
        await changed()
    return _answer(revision, config, response)


_YAML_TYPES = frozenset({"application/yaml", "application/x-yaml", "text/yaml"})


async def _config_body(request: Request) -> SlaConfig:
    """The body as a document; SlaConfigError (one problem for the whole body) when it cannot be read."""
    media_type = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
    if media_type not in _YAML_TYPES and media_type != "application/json":
        raise HTTPException(
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            f"send application/json or application/yaml, not {media_type!r}",
        )
    raw = await request.body()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise SlaConfigError([SlaProblem(None, None, "", f"the body is not UTF-8: {error}", None)]) from None
    if media_type in _YAML_TYPES:
        return parse_config_yaml(text)
    try:
        data = json.loads(text)
    except ValueError as error:
        raise SlaConfigError([SlaProblem(None, None, "", f"not valid JSON: {error}", None)]) from None
    return parse_config(data)
