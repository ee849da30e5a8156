"""The SLA policies on the real MongoDB server: one document with a revision every instance sees,
replaced whole under concurrent writers, and GET/PUT /v1/policies on it."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from fastapi import FastAPI
from pymongo.asynchronous.database import AsyncDatabase

from helpdesk_sla.policies import DEFAULT_CONFIG, SlaConfig, parse_config, parse_config_yaml
from helpdesk_sla.policies_api import router
from helpdesk_sla.policy_store import ConcurrentPolicyUpdate, MongoPolicyBook

pytestmark = pytest.mark.integration

OFFICE_YAML = """\
warning_share: 0.8
on_hold_pauses: false
calendars:
  - name: office-paris
    timezone: Europe/Paris
    weekly:
      mon: [[09:00, 17:00]]
      fri: [[09:00, 12:30], [13:30, 17:00]]
      sat: [["22:00", "06:00"]]
    holidays: [2025-12-25]
policies:
  - name: vip
    calendar: 24/7
    when: {customer_tiers: [gold], channels: [chat]}
    targets:
      urgent: {first_reply: PT15M, resolution: PT4H}
  - name: standard
    calendar: office-paris
    targets:
      normal: {first_reply: PT10S, next_reply: PT8H, resolution: P3D}
"""

OFFICE = parse_config_yaml(OFFICE_YAML)
QUICK = parse_config(
    {"policies": [{"name": "quick", "calendar": "24/7", "targets": {"high": {"first_reply": "PT10S"}}}]}
)


def _document(entry: tuple[int, SlaConfig]) -> tuple[int, dict]:
    revision, config = entry
    return revision, config.document()


async def test_policies_are_seeded_once_then_replaced_whole_with_a_revision_every_instance_sees(
    db: AsyncDatabase,
) -> None:
    one, other = MongoPolicyBook(db), MongoPolicyBook(db)  # two SLA instances
    assert _document(await one.current()) == (0, DEFAULT_CONFIG.document())
    assert await one.seed(OFFICE) is True
    assert await other.seed(QUICK) is False  # the first seed stays
    assert _document(await other.current()) == (1, OFFICE.document())
    chosen = (await other.current())[1].choose("normal")
    assert chosen is not None and chosen.policy_name == "standard"
    assert chosen.calendar.name == "office-paris"

    stored = await db.policies.find_one({"_id": "policies"})
    assert stored is not None and stored["revision"] == 1
    assert json.loads(stored["policies_json"]) == OFFICE.document()

    revisions = await asyncio.gather(one.replace(QUICK), other.replace(OFFICE))
    assert sorted(revisions) == [2, 3]  # two writers, two revisions, none lost
    revision, config = await one.current()
    assert revision == 3
    assert config.document() == (QUICK if revisions[0] == 3 else OFFICE).document()
    assert _document(await other.current()) == (revision, config.document())


async def test_a_replace_with_nothing_stored_makes_revision_1(db: AsyncDatabase) -> None:
    book = MongoPolicyBook(db)
    assert await book.replace(QUICK) == 1
    assert _document(await MongoPolicyBook(db).current()) == (1, QUICK.document())


async def test_many_concurrent_writers_each_get_their_own_revision_or_are_told_to_retry(
    db: AsyncDatabase,
) -> None:
    books = [MongoPolicyBook(db) for _ in range(8)]
    await books[0].seed(QUICK)
    outcomes = await asyncio.gather(
        *(book.replace(OFFICE if index % 2 else QUICK) for index, book in enumerate(books)),
        return_exceptions=True,
    )
    unexpected = [
        o for o in outcomes if isinstance(o, BaseException) and not isinstance(o, ConcurrentPolicyUpdate)
    ]
    assert unexpected == []
    revisions = [o for o in outcomes if isinstance(o, int)]
    assert revisions, "at least one writer wins every round"
    assert sorted(revisions) == list(range(2, 2 + len(revisions)))  # none lost, none shared
    assert (await books[0].current())[0] == 1 + len(revisions)


async def test_the_api_on_the_real_store_refuses_bad_documents_and_keeps_the_good_one(
    db: AsyncDatabase,
) -> None:
    changes: list[int] = []
    app = FastAPI()
    app.include_router(router)
    app.state.policies = MongoPolicyBook(db)

    async def on_policies_changed() -> None:
        changes.append((await MongoPolicyBook(db).current())[0])

    app.state.on_policies_changed = on_policies_changed
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sla") as client:
        first = await client.get("/v1/policies")
        assert (first.headers["ETag"], first.json()) == ('"0"', DEFAULT_CONFIG.document())

        accepted = await client.put(
            "/v1/policies", content=OFFICE_YAML.encode(), headers={"Content-Type": "application/yaml"}
        )
        assert accepted.status_code == 200, accepted.text
        assert (accepted.headers["ETag"], accepted.json()) == ('"1"', OFFICE.document())
        assert changes == [1]  # the hook sees the new policies already stored

        broken = {**OFFICE.document(), "policies": [{"name": "x", "calendar": "gone", "targets": {}}]}
        refused = await client.put("/v1/policies", json=broken)
        assert refused.status_code == 422
        fields = {(p["index"], p["field"]) for p in refused.json()["detail"]["problems"]}
        assert fields == {(0, "calendar"), (0, "targets")}

        edited = {**accepted.json(), "warning_share": 0.9}
        replaced = await client.put("/v1/policies", json=edited)
        assert (replaced.status_code, replaced.headers["ETag"], replaced.json()) == (200, '"2"', edited)
        assert changes == [1, 2]

    # Another instance (or this one restarted) reads what was stored, not the default.
    assert _document(await MongoPolicyBook(db).current()) == (2, edited)
