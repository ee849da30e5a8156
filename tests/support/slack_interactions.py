"""Slack interactivity requests as Slack sends them: a block_actions payload, form-encoded and signed."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any
from urllib.parse import urlencode

from helpdesk_events.slack_actions import BlockId

SIGNING_SECRET = "test-signing-secret-0123456789abcdef"


def block_actions(action_id: str, value: str | None, *, slack_user_id: str = "U0AGENT7") -> dict[str, Any]:
    """The shape of a real block_actions payload for a button on a bot message (trimmed of blocks)."""
    action: dict[str, Any] = {
        "action_id": action_id,
        "block_id": BlockId.ACTIONS.value,  # where the notifier's assignment message puts its buttons
        "text": {"type": "plain_text", "text": "Solve", "emoji": True},
        "style": "primary",
        "type": "button",
        "action_ts": "1763892000.123456",
    }
    if value is not None:
        action["value"] = value
    return {
        "type": "block_actions",
        "user": {"id": slack_user_id, "username": "grace", "name": "grace", "team_id": "T0HELPDESK"},
        "api_app_id": "A0HELPDESK",
        "token": "legacy-verification-token",
        "container": {
            "type": "message",
            "message_ts": "1763891990.000200",
            "channel_id": "D0AGENT7",
            "is_ephemeral": False,
        },
        "trigger_id": "1763892000.1234.abcdef",
        "team": {"id": "T0HELPDESK", "domain": "helpdesk"},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": "D0AGENT7", "name": "directmessage"},
        "message": {"type": "message", "ts": "1763891990.000200", "text": "New ticket for you", "blocks": []},
        "state": {"values": {}},
        "response_url": "https://hooks.slack.com/actions/T0HELPDESK/1/abc",
        "actions": [action],
    }


def form_body(payload: dict[str, Any]) -> bytes:
    return urlencode({"payload": json.dumps(payload)}).encode()


def signed_headers(
    body: bytes, *, secret: str = SIGNING_SECRET, timestamp: int | None = None
) -> dict[str, str]:
    """Headers Slack would send: written out here, independent of intake's own signer."""
    sent_at = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{sent_at}:".encode() + body, hashlib.sha256).hexdigest()
    return {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": sent_at,
        "X-Slack-Signature": f"v0={digest}",
    }
