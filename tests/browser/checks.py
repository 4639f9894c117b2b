"""What a reader would notice on a page, measured in the browser. Each check returns the problems it found
(an empty list when the page is fine), so a failing assert says what is wrong and where."""

from __future__ import annotations

from helpers import report
from helpers.runner import report_html
from tests.browser.conftest import WIDTH

NO_ALT = "No description has been provided for this image"  # nbconvert's filler when a chart has no alt


def horizontal_overflow(page) -> list[str]:
    width = page.evaluate("document.scrollingElement.scrollWidth")
    return [f"the page is {width} px wide in a {WIDTH} px window"] if width > WIDTH else []


def undecoded_images(page) -> list[str]:
    """Images that do not decode (a broken data: URL, a missing file)."""
    results = page.evaluate(
        """() => Promise.all([...document.images].map((img, i) =>
             img.decode().then(() => [i, img.naturalWidth], () => [i, 0])))"""
    )
    return [f"image {i} does not decode" for i, width in results if width <= 0]


def image_count(page) -> int:
    return page.evaluate("document.images.length")


def clipped_tables(page) -> list[str]:
    """Tables wider than the box they sit in, where that box cuts them off instead of scrolling."""
    return page.evaluate(
        """() => [...document.querySelectorAll('table')].flatMap((table, i) => {
             let box = table.parentElement;
             while (box && box !== document.body && getComputedStyle(box).overflowX === 'visible') {
               box = box.parentElement;
             }
             if (!box || box === document.body) return [];
             const wide = table.getBoundingClientRect().width > box.clientWidth + 1;
             const scrolls = ['auto', 'scroll'].includes(getComputedStyle(box).overflowX);
             return wide && !scrolls ? [`table ${i} is cut off by a box that does not scroll`] : [];
           })"""
    )


def overflowing(page) -> list[str]:
    """Tables and focus-group stimuli that do not fit: wider than the box they sit in (so that box would have
    to scroll to show them: a column hidden at this width) or running past the window's right edge (#23)."""
    return page.evaluate(
        """(width) => [...document.querySelectorAll('table, .workbooks-stimulus')].flatMap((el, i) => {
             const what = `${el.tagName === 'TABLE' ? 'table' : 'stimulus'} ${i} (${el.innerText.trim().slice(0, 40)})`;
             const box = el.parentElement;
             const right = Math.round(el.getBoundingClientRect().right);
             const problems = [];
             if (el.scrollWidth > el.clientWidth + 1) problems.push(`${what} cuts off its own content`);
             if (box.scrollWidth > box.clientWidth + 1) problems.push(`${what} is ${box.scrollWidth} px wide in a ${box.clientWidth} px box`);
             if (right > width) problems.push(`${what} runs to ${right} px in a ${width} px window`);
             return problems;
           })""", WIDTH)


def raw_tables(page) -> list[str]:
    """Tables that read like a notebook's, not a report's: an empty header cell (a pandas index) or a
    snake_case column name."""
    return page.evaluate(
        """() => [...document.querySelectorAll('table')].flatMap((table, i) =>
             [...table.querySelectorAll('thead th, tr:first-child th')].flatMap(th => {
               const text = th.innerText.trim();
               if (!text) return [`table ${i} has an empty header cell (a pandas index?)`];
               return /^[a-z0-9]+(_[a-z0-9]+)+$/.test(text) ? [`table ${i} has the raw column name ${text}`] : [];
             }))"""
    )


def sandbox_banner_shown(page) -> bool:
    return page.get_by_text(report.SANDBOX_BANNER).first.is_visible()


