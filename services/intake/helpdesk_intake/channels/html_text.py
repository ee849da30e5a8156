"""HTML reduced to readable text, with the standard library's html.parser only.

Pure. Block elements and <br> break lines, scripts and styles vanish, and the content of a
<blockquote> is prefixed with "> " the way a plain-text client quotes, so the quoted-reply
trimmer can recognise it.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

_BLOCKS = frozenset(
    [
        "address",
        "article",
        "aside",
        "blockquote",
        "dd",
        "div",
        "dl",
        "dt",
        "figcaption",
        "figure",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "li",
        "main",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "table",
        "tbody",
        "thead",
        "tfoot",
        "tr",
        "ul",
    ]
)
_INVISIBLE = frozenset({"script", "style", "head", "title", "template", "noscript"})
_SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")


class _TextCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self._line: list[str] = []
        self._hidden = 0  # depth inside script/style/...
        self._quote_depth = 0
        self._pre = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _INVISIBLE:
            self._hidden += 1
        elif tag == "br":
            self._break()
        elif tag in _BLOCKS:
            self._break()
            if tag == "blockquote":
                self._quote_depth += 1
            elif tag == "pre":
                self._pre += 1
            elif tag == "li":
                self._line.append("- ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br" or tag in _BLOCKS:
            self._break()

    def handle_endtag(self, tag: str) -> None:
        if tag in _INVISIBLE:
            self._hidden = max(0, self._hidden - 1)
        elif tag in _BLOCKS:
            self._break()
            if tag == "blockquote":
                self._quote_depth = max(0, self._quote_depth - 1)
            elif tag == "pre":
                self._pre = max(0, self._pre - 1)
        elif tag in ("td", "th"):
            self._line.append(" ")

    def handle_data(self, data: str) -> None:
        if self._hidden:
            return
        if self._pre:
            pieces = data.split("\n")
            for index, piece in enumerate(pieces):
                if index:
                    self._break(force=True)
                self._line.append(piece)
            return
        self._line.append(_SPACES.sub(" ", data.replace("\n", " ")))

    def _break(self, force: bool = False) -> None:
        text = "".join(self._line) if self._pre else _SPACES.sub(" ", "".join(self._line)).strip()
        self._line = []
        if not text and not force:
            self.lines.append("")
            return
        self.lines.append("> " * self._quote_depth + text if text else text)

    def text(self) -> str:
        self._break()
        return _tidy(self.lines)


def _tidy(lines: list[str]) -> str:
    """No trailing spaces, at most one blank line in a row, none at either end."""
    result: list[str] = []
    for line in lines:
        line = line.rstrip()
        if not line and (not result or not result[-1]):
            continue
        result.append(line)
    while result and not result[-1]:
        result.pop()
    return "\n".join(result)


def html_to_text(html: str) -> str:
    collector = _TextCollector()
    collector.feed(html)
    collector.close()
    return collector.text()
