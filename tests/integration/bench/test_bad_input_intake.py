"""Every request of the bad-input mix against a real intake (on the real Kafka, MongoDB and Redis):
no 5xx, every malformed request refused with a 4xx (save the one intake accepts by design), every
valid one accepted."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import SecretStr

from bench.bad_input import Catalogue, Targets, generate, seed_tickets, send, summarize
from tests.integration.intake.helpers import intake_settings, running_intake
from tests.support.apps import drop_database

pytestmark = pytest.mark.integration

# A mail whose attachment is broken still has a sender and a text: intake keeps it, as a mail client would.
ACCEPTED_BY_DESIGN = {("POST /v1/channels/email/inbound", "broken MIME")}
MAX_BODY = 64 * 1024  # intake's limit in this test: the huge bodies are then small enough to send quickly


@pytest.fixture
async def intake(
    kafka_bootstrap: str, mongodb_url: str, redis_url: str, topic_prefix: str, mongo_db_prefix: str
) -> AsyncIterator[httpx.AsyncClient]:
    settings = intake_settings(
        kafka_bootstrap, mongodb_url, topic_prefix, mongo_db_prefix, redis_url=redis_url,
        max_body_bytes=MAX_BODY,
        social_webhook_secrets={"facebook": SecretStr("s0cial")},
        voice_webhook_secret=SecretStr("v0ice"),
        slack_signing_secret=SecretStr("sl4ck"),
    )
    try:
        async with running_intake(settings) as client:
            yield client
    finally:
        await drop_database(mongodb_url, settings.mongodb_database)


async def catalogue(client: httpx.AsyncClient) -> Catalogue:
    seeds = await seed_tickets(client, 2, wait=20, assigned=False)
    assert all(seed.customer_id for seed in seeds), "the read model never showed the seed tickets"
    return Catalogue(Targets(max_body_bytes=MAX_BODY, social_network="facebook", social_secret="s0cial",
                             voice_secret="v0ice", slack_secret="sl4ck", tickets=seeds))


async def test_every_malformed_request_is_refused_with_a_4xx_and_every_valid_one_accepted(
    intake: httpx.AsyncClient,
) -> None:
    mix = await catalogue(intake)
    for probe in mix.every_variant():
        outcome = await send(intake, probe)
        assert outcome.status is not None, (probe.endpoint, probe.variant, outcome.error)
        where = f"{probe.endpoint} {probe.variant}: {outcome.status}"
        if probe.kind == "valid":
            if "assignment-answers" in probe.endpoint:
                # No router here, so nobody is the assignee: a well-formed answer is refused as a conflict.
                assert outcome.status == 409, where
            else:
                assert 200 <= outcome.status < 300, where
        elif (probe.endpoint, probe.variant) in ACCEPTED_BY_DESIGN:
            assert 200 <= outcome.status < 300, where
        else:
            assert 400 <= outcome.status < 500, where


async def test_a_short_run_of_the_mix_has_no_5xx_and_intake_stays_ready(intake: httpx.AsyncClient) -> None:
    mix = await catalogue(intake)
    outcomes, _ = await generate(intake, mix, seconds=3, concurrency=4)
    summary = summarize(outcomes)
    assert summary["requests"] > len(mix.every_variant())  # the first pass, then the mix for 3 s
    assert (summary["malformed_5xx"], summary["valid_5xx"], summary["no_answer"]) == (0, 0, 0)
    assert {row["endpoint"] for row in summary["by_endpoint"]} >= {"POST /v1/tickets", "POST /v1/slack/interactions"}
    assert (await intake.get("/readyz")).status_code == 200
