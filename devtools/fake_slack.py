"""A local fake of Slack's Web API for tests and benchmarks: Slack's HTTP shapes, every call recorded.

    with FakeSlack(token="xoxb-test-token") as slack:
        client = AsyncWebClient(token="xoxb-test-token", base_url=slack.url)
        ...
        call = slack.wait_for_call("chat.postMessage", lambda c: c["body"]["channel"] == "U1")

Endpoints (GET or POST, JSON or form bodies, query parameters merged in):
    /api/chat.postMessage  /api/chat.update  /api/conversations.open  /api/conversations.history
    /api/auth.test  /api/users.info
As on Slack, a message posted to a user id (`U...`) lands in the bot's direct-message conversation with
that user, whose `D...` id (the one conversations.open gives) comes back as `channel`; chat.update and
conversations.history want that conversation id, not the user id.
Control endpoints for other processes (`make up`, benchmarks):
    GET /_calls?method=chat.postMessage   DELETE /_calls   POST /_fail {count, status, retry_after, method}
    GET /_health

CLI: `python -m devtools.fake_slack --port 8099 [--token xoxb-...]`.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import json
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import Any, Self

from aiohttp import web

HOST = "127.0.0.1"
TEAM_ID = "T0FAKE0001"
BOT_USER_ID = "U0FAKEBOT1"
BOT_ID = "B0FAKEBOT1"

Call = dict[str, Any]
# Slack sends these as JSON strings inside form-encoded bodies; record them parsed either way.
_JSON_FIELDS = ("blocks", "attachments", "metadata")


class FakeSlack:
    """Slack Web API fake served by aiohttp on a background thread with its own event loop."""

    def __init__(
        self,
        port: int | None = None,
        token: str | None = None,
        host: str = HOST,
        on_call: Callable[[Call], None] | None = None,
    ) -> None:
        self.host = host
        self.port: int = port or 0
        self._requested_port = port
        self.token = token  # None: any bearer token is accepted, a missing one is still `not_authed`
        self._on_call = on_call
        self._cond = threading.Condition()
        self._calls: list[Call] = []
        self._failure: dict[str, Any] | None = None
        # (conversation, ts) -> message, oldest first
        self._posted: dict[tuple[str, str], dict[str, Any]] = {}
        self._ts_seq = 0
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None

    @property
    def url(self) -> str:
        """The Web API base URL, with the trailing slash slack-sdk's `base_url` expects."""
        return f"http://{self.host}:{self.port}/api/"

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self) -> Self:
        if self._thread is not None:
            return self
        # Bind here, in the caller's thread: a busy port fails at once, and port 0 needs no retry.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self._requested_port or 0))
            sock.listen(128)
        except OSError:
            sock.close()
            raise
        self.port = sock.getsockname()[1]
        ready = threading.Event()
        errors: list[BaseException] = []
        self._thread = threading.Thread(
            target=lambda: asyncio.run(self._serve(sock, ready, errors)), name="fake-slack", daemon=True
        )
        self._thread.start()
        if not ready.wait(10) or errors:
            self.stop()
            raise RuntimeError(f"fake Slack did not start on port {self.port}: {errors}")
        return self

    async def _serve(self, sock: socket.socket, ready: threading.Event, errors: list[BaseException]) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        runner = web.AppRunner(self.make_app(), access_log=None)
        try:
            await runner.setup()
            await web.SockSite(runner, sock).start()
        except BaseException as error:
            errors.append(error)
            ready.set()
            await runner.cleanup()
            raise
        ready.set()
        try:
            await self._stopping.wait()
        finally:
            await runner.cleanup()

    def stop(self) -> None:
        thread, self._thread = self._thread, None
        if thread is None:
            return
        loop, stopping = self._loop, self._stopping
        if loop is not None and stopping is not None and thread.is_alive():
            loop.call_soon_threadsafe(stopping.set)
        thread.join(timeout=10)
        self._loop = self._stopping = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"FakeSlack(url={self.url!r}, calls={len(self._calls)})"

    # -- inspection and failure injection (thread-safe) -----------------------------------------
    def calls(self, method: str | None = None) -> list[Call]:
        """Copies of the recorded calls, oldest first, optionally only those of one API method."""
        with self._cond:
            return [dict(c) for c in self._calls if method is None or c["method"] == method]

    def messages(self) -> list[dict[str, Any]]:
        """Copies of every message as it stands now (as posted, then as last updated), oldest first, each
        with the `channel` (conversation) it is in."""
        with self._cond:
            return [{**_copy(message), "channel": channel} for (channel, _ts), message in self._posted.items()]

    def clear_calls(self) -> int:
        with self._cond:
            count = len(self._calls)
            self._calls.clear()
            return count

    def fail_next(
        self, count: int, status: int = 429, retry_after: int = 1, method: str | None = None
    ) -> None:
        """Answer the next `count` API calls (of `method`, or any) with an HTTP error instead.

        429 comes with `Retry-After` and `{"ok": false, "error": "ratelimited"}`, like Slack's rate limit.
        """
        with self._cond:
            self._failure = {"count": count, "status": status, "retry_after": retry_after, "method": method}

    def fail_for(self, seconds: float, status: int = 500, method: str | None = None) -> None:
        """Answer every API call (of `method`, or any) with an HTTP error for `seconds`: Slack down."""
        with self._cond:
            self._failure = {
                "count": 1 << 62, "status": status, "retry_after": 1, "method": method,
                "until": time.monotonic() + seconds,
            }  # fmt: skip

    def wait_for_call(
        self, method: str, predicate: Callable[[Call], bool] | None = None, timeout: float = 10
    ) -> Call:
        """The first recorded call of `method` (made before or during the wait) matching `predicate`."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for call in self._calls:
                    if call["method"] == method and (predicate is None or predicate(call)):
                        return dict(call)
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    seen = [c["method"] for c in self._calls]
                    raise TimeoutError(f"no matching {method} call within {timeout} s; calls seen: {seen}")
                self._cond.wait(remaining)

    async def wait_for_call_async(
        self, method: str, predicate: Callable[[Call], bool] | None = None, timeout: float = 10
    ) -> Call:
        return await asyncio.to_thread(self.wait_for_call, method, predicate, timeout)

    # -- HTTP -----------------------------------------------------------------------------------
    def make_app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._handle_api)
        app.router.add_get("/_calls", self._handle_list_calls)
        app.router.add_delete("/_calls", self._handle_clear_calls)
        app.router.add_post("/_fail", self._handle_fail)
        app.router.add_get("/_health", self._handle_health)
        return app

    async def _handle_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        body = await _parse_body(request)
        status, payload, headers = self._answer(method, body, request)
        call: Call = {
            "method": method,
            "body": body,
            "headers": dict(request.headers),
            "at": time.time(),
            "status": status,
            "response": payload,
        }
        with self._cond:
            self._calls.append(call)
            self._cond.notify_all()
        if self._on_call is not None:
            self._on_call(call)
        return _json(payload, status=status, headers=headers)

    def _answer(
        self, method: str, body: dict[str, Any], request: web.Request
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        failure = self._take_failure(method)
        if failure is not None:
            return failure
        token = _bearer_token(request) or body.get("token")
        if not token:
            return 200, {"ok": False, "error": "not_authed"}, {}
        if self.token is not None and token != self.token:
            return 200, {"ok": False, "error": "invalid_auth"}, {}
        handler = {
            "chat.postMessage": self._post_message,
            "chat.update": self._update_message,
            "conversations.open": self._open_conversation,
            "conversations.history": self._conversation_history,
            "auth.test": self._auth_test,
            "users.info": self._user_info,
        }.get(method)
        if handler is None:
            return 200, {"ok": False, "error": "unknown_method"}, {}
        with self._cond:  # handlers touch _posted and _ts_seq
            return 200, handler(body), {}

    def _take_failure(self, method: str) -> tuple[int, dict[str, Any], dict[str, str]] | None:
        with self._cond:
            failure = self._failure
            if failure is None or failure["count"] <= 0 or failure["method"] not in (None, method):
                return None
            if time.monotonic() >= failure.get("until", float("inf")):
                self._failure = None  # the outage is over
                return None
            failure["count"] -= 1
        status = failure["status"]
        if status == 429:
            return 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(failure["retry_after"])}
        return status, {"ok": False, "error": "internal_error" if status >= 500 else "request_failed"}, {}

    # -- API methods (called with self._cond held) ----------------------------------------------
    def _next_ts(self) -> str:
        self._ts_seq += 1
        return f"{int(time.time())}.{self._ts_seq % 1_000_000:06d}"

    def _post_message(self, body: dict[str, Any]) -> dict[str, Any]:
        channel = body.get("channel")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        if not any(body.get(k) for k in ("text", "blocks", "attachments")):
            return {"ok": False, "error": "no_text"}
        conversation = _dm_id([channel]) if _is_user_id(channel) else channel
        ts = self._next_ts()
        message = {"type": "message", "text": body.get("text", ""), "user": BOT_USER_ID, "bot_id": BOT_ID,
                   "team": TEAM_ID, "ts": ts}  # fmt: skip
        for key in ("blocks", "attachments", "thread_ts", "metadata"):
            if body.get(key):
                message[key] = body[key]
        self._posted[(conversation, ts)] = message
        return {"ok": True, "channel": conversation, "ts": ts, "message": _copy(message)}

    def _update_message(self, body: dict[str, Any]) -> dict[str, Any]:
        channel, ts = body.get("channel"), body.get("ts")
        if not channel or _is_user_id(channel):  # Slack wants the conversation id here
            return {"ok": False, "error": "channel_not_found"}
        message = self._posted.get((channel, ts or ""))
        if message is None:
            return {"ok": False, "error": "message_not_found"}
        for key in ("text", "blocks", "attachments", "metadata"):
            if key in body:
                message[key] = body[key]
        message["edited"] = {"user": BOT_USER_ID, "ts": self._next_ts()}
        return {"ok": True, "channel": channel, "ts": ts, "text": message.get("text", ""),
                "message": _copy(message)}  # fmt: skip

    def _conversation_history(self, body: dict[str, Any]) -> dict[str, Any]:
        """Newest first, `limit` per page (default 100) with an opaque cursor; `metadata` only when
        `include_all_metadata` is set, as on Slack."""
        channel = body.get("channel")
        if not channel or _is_user_id(channel):
            return {"ok": False, "error": "channel_not_found"}
        try:
            limit = max(1, min(int(body.get("limit") or 100), 999))
            start = int(base64.urlsafe_b64decode(str(body["cursor"])).decode()) if body.get("cursor") else 0
        except ValueError:
            return {"ok": False, "error": "invalid_cursor"}
        with_metadata = _flag(body.get("include_all_metadata"))
        newest_first = [m for (where, _), m in reversed(self._posted.items()) if where == channel]
        page = newest_first[start : start + limit]
        messages = []
        for message in page:
            shown = _copy(message)
            if not with_metadata:
                shown.pop("metadata", None)
            messages.append(shown)
        has_more = start + limit < len(newest_first)
        next_cursor = base64.urlsafe_b64encode(str(start + limit).encode()).decode() if has_more else ""
        return {"ok": True, "messages": messages, "has_more": has_more,
                "response_metadata": {"next_cursor": next_cursor}}  # fmt: skip

    def _open_conversation(self, body: dict[str, Any]) -> dict[str, Any]:
        if body.get("channel"):
            return {"ok": True, "channel": {"id": body["channel"]}}
        users = body.get("users")
        if isinstance(users, str):
            users = [u.strip() for u in users.split(",") if u.strip()]
        if not users:
            return {"ok": False, "error": "users_list_not_supplied"}
        return {"ok": True, "no_op": False, "already_open": False, "channel": {"id": _dm_id(users)}}

    def _auth_test(self, body: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True, "url": "https://fake-slack.local/", "team": "Fake Team", "user": "fakebot",
            "team_id": TEAM_ID, "user_id": BOT_USER_ID, "bot_id": BOT_ID, "is_enterprise_install": False,
        }  # fmt: skip

    def _user_info(self, body: dict[str, Any]) -> dict[str, Any]:
        user = body.get("user")
        if not user:
            return {"ok": False, "error": "user_not_found"}
        name = f"user-{str(user).lower()}"
        profile = {"real_name": f"User {user}", "display_name": name, "email": f"{name}@example.com"}
        user_object = {
            "id": user, "team_id": TEAM_ID, "name": name, "real_name": profile["real_name"],
            "deleted": False, "is_bot": False, "tz": "UTC", "profile": profile,
        }  # fmt: skip
        return {"ok": True, "user": user_object}

    # -- control endpoints ----------------------------------------------------------------------
    async def _handle_health(self, request: web.Request) -> web.Response:
        return _json({"ok": True})

    async def _handle_list_calls(self, request: web.Request) -> web.Response:
        return _json(self.calls(request.query.get("method")))

    async def _handle_clear_calls(self, request: web.Request) -> web.Response:
        return _json({"ok": True, "cleared": self.clear_calls()})

    async def _handle_fail(self, request: web.Request) -> web.Response:
        spec = await _parse_body(request)
        self.fail_next(
            int(spec.get("count", 1)),
            status=int(spec.get("status", 429)),
            retry_after=int(spec.get("retry_after", 1)),
            method=spec.get("method"),
        )
        return _json({"ok": True})


def _json(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    # default=str: recorded bodies may hold values JSON cannot encode (uploaded files)
    return web.json_response(
        payload, status=status, headers=headers, dumps=lambda o: json.dumps(o, default=str)
    )


def _dm_id(users: list[str]) -> str:
    """The same set of users always gets the same direct-message conversation id, as on Slack."""
    digest = hashlib.sha1(",".join(sorted(users)).encode()).hexdigest()[:10].upper()
    return f"D{digest}"


def _is_user_id(channel: str) -> bool:
    return channel[:1] in ("U", "W")


def _flag(value: Any) -> bool:
    """A boolean parameter, sent as JSON `true` or as form text `true`/`1`."""
    return value is True or str(value).lower() in ("true", "1")


def _copy(message: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(message, default=str))


def _bearer_token(request: web.Request) -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


async def _parse_body(request: web.Request) -> dict[str, Any]:
    """Query parameters, overlaid with a JSON or form body (Slack accepts either)."""
    body: dict[str, Any] = dict(request.query)
    if request.can_read_body:
        if request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.post()
            for key, value in form.items():
                body[key] = value if isinstance(value, str) else f"<file {getattr(value, 'filename', '?')}>"
        else:
            raw = await request.text()
            if raw.strip():
                try:
                    parsed = json.loads(raw)
                except ValueError:
                    parsed = {"_raw": raw}
                body.update(parsed if isinstance(parsed, dict) else {"_json": parsed})
    for key in _JSON_FIELDS:
        if isinstance(body.get(key), str):
            try:
                body[key] = json.loads(body[key])
            except ValueError:
                pass
    return body


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devtools.fake_slack", description="Run the fake Slack Web API."
    )
    parser.add_argument("--host", default=HOST)
    parser.add_argument("--port", type=int, default=8099)
    parser.add_argument("--token", default=None, help="accept only this bearer token (default: any)")
    args = parser.parse_args(argv)

    def log_call(call: Call) -> None:
        body = call["body"]
        text = str(body.get("text", ""))[:60]
        print(
            f"{call['method']} status={call['status']} ok={call['response'].get('ok')} "
            f"channel={body.get('channel')} text={text!r}",
            flush=True,
        )

    stopping = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    with FakeSlack(port=args.port, token=args.token, host=args.host, on_call=log_call) as slack:
        print(f"fake Slack Web API on {slack.url}", flush=True)
        while not stopping.wait(1):  # a timed wait keeps the main thread responsive to signals
            pass
    print("fake Slack stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