def findings_not_first(page) -> list[str]:
    """The findings block (class ``report_html.FINDINGS_CLASS``) must be the first content after the title,
    the sandbox banner and the header facts (run date, data period, currency: ``report_html.HEADER_CLASS``)."""
    return page.evaluate(
        """([findings, bannerClass, bannerText, headerClass]) => {
             const isTitle = cell => {
               const h1 = cell.querySelector('h1');
               return h1 && cell.innerText.trim() === h1.innerText.trim();
             };
             const isBanner = cell => cell.querySelector('.' + bannerClass) || cell.innerText.includes(bannerText);
             const isHeader = cell => cell.querySelector('.' + headerClass) &&
               [...cell.querySelectorAll('.jp-OutputArea-output')].every(o => o.querySelector('.' + headerClass));
             const content = [...document.querySelectorAll('main > .jp-Cell')]
               .filter(cell => cell.innerText.trim() !== '' && !isTitle(cell) && !isBanner(cell) && !isHeader(cell));
             if (!content.length) return ['the page has no content after the banner'];
             const first = content[0];
             return first.classList.contains(findings) || first.querySelector('.' + findings) ? [] :
               ['the first content after the banner is not the findings block: ' + first.innerText.trim().slice(0, 80)];
           }""",
        [report_html.FINDINGS_CLASS, report_html.SANDBOX_CLASS, report.SANDBOX_BANNER, report_html.HEADER_CLASS],
    )


def missing_alt_texts(page) -> list[str]:
    alts = page.evaluate("[...document.images].map(img => img.alt)")
    return [f"image {i} has no alt text" for i, alt in enumerate(alts) if not alt.strip() or alt == NO_ALT]


E_NOTATION = r"\b\d+(?:\.\d+)?[eE][-+]?\d+\b"


def code_words(manifest: dict, notebooks_dir) -> set[str]:
    """The words a reader must never meet: every parameter of the notebooks (their parameters cells) and every
    metric they record (run.json), where the name is a snake_case identifier."""
    import papermill

    words: set[str] = set()
    for path in sorted(notebooks_dir.glob("[0-9][0-9]_*.ipynb")):
        words.update(papermill.inspect_notebook(str(path)))
    for job in manifest["jobs"]:
        words.update((job.get("metrics") or {}).keys())
    from helpers.params import TIMEFRAMES

    words.update(TIMEFRAMES)  # Klaviyo's timeframe keys: "the last 90 days" to a reader
    return {w for w in words if "_" in w.strip("_")}


def _flat(value) -> list[str]:
    if isinstance(value, dict):
        return [*map(str, value), *(x for v in value.values() for x in _flat(v))]
    if isinstance(value, list | tuple):
        return [x for v in value for x in _flat(v)]
    return [value] if isinstance(value, str) else []


def raw_ids(manifest: dict) -> set[str]:
    """Ids the jobs recorded (personas, focus groups, Mave threads, segments, flow messages, campaigns,
    products): each has a name a report can show instead."""
    found: set[str] = set()
    for job in manifest["jobs"]:
        metrics = job.get("metrics") or {}
        found.update(_flat(list((metrics.get("personas") or {}).values())))
        found.update(_flat(list(metrics.get("nps_by_persona") or {})))
        found.update(_flat([[pair[0], pair[1]] for pair in metrics.get("top_pairs") or [] if len(pair) >= 2]))
        for key in ("focus_group_id", "mave_thread_id", "underperforming_message_ids", "redundant_pairs",
                    "nested_pairs", "tiny_segments", "retired_segments", "kept_in_use", "paired_campaigns"):
            found.update(_flat(metrics.get(key)))
    return {i for i in found if len(i) >= 4 and " " not in i}


def glossary_words(text: str, words: set[str], ids: set[str]) -> list[str]:
    """What in a page's visible text needs a glossary: a code word, an e-notation number, a raw id."""
    import re

    problems = [f"code word {w!r}" for w in sorted(words) if re.search(rf"(?<![\w.]){re.escape(w)}(?![\w])", text)]
    problems += [f"e-notation number {m!r}" for m in sorted(set(re.findall(E_NOTATION, text)))]
    problems += [f"raw id {i!r}" for i in sorted(ids) if re.search(rf"(?<![\w-]){re.escape(i)}(?![\w-])", text)]
    return problems
