"""Self-contained HTML reports a reader can open offline and forward: the code-free report of an executed
notebook, and the one-sentence page of a job that failed.

A report loads nothing from anywhere: the nbconvert template in ``helpers/runner/templates/report/`` empties the
lab template's CDN script blocks (require.js, MathJax, Mermaid, widgets), inlines every style and image,
and sets a Content-Security-Policy so that no output can fetch from another origin either.

Alt text convention: a chart shown with :func:`helpers.report.figures.show_figure` (IPython's ``Image(alt=...)``, which puts
``{"image/png": {"alt": ...}}`` in the output's metadata) gets that sentence as its ``<img alt>``; images
without one keep nbconvert's "No description has been provided for this image".
"""

from __future__ import annotations

import copy
import html
import re
from pathlib import Path

from nbconvert import HTMLExporter
from nbconvert.preprocessors import Preprocessor, TagRemovePreprocessor

from helpers import report
from helpers.report import blocks as report_blocks

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
TEMPLATE_NAME = "report"
SANDBOX_CLASS = "workbooks-sandbox-banner"
FAILURE_CLASS = "workbooks-failure"
FINDINGS_CLASS = report_blocks.FINDINGS_CLASS  # the block of 3-5 findings a report opens with
HEADER_CLASS = report_blocks.HEADER_CLASS  # run date, data period, currency
SINCE_CLASS = report_blocks.SINCE_CLASS  # "Since the last run"

_REMOVE_CELL_TAGS = {"parameters", "injected-parameters", "remove-cell"}
_REMOVE_INPUT_TAGS = {"remove-input", "hide-input"}
_REMOVE_OUTPUT_TAGS = {"remove-output"}
# Every page's Content-Security-Policy: inline styles, images as data: URLs, no scripts, nothing fetched from
# any origin, so even a notebook output that names a URL cannot make a forwarded report phone home.
CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; font-src data:"
_BANNER_STYLE = (
    "border:2px solid #b45309;background:#fef3c7;color:#78350f;padding:8px 12px;border-radius:6px;font-weight:600"
)


# ---------------------------------------------------------------------------------------------- reports


class _DropRecordsAndEmptyCells(Preprocessor):
    """``record`` outputs are for the runner, not the reader; a code cell left with no output is noise."""

    def preprocess(self, nb, resources):
        for cell in nb.cells:
            if cell.cell_type == "code":
                cell.outputs = [o for o in cell.outputs if report.RECORD_MIME not in o.get("data", {})]
        nb.cells = [c for c in nb.cells if c.cell_type != "code" or c.outputs]
        return nb, resources


def _exporter() -> HTMLExporter:
    exporter = HTMLExporter(
        template_name=TEMPLATE_NAME,
        extra_template_basedirs=[str(TEMPLATE_DIR)],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        embed_images=True,  # markdown images, if a notebook ever has one, inline as data: too
    )
    exporter.register_preprocessor(
        TagRemovePreprocessor(
            enabled=True,
            remove_cell_tags=_REMOVE_CELL_TAGS,
            remove_input_tags=_REMOVE_INPUT_TAGS,
            remove_all_outputs_tags=_REMOVE_OUTPUT_TAGS,
        ),
        enabled=True,
    )
    exporter.register_preprocessor(_DropRecordsAndEmptyCells(enabled=True), enabled=True)
    return exporter


def report_html(nb, title: str, sandbox: bool) -> str:
    """A code-free, self-contained report of an executed notebook: no inputs, prompts, parameter cells or
    record outputs; inline styles and images only. A sandbox run always carries the sandbox banner (the
    notebook shows it from ``report.setup``; it is added here if the notebook did not get that far)."""
    import nbformat

    nb = copy.deepcopy(nb)
    plain_words(nb)
    _open_with_blocks(nb)
    if sandbox and not _shows_banner(nb):
        banner = nbformat.v4.new_markdown_cell(sandbox_banner_html())
        first_heading = 1 if nb.cells and nb.cells[0].cell_type == "markdown" else 0
        nb.cells.insert(first_heading, banner)
    body, _ = _exporter().from_notebook_node(nb, resources={"metadata": {"name": title}, "report_csp": CSP})
    return body


_CODE_SPAN = re.compile(r"`([^`\n]+)`")
_IDENTIFIER = re.compile(r"\b[A-Za-z_][A-Za-z0-9_]*\b")


