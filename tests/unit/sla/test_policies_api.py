"""GET/PUT /v1/policies on an in-memory book: the document with its revision, a bad document refused
whole with every problem named, YAML as a ConfigMap holds it, and the open clocks told of a change."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from helpdesk_sla.policies import DEFAULT_CONFIG, SlaConfig
from helpdesk_sla.policies_api import router
from helpdesk_sla.policy_store import ConcurrentPolicyUpdate

OFFICE_YAML = b"""\
warning_share: 0.8
on_hold_pauses: false
calendars:
  - name: office-paris
    timezone: Europe/Paris
    weekly:
      mon: [[09:00, 17:00]]
      fri: [[09:00, 12:30], [13:30, 17:00]]
    holidays: [2025-12-25]
policies:
  - name: vip
    calendar: 24/7
    when: {customer_tiers: [Gold], channels: [chat]}
    targets:
      urgent: {first_reply: PT15M, resolution: PT4H}
  - name: standard
    calendar: office-paris
    targets:
      normal: {first_reply: PT10S, next_reply: PT8H, resolution: P3D}
"""

QUICK: dict[str, Any] = {
    "warning_share": 0.5,
    "on_hold_pauses": True,
    "calendars": [],
    "policies": [{"name": "quick", "calendar": "24/7", "targets": {"high": {"first_reply": "PT10S"}}}],
}


class InMemoryPolicyBook:
    """The book as MongoPolicyBook behaves, in memory; `lose_races` makes every replacement lose."""

    def __init__(self) -> None:
        self.revision = 0
        self.config: SlaConfig = DEFAULT_CONFIG
        self.lose_races = False

    async def current(self) -> tuple[int, SlaConfig]:
        return self.revision, self.config

    async def replace(self, config: SlaConfig) -> int:
        if self.lose_races:
            raise ConcurrentPolicyUpdate
        self.revision += 1
        self.config = config
        return self.revision


class ClockRetargeting:
    """Stands for the lead's hook: records the policies in force each time it is told of a change."""

    def __init__(self, book: InMemoryPolicyBook) -> None:
        self.book = book
        self.seen: list[int] = []

    async def __call__(self) -> None:
        self.seen.append(self.book.revision)


@pytest.fixture
def book() -> InMemoryPolicyBook:
    return InMemoryPolicyBook()


@pytest.fixture
def retargeting(book: InMemoryPolicyBook) -> ClockRetargeting:
    return ClockRetargeting(book)


def _app(book: InMemoryPolicyBook, retargeting: ClockRetargeting | None) -> FastAPI:
    app = FastAPI()
    app.include_router(router)
    app.state.policies = book
    if retargeting is not None:
        app.state.on_policies_changed = retargeting
    return app


@pytest.fixture
async def client(book: InMemoryPolicyBook, retargeting: ClockRetargeting) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=_app(book, retargeting))
    async with httpx.AsyncClient(transport=transport, base_url="http://sla") as client:
        yield client


