"""The bad-input catalogue: each malformed request really is malformed, each valid one would pass
intake's own checks; and the summary counts what the run saw."""

from __future__ import annotations

import json
import time
from urllib.parse import parse_qs

import pytest

from bench.bad_input import (
    Catalogue,
    Outcome,
    Probe,
    SeedTicket,
    Targets,
    error_log_lines,
    server_error_count,
    summarize,
)
from helpdesk_intake.channels.webhook_signature import BadSignature, verify_body_signature
from helpdesk_intake.slack_signature import BadSlackSignature, SlackSignatureVerifier

MAX = 200_000  # smaller than intake's default, so the huge bodies stay small in tests (above "deeply nested")


def targets() -> Targets:
    seeds = [SeedTicket("0f0e0d0c-0000-4000-8000-000000000001", "seed0@example.com", "bench-3", "cust-1")]
    return Targets(max_body_bytes=MAX, social_network="facebook", social_secret="s0cial", voice_secret="v0ice",
                   slack_secret="sl4ck", tickets=seeds)


def probes(kind: str | None = None, variant: str | None = None, endpoint: str | None = None) -> list[Probe]:
    return [
        p for p in Catalogue(targets()).every_variant()
        if (kind is None or p.kind == kind) and (variant is None or p.variant == variant)
        and (endpoint is None or endpoint in p.endpoint)
    ]


def test_every_endpoint_gets_valid_and_malformed_requests() -> None:
    catalogue = Catalogue(targets())
    kinds = {(p.endpoint, p.kind) for p in catalogue.every_variant()}
    for endpoint in catalogue.endpoints:
        assert {(endpoint, "valid"), (endpoint, "malformed")} <= kinds, endpoint
    assert len(catalogue.endpoints) == 12


def test_the_huge_bodies_are_over_the_limit_and_the_others_under_it() -> None:
    huge = [p for p in probes() if "MAX_BODY_BYTES" in p.variant]
    assert len(huge) >= 10
    assert all(len(p.body or b"") > MAX for p in huge)
    assert all(len(p.body or b"") <= MAX for p in probes() if p not in huge)
    assert any(p.chunked for p in huge) and not all(p.chunked for p in huge)


@pytest.mark.parametrize("endpoint, header, secret", [
    ("social", "X-Hub-Signature-256", "s0cial"),
    ("voice", "X-Helpdesk-Signature", "v0ice"),
])
def test_only_the_valid_webhooks_carry_a_signature_intake_accepts(endpoint: str, header: str, secret: str) -> None:
    (valid,) = probes("valid", endpoint=endpoint)
    verify_body_signature(secret, header, valid.headers.get(header), valid.body or b"")
    for forged in ("no signature", "wrong signature"):
        (probe,) = probes("malformed", forged, endpoint)
        with pytest.raises(BadSignature):
            verify_body_signature(secret, header, probe.headers.get(header), probe.body or b"")


def test_only_the_valid_slack_press_is_signed_fresh_with_the_secret() -> None:
    verifier = SlackSignatureVerifier("sl4ck", clock=time.time)

    def verify(probe: Probe) -> None:
        headers = probe.headers
        verifier.verify(headers.get("X-Slack-Request-Timestamp"), headers.get("X-Slack-Signature"), probe.body or b"")

    (valid,) = probes("valid", endpoint="slack")
    verify(valid)
    payload = json.loads(parse_qs((valid.body or b"").decode())["payload"][0])
    assert payload["actions"][0]["action_id"] == "ticket_open"  # the link button: changes nothing
    for forged in ("unsigned", "wrong signature", "stale timestamp", "timestamp not a number"):
        (probe,) = probes("malformed", forged, "slack")
        with pytest.raises(BadSlackSignature):
            verify(probe)


def test_malformed_json_bodies_do_not_parse_or_do_not_fit_the_model() -> None:
    for probe in probes("malformed", "bad JSON"):
        with pytest.raises(ValueError):
            json.loads(probe.body or b"")
    accepted = {"email": "message/rfc822", "voice": "application/x-www-form-urlencoded",
                "slack": "application/x-www-form-urlencoded"}
    wrong = [p for p in probes("malformed") if "content type" in p.variant or p.variant == "signed JSON body"]
    assert len({p.endpoint for p in wrong}) == 10  # every POST route
    for probe in wrong:
        expected = next((kind for name, kind in accepted.items() if name in probe.endpoint), "application/json")
        assert probe.headers["Content-Type"] != expected, probe


def test_the_mix_follows_the_valid_share_and_visits_every_endpoint_in_turn() -> None:
    never = Catalogue(targets(), valid_share=0.0)
    always = Catalogue(targets(), valid_share=1.0)
    assert {never.next(n).kind for n in range(200)} == {"malformed"}
    assert {always.next(n).kind for n in range(200)} == {"valid"}
    mixed = Catalogue(targets(), valid_share=0.3)
    sent = [mixed.next(n) for n in range(1200)]
    assert [p.endpoint for p in sent[:12]] == mixed.endpoints
    assert 0.25 < sum(p.kind == "valid" for p in sent) / len(sent) < 0.35


def test_summary_counts_statuses_5xx_and_unanswered_per_endpoint_and_kind() -> None:
    def outcome(kind: str, status: int | None, seconds: float = 0.01) -> Outcome:
        probe = Probe("POST /v1/tickets", kind, "bad JSON" if kind == "malformed" else "valid", "POST", "/v1/tickets")
        return Outcome(probe, status, seconds, None if status else "ReadTimeout")

    summary = summarize([outcome("malformed", 422), outcome("malformed", 422), outcome("malformed", 500),
                         outcome("malformed", None), outcome("valid", 201), outcome("valid", 503)])
    malformed = next(row for row in summary["by_endpoint"] if row["kind"] == "malformed")
    assert malformed["statuses"] == {"422": 2, "500": 1, "no answer": 1}
    assert (malformed["server_errors"], malformed["error_rate_5xx"], malformed["no_answer"]) == (1, 0.25, 1)
    assert (summary["malformed_5xx"], summary["valid_5xx"], summary["no_answer"]) == (1, 1, 1)
    assert summary["by_endpoint"][0]["kind"] == "valid"


def test_server_errors_are_read_from_intakes_own_request_counter() -> None:
    text = "\n".join([
        'helpdesk_http_requests_total{method="POST",route="/v1/tickets",service="intake",status="201"} 90.0',
        'helpdesk_http_requests_total{method="POST",route="/v1/tickets",service="intake",status="503"} 2.0',
        'helpdesk_http_requests_total{method="POST",route="unmatched",service="intake",status="500"} 1.0',
        'helpdesk_http_requests_total{method="GET",route="/metrics",service="router",status="500"} 7.0',
        'helpdesk_http_request_seconds_count{method="POST",route="/v1/tickets",service="intake"} 93.0',
    ])
    assert server_error_count(text) == 3


def test_error_log_lines_are_errors_and_tracebacks_only() -> None:
    log = "\n".join([
        json.dumps({"level": "WARNING", "message": "refused a Slack interaction: stale"}),
        json.dumps({"level": "ERROR", "message": "Exception in ASGI application"}),
        "Traceback (most recent call last):",
        "plain text line at INFO",
    ])
    assert error_log_lines(log) == 2
