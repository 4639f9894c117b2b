"""Free text (generated copy, focus-group answers) made safe to show in a notebook's Markdown, in full.

Generated text arrives with literal "\\n" escapes, Windows line ends and characters Markdown acts on: "*"
starts emphasis, a leading "#" a heading, and in Jupyter "$…$" is typeset as maths ("save $5 on $20"
would come out in italics with the dollars gone). The report must show what the customer will read,
so these helpers turn escapes into real line breaks, escape what Markdown would interpret and keep each
line break visible (a single newline in Markdown is just a space).
"""

from __future__ import annotations

import re

__all__ = ["escape", "multiline", "real_line_breaks"]

_SPECIAL = re.compile(r"([\\`*_\[\]<>#|~$])")
# Line starts that would make a list item or a setext heading underline.
_LINE_START = re.compile(r"^(\s*)([-+=]|\d+(?=[.)]))")


def real_line_breaks(text: str | None) -> str:
    """`text` with literal `\\n` / `\\r\\n` escapes and CR/CRLF line ends as real newlines; None → ""."""
    if text is None:
        return ""
    return str(text).replace("\\r\\n", "\n").replace("\\n", "\n").replace("\r\n", "\n").replace("\r", "\n")


def escape(text: str | None) -> str:
    """Free text with every Markdown-active character backslash-escaped (`$` included).

    A leading "-", "+", "=" or "1." would start a list or underline a heading: escaped too. The rendered
    text reads exactly as given.
    """
    escaped = _SPECIAL.sub(r"\\\1", real_line_breaks(text))
    return "\n".join(_LINE_START.sub(_escape_start, line) for line in escaped.split("\n"))


def _escape_start(match: re.Match) -> str:
    lead, marker = match.group(1), match.group(2)
    # "1." → "1\." (the dot is what makes a list); "-" → "\-".
    return f"{lead}{marker}\\" if marker[0].isdigit() else f"{lead}\\{marker}"


def multiline(text: str | None) -> str:
    """Escaped free text whose line breaks survive rendering: each break is a hard break, blank lines stay
    paragraph breaks, leading indentation is dropped (four spaces would turn a line into a code block).
    Nothing is cut."""
    lines = [line.lstrip() for line in escape(text).split("\n")]
    out = []
    for k, line in enumerate(lines):
        last = k == len(lines) - 1
        nxt_blank = not last and not lines[k + 1].strip()
        out.append(line if last or not line.strip() or nxt_blank else line + "\\")
    return "\n".join(out)
