"""The body-size guard, driven as plain ASGI: no server, no framework."""

from __future__ import annotations

import json
from collections.abc import Iterable

from starlette.types import Message, Receive, Scope, Send

from helpdesk_intake.body_limit import BodySizeLimit

LIMIT = 10


class EchoApp:
    """Reads the whole body the way a framework would, then answers 200 with what it read."""

    def __init__(self) -> None:
        self.called = False
        self.messages: list[Message] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.called = True
        body = b""
        while True:
            message = await receive()
            self.messages.append(message)
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})


async def call(
    chunks: Iterable[bytes], content_length: str | None = None, app: EchoApp | None = None
) -> tuple[EchoApp, int, bytes, list[Message]]:
    app = app or EchoApp()
    headers = [(b"content-type", b"application/json")]
    if content_length is not None:
        headers.append((b"content-length", content_length.encode()))
    scope: Scope = {"type": "http", "method": "POST", "path": "/v1/tickets", "headers": headers}
    pending = list(chunks)
    requests: list[Message] = [
        {"type": "http.request", "body": chunk, "more_body": i < len(pending) - 1}
        for i, chunk in enumerate(pending)
    ]
    received_by_guard: list[Message] = []

    async def receive() -> Message:
        message = requests.pop(0) if requests else {"type": "http.disconnect"}
        received_by_guard.append(message)
        return message

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    await BodySizeLimit(app, max_bytes=LIMIT)(scope, receive, send)
    status = sent[0]["status"]
    body = b"".join(m.get("body", b"") for m in sent[1:])
    return app, status, body, received_by_guard


async def test_a_body_within_the_limit_reaches_the_app_whole() -> None:
    app, status, body, _ = await call([b"0123456789"], content_length="10")
    assert (status, body) == (200, b"0123456789")


async def test_chunks_within_the_limit_reach_the_app_as_one_message() -> None:
    app, status, body, _ = await call([b"0123", b"4567", b"89"])
    assert (status, body) == (200, b"0123456789")
    assert app.messages == [{"type": "http.request", "body": b"0123456789", "more_body": False}]


async def test_an_oversized_content_length_is_refused_before_reading_the_body() -> None:
    app, status, body, received = await call([b"x" * 11], content_length="11")
    assert status == 413 and not app.called and received == []
    assert "limit is 10 bytes" in json.loads(body)["detail"]


async def test_chunks_beyond_the_limit_are_refused_even_without_content_length() -> None:
    app, status, body, received = await call([b"01234", b"56789", b"X", b"never read"])
    assert status == 413 and not app.called
    assert len(received) == 3  # stopped reading at the first byte over the limit
    assert "more than 10 bytes arrived" in json.loads(body)["detail"]


async def test_a_content_length_that_understates_the_body_does_not_fool_it() -> None:
    app, status, _, _ = await call([b"0123456789", b"0123456789"], content_length="5")
    assert status == 413 and not app.called


async def test_a_content_length_that_is_not_a_number_is_a_bad_request() -> None:
    app, status, body, _ = await call([b"{}"], content_length="12abc")
    assert status == 400 and not app.called
    assert "Content-Length" in json.loads(body)["detail"]


async def test_a_client_that_leaves_mid_body_gets_no_answer_and_the_app_is_not_called() -> None:
    app = EchoApp()
    sent: list[Message] = []
    messages = [{"type": "http.request", "body": b"01", "more_body": True}, {"type": "http.disconnect"}]

    async def receive() -> Message:
        return messages.pop(0)

    async def send(message: Message) -> None:
        sent.append(message)

    await BodySizeLimit(app, max_bytes=LIMIT)({"type": "http", "headers": []}, receive, send)
    assert sent == [] and not app.called


async def test_after_the_body_the_app_hears_the_servers_next_message() -> None:
    class ListensAfterBody(EchoApp):
        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            self.messages = [await receive(), await receive()]
            await send({"type": "http.response.start", "status": 204, "headers": []})
            await send({"type": "http.response.body", "body": b""})

    listener = ListensAfterBody()
    await call([b"{}"], app=listener)
    assert [m["type"] for m in listener.messages] == ["http.request", "http.disconnect"]


async def test_other_protocols_pass_through_untouched() -> None:
    seen: list[Scope] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope)

    async def never(*_: object) -> Message:
        raise AssertionError("the guard must not read a lifespan's messages")

    await BodySizeLimit(app, max_bytes=LIMIT)({"type": "lifespan"}, never, never)  # type: ignore[arg-type]
    assert seen == [{"type": "lifespan"}]