def parameter_values(nb) -> dict:
    """The parameters this run used: the parameters cell's literals, then the values papermill injected."""
    import ast

    values: dict = {}
    for cell in nb.cells:
        tags = set(cell.get("metadata", {}).get("tags", []))
        if cell.cell_type != "code" or not tags & {"parameters", "injected-parameters"}:
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
            continue
        for node in tree.body:
            target = node.targets[0] if isinstance(node, ast.Assign) and len(node.targets) == 1 else getattr(node, "target", None)
            if isinstance(target, ast.Name) and getattr(node, "value", None) is not None:
                try:
                    values[target.id] = ast.literal_eval(node.value)
                except ValueError:
                    continue
    values.update((nb.metadata.get("papermill") or {}).get("parameters") or {})
    return values


def plain_words(nb) -> None:
    """The notebook's Markdown in a reader's words: a named parameter becomes what it meant in this run
    (`` `min_recipients` `` → "500 recipients", ``helpers.params.describe``), a column or metric name its
    words (``helpers.analysis.wording.term``). Code words are for the analyst in JupyterLab, who sees the
    parameters cell; the report has no parameters cell to look them up in. File names stay as they are.
    Markdown a code cell displayed is read the same way (a timeframe key it printed becomes its days)."""
    from helpers import params
    from helpers.analysis import wording

    values = parameter_values(nb)

    def word(name: str) -> str | None:
        if name in values and (phrase := params.describe(name, values[name])) is not None:
            return phrase
        return wording.term(name) if "_" in name or name in wording.TERMS else None

    def reword(match: re.Match) -> str:
        span = match[1]
        if _IDENTIFIER.fullmatch(span):
            return word(span) or match[0]
        # A formula such as `1 − min_relative_gap`: its parameters by value, out of code type.
        named = [n for n in _IDENTIFIER.findall(span) if n in values and params.describe(n, values[n])]
        if not named:
            return match[0]
        return _IDENTIFIER.sub(lambda m: word(m[0]) if m[0] in named else m[0], span)

    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = _CODE_SPAN.sub(reword, cell.source)
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            data = output.get("data") or {}
            if isinstance(data.get("text/markdown"), str):  # display(Markdown(f"... `{timeframe}` ..."))
                data["text/markdown"] = _CODE_SPAN.sub(reword, data["text/markdown"])


def _open_with_blocks(nb) -> None:
    """Lift the outputs a notebook marked for the top (``helpers.report.blocks``: header, findings, since the
    last run) to the start of the report: the title (the first Markdown cell's ``# heading``), the sandbox
    banner, those blocks in their fixed order, then the rest of the first cell (question, needs, costs) and
    everything else as the notebook has it. A notebook with no such output is left as it is."""
    import nbformat

    if not any(report_blocks.place_of(o) for c in nb.cells for o in c.get("outputs", []) or []):
        return
    banners = _take(nb, lambda o: report.SANDBOX_BANNER in str(o.get("data", {}).get("text/html", "")))
    blocks = [_take(nb, lambda o, kind=kind: report_blocks.place_of(o) == kind) for kind in report_blocks.PLACES]
    opening = []
    if nb.cells and nb.cells[0].cell_type == "markdown":
        title, rest = _split_title(nb.cells[0].source)
        if title:
            opening.append(nbformat.v4.new_markdown_cell(title))
            nb.cells[0].source = rest
            if not rest.strip():
                nb.cells.pop(0)
    for outputs in (banners, *blocks):
        if outputs:
            cell = nbformat.v4.new_code_cell("")
            cell.outputs = outputs
            opening.append(cell)
    nb.cells[:0] = opening


def _take(nb, wanted) -> list:
    """Remove and return, in notebook order, every code-cell output for which ``wanted(output)`` holds."""
    taken = []
    for cell in nb.cells:
        if cell.cell_type == "code" and cell.get("outputs"):
            taken += [o for o in cell.outputs if wanted(o)]
            cell.outputs = [o for o in cell.outputs if not wanted(o)]
    return taken


def _split_title(source: str) -> tuple[str, str]:
    """(the first ``# heading`` line, the rest of the cell); ("", source) when the cell has none."""
    lines = source.splitlines()
    for i, line in enumerate(lines):
        if re.match(r"^#\s+\S", line):
            return line, "\n".join(lines[:i] + lines[i + 1:]).strip("\n")
    return "", source


def _shows_banner(nb) -> bool:
    for cell in nb.cells:
        for output in cell.get("outputs", []) or []:
            if report.SANDBOX_BANNER in str(output.get("data", {}).get("text/html", "")):
                return True
    return False


def sandbox_banner_html() -> str:
    """The banner every page made from sandbox data carries (the notebooks show the same text)."""
    return (
        f'<div class="{SANDBOX_CLASS}" style="{_BANNER_STYLE}">{html.escape(report.SANDBOX_BANNER)}. '
        "Numbers come from the local emulator, seeded and reproducible.</div>"
    )


# ---------------------------------------------------------------------------------------------- failed jobs


