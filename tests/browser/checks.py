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
