"""A pure-ASGI guard that refuses request bodies over a size limit before anything parses them."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodySizeLimit:
    """Answers 413 for a body over `max_bytes`, judged on Content-Length and on the bytes that arrive.

    A client may lie in Content-Length or send chunks without one, so the body is read here, at
    most `max_bytes` of it, and handed on in one piece: the application never sees an oversized body.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            declared = _declared_length(scope)
        except ValueError:
            await _reply(send, 400, "Content-Length is not a non-negative integer")
            return
        if declared is not None and declared > self.max_bytes:
            await _reply(send, 413, self._too_large(f"Content-Length is {declared}"))
            return

        chunks: list[bytes] = []
        received = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # the client left: nobody to answer
            chunk = message.get("body", b"")
            received += len(chunk)
            if received > self.max_bytes:
                await _reply(send, 413, self._too_large(f"more than {self.max_bytes} bytes arrived"))
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break

        await self.app(scope, _replay(b"".join(chunks), receive), send)

    def _too_large(self, what: str) -> str:
        return f"request body too large: {what}; the limit is {self.max_bytes} bytes"


def _declared_length(scope: Scope) -> int | None:
    """Content-Length as sent, None without one; ValueError when it is not a number."""
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            if not text.isdigit():
                raise ValueError(text)
            return int(text)
    return None


def _replay(body: bytes, receive: Receive) -> Receive:
    """The body in one message, then whatever the server says next (a disconnect)."""
    delivered = False

    async def replay() -> Message:
        nonlocal delivered
        if delivered:
            return await receive()
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


async def _reply(send: Send, status: int, reason: str) -> None:
    body = json.dumps({"detail": reason}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
