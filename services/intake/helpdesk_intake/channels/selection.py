"""Which channels one intake process serves (`--channels chat,social`, INTAKE_CHANNELS).

Pure. Each channel can run as its own process and Deployment, scaled and isolated on its own;
all run together by default. "web" is the web form and API (POST /v1/tickets, agent actions,
customer follow-ups, Slack interactions).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal, get_args

ChannelName = Literal["web", "email", "chat", "social", "voice"]
ALL_CHANNELS: tuple[ChannelName, ...] = get_args(ChannelName)


class UnknownChannel(ValueError):
    pass


def parse_channels(value: str | Iterable[str]) -> tuple[ChannelName, ...]:
    """ "chat, social" or ["chat", "social"] -> ("chat", "social"); refuses unknown names and nothing."""
    names = value.split(",") if isinstance(value, str) else list(value)
    chosen: list[ChannelName] = []
    for raw in names:
        name = raw.strip().lower()
        if not name:
            continue
        if name not in ALL_CHANNELS:
            raise UnknownChannel(
                f"unknown intake channel {raw.strip()!r}; choose from {', '.join(ALL_CHANNELS)}"
            )
        if name not in chosen:
            chosen.append(name)  # type: ignore[arg-type]
    if not chosen:
        raise UnknownChannel(f"no intake channel chosen; choose from {', '.join(ALL_CHANNELS)}")
    return tuple(chosen)
