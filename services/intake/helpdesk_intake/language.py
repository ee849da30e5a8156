"""The customer's language, as a BCP 47 tag, for `TicketCreated.language` (triage rules match on it).

Pure. Only the shape is checked ("fr", "pt-BR", "zh-Hant-TW"), not the IANA registry: a tag the
router has no rule for just matches no language rule. Tags are stored lower case, since BCP 47
tags are case-insensitive and rules compare them that way.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field

MAX_LANGUAGE_CHARS = 64
_LANGUAGE_TAG = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")


def language_tag(value: str) -> str:
    """`value` as a lower-case tag; ValueError when it does not look like a BCP 47 tag."""
    tag = value.strip()
    if len(tag) > MAX_LANGUAGE_CHARS or not _LANGUAGE_TAG.match(tag):
        raise ValueError(f"{value[:80]!r} is not a BCP 47 language tag like 'fr' or 'pt-BR'")
    return tag.lower()


def content_language(header: str | None) -> str | None:
    """The first tag of an email's Content-Language header ("de-DE, en" is "de-de"), or None when
    there is none or it is malformed: a mail is never refused over its language."""
    if not header:
        return None
    first = header.split(",", 1)[0]
    try:
        return language_tag(first)
    except ValueError:
        return None


LanguageTag = Annotated[
    str,
    AfterValidator(language_tag),
    Field(
        description="The customer's language, a BCP 47 tag such as fr or pt-BR; stored lower case.",
        examples=["fr", "pt-BR"],
    ),
]