def failed_report_html(notebook_title: str, error_sentence: str, sandbox: bool) -> str:
    """The page a failed job publishes instead of its report: the title, the sandbox banner when the run
    used the sandbox, and one sentence saying what failed and what to do. No traceback, code or paths:
    the executed ``.ipynb`` beside it keeps those for the analyst."""
    title = html.escape(notebook_title)
    banner = sandbox_banner_html() if sandbox else ""
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>{title}: not finished</title>
<style>
body {{ font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: #1f2937;
       max-width: 52rem; margin: 2rem auto; padding: 0 1rem; line-height: 1.5; }}
h1 {{ font-size: 1.6rem; margin-bottom: 1rem; overflow-wrap: anywhere; }}
.{FAILURE_CLASS} {{ border-left: 4px solid #b91c1c; background: #fef2f2; padding: 0.75rem 1rem; margin-top: 1rem;
       overflow-wrap: anywhere; }}
</style>
</head>
<body>
<main>
<h1>{title}</h1>
{banner}
<p class="{FAILURE_CLASS}">{html.escape(error_sentence)}</p>
</main>
</body>
</html>
"""


_RUNNER_ERROR = re.compile(r"^(?P<name>[A-Za-z_][\w.]*): ?(?P<message>.*)$")  # "ValueError: message"
_WHERE = re.compile(r" \((?:In \[\d+\]|cell \d+)\)$")  # the runner's "(In [7])": the .ipynb has it
_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://\S+", re.I)
# Absolute (/x/y, ~/x, C:\x) and ./ ../ relative paths, and Python file names; "email/sms" stays.
_PATH = re.compile(r"(?<![\w/])(?:~|[A-Za-z]:)?[\\/][\w.@+-]+(?:[\\/][\w.@+-]*)*|\.{1,2}/\S+|\b[\w.-]+\.py\b")
_ERRNO = re.compile(r"\[Errno -?\d+\] ")
# An API request named beside what it fetched ("the list of segments (GET /api/segments)"): the words stay.
_METHOD = r"(?:GET|POST|PATCH|PUT|DELETE) /[^\s),:;]*"
_REQUEST = re.compile(rf" ?\({_METHOD}\)|{_METHOD}, | on {_METHOD}")
_FILE_LINE = re.compile(r'File "[^"]*"(?:, line \d+)?,?\s*')
# Exceptions whose message is written for the reader and already says what to do.
_SELF_EXPLAINING = {"ConfigError", "BudgetExceeded", "CreditsExhausted", "DailyLimitReached", "RunError",
                    "KlaviyoAuthError", "MaveraAuthError", "KlaviyoSettingsError", "MaveraSettingsError"}
_AGAIN = "the executed notebook saved beside this page shows where it stopped"


def failure_sentence(error: str) -> str:
    """One sentence for the reader from the runner's one-line error (``run.json``'s ``error``): what failed
    and what to do, with no traceback, code or file paths."""
    first = (error or "").strip().splitlines()[0] if (error or "").strip() else ""
    if first.startswith("timed out"):
        return (
            "The job ran past its time budget and was stopped; run it again with a larger --timeout, "
            f"or on less data ({_AGAIN})."
        )
    if first.startswith("the kernel died"):
        return (
            "The notebook's Python process died (out of memory or killed) and the job stopped; "
            "run it again, on a machine with more memory if it happens again."
        )
    if first.startswith("HTML export failed"):
        return "The job ran but its report could not be written; run the job again."
    match = _RUNNER_ERROR.match(_WHERE.sub("", first))
    name, message = (match["name"], match["message"]) if match else ("", first)
    message = _clean(message)
    short = name.rsplit(".", 1)[-1]
    if short == "ParameterError":
        return f"The job stopped before fetching anything: {message}; correct the value and run the job again."
    if short in _SELF_EXPLAINING and message:
        return f"The job stopped: {_sentence_end(message)}"
    # A long message speaks for itself; a short one ("'tier'") needs its exception name to mean anything.
    what = message if len(message) >= 20 else ": ".join(p for p in (short, message) if p) or "unknown"
    return f"The job stopped with an error ({what}); {_AGAIN} — fix the cause and run the job again."


def _clean(text: str) -> str:
    """Paths, file references and URLs out (a reader has no use for them and they may reveal a machine)."""
    text = _REQUEST.sub("", _FILE_LINE.sub("", _ERRNO.sub("", text)))
    text = _URL.sub("the server", text)
    text = _PATH.sub("a file", text)
    text = " ".join(text.split())
    return text if len(text) <= 240 else text[:239].rstrip() + "…"


def _sentence_end(text: str) -> str:
    return text if text.endswith((".", "!", "?")) else text + "."
