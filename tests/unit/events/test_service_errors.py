"""Every service answers a body it cannot use with a 4xx, whatever the body holds."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel

from helpdesk_events.service import install_error_handlers


class Reply(BaseModel):
    body: str
    public: bool = True


def app_with(handlers: bool) -> FastAPI:
    app = FastAPI()
    if handlers:
        install_error_handlers(app)

    @app.post("/replies")
    async def reply(payload: Reply) -> dict[str, str]:
        return {"body": payload.body}

    return app


def test_a_body_with_infinity_gets_a_422_naming_the_field() -> None:
    response = TestClient(app_with(handlers=True)).post(
        "/replies", content=b'{"body": Infinity, "public": NaN}', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    fields = {tuple(error["loc"]) for error in response.json()["detail"]}
    assert ("body", "body") in fields and ("body", "public") in fields
    assert response.json()["detail"][0]["input"] == "inf"  # the input is still shown, as text


def test_without_the_handler_fastapi_fails_on_it() -> None:
    """Why the handler exists: FastAPI's own 422 cannot be written for such a body."""
    client = TestClient(app_with(handlers=False), raise_server_exceptions=False)
    response = client.post("/replies", content=b'{"body": Infinity}', headers={"Content-Type": "application/json"})
    assert response.status_code == 500