async def test_before_any_put_the_default_policies_are_in_force_as_revision_0(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/v1/policies")
    assert response.status_code == 200
    assert response.headers["ETag"] == '"0"'
    assert response.json() == DEFAULT_CONFIG.document()
    assert response.json()["policies"][0]["targets"]["urgent"]["first_reply"] == "PT1H"


async def test_a_json_document_replaces_the_policies_and_the_clocks_are_told(
    client: httpx.AsyncClient, book: InMemoryPolicyBook, retargeting: ClockRetargeting
) -> None:
    accepted = await client.put("/v1/policies", json=QUICK)
    assert accepted.status_code == 200, accepted.text
    assert (accepted.headers["ETag"], accepted.json()) == ('"1"', QUICK)
    assert book.config.choose("high") is not None and book.config.choose("normal") is None
    assert retargeting.seen == [1]  # told after the new policies were stored

    again = await client.get("/v1/policies")
    assert (again.headers["ETag"], again.json()) == ('"1"', QUICK)

    # What GET returns can be sent back as it is.
    resent = await client.put("/v1/policies", json=again.json())
    assert (resent.status_code, resent.headers["ETag"], resent.json()) == (200, '"2"', QUICK)
    assert retargeting.seen == [1, 2]


async def test_yaml_is_read_as_a_configmap_holds_it_with_unquoted_hours(
    client: httpx.AsyncClient, book: InMemoryPolicyBook
) -> None:
    response = await client.put(
        "/v1/policies", content=OFFICE_YAML, headers={"Content-Type": "application/yaml; charset=utf-8"}
    )
    assert response.status_code == 200, response.text
    document = response.json()
    assert (document["warning_share"], document["on_hold_pauses"]) == (0.8, False)
    [calendar] = document["calendars"]
    assert calendar["weekly"]["mon"] == [["09:00", "17:00"]]  # not 540 and 1020 (YAML 1.1 base 60)
    assert calendar["weekly"]["fri"] == [["09:00", "12:30"], ["13:30", "17:00"]]
    assert calendar["holidays"] == ["2025-12-25"]
    assert [policy["name"] for policy in document["policies"]] == ["vip", "standard"]
    assert document["policies"][0]["when"] == {"customer_tiers": ["gold"], "channels": ["chat"]}
    assert document["policies"][1]["targets"]["normal"]["first_reply"] == "PT10S"
    chosen = book.config.choose("normal")
    assert chosen is not None and chosen.policy_name == "standard"
    assert (await client.get("/v1/policies")).json() == document


async def test_an_empty_yaml_document_means_no_policies(client: httpx.AsyncClient) -> None:
    response = await client.put("/v1/policies", content=b"", headers={"Content-Type": "text/yaml"})
    assert response.status_code == 200, response.text
    assert response.json()["policies"] == [] and response.json()["calendars"] == []


async def test_a_bad_document_is_refused_whole_with_every_problem_named(
    client: httpx.AsyncClient, book: InMemoryPolicyBook, retargeting: ClockRetargeting
) -> None:
    await client.put("/v1/policies", json=QUICK)
    bad = {
        "warning_share": 1.5,
        "calendars": [{"name": "office", "timezone": "Atlantis/Capital", "weekly": {}}],
        "policies": [
            {"name": "fine", "calendar": "24/7", "targets": {"urgent": {"first_reply": "PT1H"}}},
            {"name": "vip", "calendar": "24/7", "targets": {"urgent": {"first_reply": "P1M"}}},
            {"name": "night", "calendar": "nowhere", "targets": {"critical": {"resolution": "PT4H"}}},
        ],
    }
    refused = await client.put("/v1/policies", json=bad)
    assert refused.status_code == 422
    detail = refused.json()["detail"]
    places = {(p["section"], p["index"], p["name"], p["field"]) for p in detail["problems"]}
    assert (None, None, None, "warning_share") in places
    assert ("calendars", 0, "office", "timezone") in places
    assert ("policies", 1, "vip", "targets.urgent.first_reply") in places
    assert ("policies", 2, "night", "calendar") in places
    assert any(p["index"] == 2 and "'critical' is not a priority" in p["message"] for p in detail["problems"])
    assert not any(p["name"] == "fine" for p in detail["problems"])
    assert detail["message"].startswith("policies refused: ")
    assert "policies[1] ('vip') targets.urgent.first_reply" in detail["message"]
    assert set(detail["problems"][0]) == {"section", "index", "name", "field", "message"}

    # The policies in force stay, and no clock is re-targeted.
    assert (book.revision, book.config.document()) == (1, QUICK)
    assert retargeting.seen == [1]
    current = await client.get("/v1/policies")
    assert (current.headers["ETag"], current.json()) == ('"1"', QUICK)


@pytest.mark.parametrize(
    ("body", "content_type", "complaint"),
    [
        (b"policies: [", "application/yaml", "not valid YAML"),
        (b"{", "application/json", "not valid JSON"),
        (b"[1, 2]", "application/json", "must be a mapping"),
        (b"- just\n- a list\n", "application/x-yaml", "must be a mapping"),
        (b"\xff\xfe", "application/json", "not UTF-8"),
    ],
)
async def test_an_unreadable_body_is_refused_with_the_reason(
    client: httpx.AsyncClient, book: InMemoryPolicyBook, body: bytes, content_type: str, complaint: str
) -> None:
    response = await client.put("/v1/policies", content=body, headers={"Content-Type": content_type})
    assert response.status_code == 422
    [problem] = response.json()["detail"]["problems"]
    assert problem["section"] is None and complaint in problem["message"]
    assert book.revision == 0


async def test_other_content_types_are_refused_with_415(
    client: httpx.AsyncClient, book: InMemoryPolicyBook
) -> None:
    response = await client.put(
        "/v1/policies", content=json.dumps(QUICK).encode(), headers={"Content-Type": "text/plain"}
    )
    assert response.status_code == 415
    assert "'text/plain'" in response.json()["detail"]
    assert book.revision == 0


async def test_a_replacement_that_keeps_losing_races_is_a_409_and_tells_no_clock(
    client: httpx.AsyncClient, book: InMemoryPolicyBook, retargeting: ClockRetargeting
) -> None:
    book.lose_races = True
    response = await client.put("/v1/policies", json=QUICK)
    assert response.status_code == 409
    assert "retry" in response.json()["detail"]
    assert retargeting.seen == []


async def test_an_app_without_a_retargeting_hook_still_takes_policies(book: InMemoryPolicyBook) -> None:
    transport = httpx.ASGITransport(app=_app(book, None))
    async with httpx.AsyncClient(transport=transport, base_url="http://sla") as client:
        response = await client.put("/v1/policies", json=QUICK)
    assert (response.status_code, response.headers["ETag"]) == (200, '"1"')


def test_the_openapi_document_explains_the_policies() -> None:
    openapi = _app(InMemoryPolicyBook(), None).openapi()
    operations = {
        (path, method): spec["operationId"]
        for path, methods in openapi["paths"].items()
        for method, spec in methods.items()
    }
    assert operations == {("/v1/policies", "get"): "get_policies", ("/v1/policies", "put"): "put_policies"}
    put = openapi["paths"]["/v1/policies"]["put"]
    for word in ("calendars", "when", "PT4H", "PT10S", "warning_share", "on_hold_pauses", "ISO 8601"):
        assert word in put["description"]
    assert set(put["responses"]) == {"200", "409", "415", "422"}
    assert set(put["requestBody"]["content"]) == {"application/json", "application/yaml"}
    schema = put["requestBody"]["content"]["application/json"]["schema"]
    # Written in place: OpenAPI tools cannot resolve pydantic's "#/$defs/..." references.
    assert "$defs" not in json.dumps(schema)
    targets = schema["properties"]["policies"]["items"]["properties"]["targets"]
    assert "first_reply" in json.dumps(targets)
