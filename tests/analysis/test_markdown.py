"""Free text made Markdown-safe: real line breaks, escaped specials, nothing cut (checked by rendering it as the
HTML report does)."""

from __future__ import annotations

from nbconvert.filters.markdown_mistune import markdown2html_mistune

from helpers.analysis.markdown import escape, multiline, real_line_breaks


def _render(md: str) -> str:
    """The renderer of the HTML reports (nbconvert's Markdown filter)."""
    return markdown2html_mistune(md)


def test_literal_escapes_become_real_line_breaks():
    assert real_line_breaks("Hi there,\\nyour cart\\r\\nis waiting\r\nnow\rok") == "Hi there,\nyour cart\nis waiting\nnow\nok"
    assert real_line_breaks(None) == ""
    assert real_line_breaks("no breaks") == "no breaks"


def test_escape_keeps_the_text_as_typed_when_rendered():
    text = "Save $5 on $20 *today* _only_ at <Shop> #1 | [link] ~x~ `code`"
    html = _render(escape(text))
    assert html == "<p>Save $5 on $20 *today* _only_ at &lt;Shop&gt; #1 | [link] ~x~ `code`</p>\n"
    assert escape("$5") == "\\$5"


def test_line_starts_that_would_make_lists_or_headings_are_escaped():
    for line in ("- not a list", "+ not a list", "1. not a list", "# not a heading", "2) not a list"):
        html = _render(escape(line))
        assert html.startswith("<p>") and "<li>" not in html and "<h1>" not in html
    assert "<h1>" not in _render(escape("Title\n====="))


def test_multiline_keeps_every_line_and_paragraph():
    body = "Hi Sam,\\nYour cart is waiting.\\n\\n    Indented line\\nReply STOP to opt out."
    md = multiline(body)
    html = _render(md)
    assert html == ("<p>Hi Sam,<br />\nYour cart is waiting.</p>\n<p>Indented line<br />\nReply STOP to opt out.</p>\n")
    assert "\\n" not in md.replace("\\\n", "")  # no literal backslash-n left
    long = "word " * 500
    assert _render(multiline(long)).count("word") == 500  # nothing is cut
    assert multiline("") == "" and multiline(None) == ""
