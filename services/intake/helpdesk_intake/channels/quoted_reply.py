"""The new text of a reply: the quoted previous mail trimmed off, where it can be recognised.

Pure. Recognised: Gmail/Apple "On <date>, <name> wrote:" (also wrapped over two lines, and the
French and German forms), Outlook's "-----Original Message-----" and its "From: ... Sent: ..."
header block (also under a line of underscores), and lines quoted with ">". When trimming would
leave nothing (a mail that is only a quote, or a marker on the first line) the text is kept whole:
losing the customer's words is worse than showing a quote.
"""

from __future__ import annotations

import re

_ATTRIBUTION_END = re.compile(r"(wrote|a écrit|schrieb|escribió)\s*:\s*$", re.IGNORECASE)
_ATTRIBUTION_START = re.compile(r"^(On|Le|Am|El)\s", re.IGNORECASE)
_ORIGINAL_MESSAGE = re.compile(
    r"^-{2,}\s*(Original Message|Ursprüngliche Nachricht|Message d'origine)\s*-{2,}", re.IGNORECASE
)
_UNDERSCORES = re.compile(r"^_{10,}\s*$")
_HEADER_FROM = re.compile(r"^\*?(From|De|Von)\s*:\*?\s", re.IGNORECASE)
_HEADER_SENT = re.compile(r"^\*?(Sent|Date|Envoyé|Gesendet)\s*:\*?\s", re.IGNORECASE)
_LOOKAHEAD_LINES = 4


def trim_quoted_reply(text: str) -> str:
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    cut = _quote_start(lines)
    kept = [line for line in lines[:cut] if not line.lstrip().startswith(">")]
    trimmed = "\n".join(kept).strip()
    return trimmed if trimmed else text.strip()


def _quote_start(lines: list[str]) -> int:
    """Index of the first line of the quoted mail; len(lines) when there is none."""
    for index, raw in enumerate(lines):
        line = raw.strip()
        if _ORIGINAL_MESSAGE.match(line):
            return index
        if _is_attribution(lines, index):
            return index
        if _HEADER_FROM.match(line) and _sent_follows(lines, index):
            # The underscore rule Outlook puts above the header block goes too.
            if index > 0 and _UNDERSCORES.match(lines[index - 1].strip()):
                return index - 1
            return index
    return len(lines)


def _is_attribution(lines: list[str], index: int) -> bool:
    line = lines[index].strip()
    if line.startswith(">") or not _ATTRIBUTION_START.match(line):
        return False
    if _ATTRIBUTION_END.search(line):
        return True
    # Clients wrap a long attribution: "On Mon, 23 Nov 2026 at 10:00, Ada Lovelace <ada@x>\nwrote:".
    following = lines[index + 1].strip() if index + 1 < len(lines) else ""
    return bool(following) and len(following) < 40 and bool(_ATTRIBUTION_END.search(following))


def _sent_follows(lines: list[str], index: int) -> bool:
    window = lines[index + 1 : index + 1 + _LOOKAHEAD_LINES]
    return any(_HEADER_SENT.match(line.strip()) for line in window)
