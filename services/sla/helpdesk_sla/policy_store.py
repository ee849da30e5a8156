"""MongoDB adapter of the SLA policies: collection `policies`, one document with a revision.

The policies are one document (`_id` "policies") replaced whole, so every SLA instance reads either
the old policies or the new ones, never a mix, and the revision is the `ETag` of `GET /v1/policies`.
The document is kept as JSON text (`SlaConfig.document()`, the structure of `GET /v1/policies`):
business hours are nested arrays, and nx-27017, the test server, mishandles some nested-array forms.
Replacement is guarded by the revision read, without `$setOnInsert` or other update operators, so
it behaves the same on nx-27017 and on MongoDB.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from helpdesk_sla.policies import DEFAULT_CONFIG, SlaConfig, parse_config

Document = dict[str, Any]
_POLICIES_ID = "policies"
_REPLACE_ATTEMPTS = 5


class ConcurrentPolicyUpdate(Exception):
    """Other writers kept replacing the policies while this one tried; the caller may send it again."""


class MongoPolicyBook:
    """The SLA policies in force, shared by every SLA instance through MongoDB."""

    def __init__(self, db: AsyncDatabase) -> None:
        self._policies = db.policies
        # Parsed once per revision, not per ticket event: the revision alone is read to see a change.
        self._cached: tuple[int, SlaConfig] = (0, DEFAULT_CONFIG)

    async def current(self) -> tuple[int, SlaConfig]:
        """The revision and the policies in force; (0, DEFAULT_CONFIG) while none were ever stored."""
        document = await self._policies.find_one({"_id": _POLICIES_ID}, {"revision": 1})
        if document is None:
            return 0, DEFAULT_CONFIG
        if document["revision"] != self._cached[0]:
            document = await self._policies.find_one({"_id": _POLICIES_ID})
            if document is not None:
                config = parse_config(json.loads(document["policies_json"]))
                self._cached = (document["revision"], config)
        return self._cached

    async def seed(self, config: SlaConfig) -> bool:
        """Store `config` as revision 1 unless policies are stored already.

        Stored policies win over the file at start, so a PUT outlives a restart.
        """
        try:
            await self._policies.insert_one(_policies_document(config, 1))
        except DuplicateKeyError:
            return False
        return True

    async def replace(self, config: SlaConfig) -> int:
        """Replace the whole document; returns the new revision.

        Guarded by the revision read, so two concurrent PUTs make two revisions rather than one lost;
        ConcurrentPolicyUpdate when others won every one of a few attempts.
        """
        for _ in range(_REPLACE_ATTEMPTS):
            current = await self._policies.find_one({"_id": _POLICIES_ID}, {"revision": 1})
            if current is None:
                if await self.seed(config):
                    return 1
                continue
            revision = current["revision"] + 1
            result = await self._policies.replace_one(
                {"_id": _POLICIES_ID, "revision": current["revision"]}, _policies_document(config, revision)
            )
            if result.matched_count == 1:
                return revision
        raise ConcurrentPolicyUpdate


def _policies_document(config: SlaConfig, revision: int) -> Document:
    return {
        "_id": _POLICIES_ID,
        "revision": revision,
        "policies_json": json.dumps(config.document()),
        "updated_at": datetime.now(UTC).isoformat(),
    }
