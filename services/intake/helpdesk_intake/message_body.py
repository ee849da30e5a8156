"""The text of a message, as every channel's request bodies accept it."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field


def _has_text(body: str) -> str:
    # Kept as written (whitespace can matter in a message), but a blank message is no message.
    if not body.strip():
        raise ValueError("body must contain some text")
    return body


MessageBody = Annotated[str, Field(min_length=1), AfterValidator(_has_text)]
