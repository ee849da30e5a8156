"""MongoDB adapter of the triage ports: collections `rules` (one document) and `triage` (one per ticket).

The rule set is one document (`_id` "rules") with a revision, replaced whole, so every router
instance reads either the old rules or the new ones, never a mix. Its rules are kept as JSON
text: the same structure as `GET /v1/rules`, and no nested-array update forms (nx-27017, the
test server, mishandles some of them).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from helpdesk_router.triage import NO_RULES, RuleSet, TriageDecision, parse_rule_set

Document = dict[str, Any]
_RULES_ID = "rules"
_REPLACE_ATTEMPTS = 5


class ConcurrentRulesUpdate(Exception):
    """Other writers kept replacing the rules while this one tried."""


class MongoRuleBook:
    def __init__(self, db: AsyncDatabase) -> None:
        self._rules = db.rules
        # Parsed (regexes compiled) once per revision, not per ticket.
        self._cached: tuple[int, RuleSet] = (0, NO_RULES)

    async def current(self) -> tuple[int, RuleSet]:
        document = await self._rules.find_one({"_id": _RULES_ID}, {"revision": 1})
        if document is None:
            return 0, NO_RULES
        if document["revision"] != self._cached[0]:
            document = await self._rules.find_one({"_id": _RULES_ID})
            if document is not None:
                self._keep(document)
        return self._cached

    async def seed(self, rule_set: RuleSet) -> bool:
        document = _rules_document(rule_set, 1)
        try:
            await self._rules.insert_one(document)
        except DuplicateKeyError:
            return False
        self._keep(document)
        return True

    async def replace(self, rule_set: RuleSet) -> int:
        # Guarded by the revision read, so two concurrent PUTs make two revisions, not one lost.
        for _ in range(_REPLACE_ATTEMPTS):
            current = await self._rules.find_one({"_id": _RULES_ID}, {"revision": 1})
            if current is None:
                if await self.seed(rule_set):
                    return 1
                continue
            revision = current["revision"] + 1
            document = _rules_document(rule_set, revision)
            guard = {"_id": _RULES_ID, "revision": current["revision"]}
            result = await self._rules.replace_one(guard, document)
            if result.matched_count == 1:
                self._keep(document)
                return revision
        raise ConcurrentRulesUpdate

    def _keep(self, document: Document) -> None:
        # Parsed as every instance parses what it reads: the next ticket here need not read it back.
        self._cached = (document["revision"], parse_rule_set(json.loads(document["rules_json"])))


def _rules_document(rule_set: RuleSet, revision: int) -> Document:
    return {
        "_id": _RULES_ID,
        "revision": revision,
        "rules_json": json.dumps(rule_set.document()),
        "updated_at": datetime.now(UTC).isoformat(),
    }


class MongoTriageBook:
    def __init__(self, db: AsyncDatabase) -> None:
        self._triage = db.triage

    async def decision(self, ticket_id: str) -> TriageDecision | None:
        document = await self._triage.find_one({"_id": ticket_id})
        return _decision(document) if document is not None else None

    async def record(
        self, ticket_id: str, decision: TriageDecision, rules_revision: int
    ) -> tuple[TriageDecision, bool]:
        document = {
            "_id": ticket_id,
            **decision.model_dump(mode="json"),
            "rules_revision": rules_revision,
            "decided_at": datetime.now(UTC).isoformat(),
        }
        try:
            await self._triage.insert_one(document)
        except DuplicateKeyError:
            return (await self.decision(ticket_id)) or decision, False
        return decision, True


def _decision(document: Document) -> TriageDecision:
    # The event model ignores the bookkeeping fields (_id, rules_revision, decided_at).
    return TriageDecision.model_validate(document)
