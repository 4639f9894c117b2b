"""Klaviyo's OpenAPI document for revision 2026-07-15, which the contract tests check the sandbox against.

Where it comes from, first found wins:

1. ``../shared/specs/klaviyo-openapi-2026-07-15.json`` beside the clone (CI has it);
2. a cached copy, ``<cache>/specs/klaviyo-openapi-2026-07-15.json`` (``WORKBOOKS_CACHE_DIR``, default
   ``~/.cache/klaviyo-mavera-workbooks``), used only if its sha256 is the pinned one;
3. a download from Klaviyo's public openapi repository at a pinned commit (``WORKBOOKS_SPEC_URL``
   overrides the address, e.g. for a mirror), saved into the cache only if its sha256 matches.

``make spec`` runs this module; the tests' conftest calls :func:`locate` on first use. Standard library
only, so it works before anything else is installed.

    python -m scripts.fetch_spec      # prints where the checked document is, or one line saying what failed
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

REVISION = "2026-07-15"
FILENAME = f"klaviyo-openapi-{REVISION}.json"
# klaviyo/openapi keeps the newest stable revision in openapi/stable.json (one branch per revision as
# well); this commit of main holds 2026-07-15, the copy in shared/specs/. A commit, not a branch, so the
# bytes (and so the sha256 below) never change under us.
URL = ("https://raw.githubusercontent.com/klaviyo/openapi/"
       "f0a30ba41254904dc410d84ca497df68f8872276/openapi/stable.json")
SHA256 = "deb88f1dfad82fd530433555d3180fdc29633143d21e7347a9726cbea3fae2a9"
URL_ENV = "WORKBOOKS_SPEC_URL"
TIMEOUT = 60.0  # seconds without a byte before a download gives up (a 3 MB file)

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "specs" / FILENAME
HINT = "run `make spec` (needs internet once)"


class SpecError(RuntimeError):
    """The document could not be found or fetched; the message is one line that says what to do."""


def cache_path() -> Path:
    # The same root as helpers.config.cache_dir(), read directly: that function also loads .env, which a
    # test session must not do.
    from helpers.config import default_cache_dir

    root = os.environ.get("WORKBOOKS_CACHE_DIR") or default_cache_dir()
    return Path(root) / "specs" / FILENAME


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def present(shared: Path | None = None, cached: Path | None = None) -> Path | None:
    """The shared copy, else a cached copy whose sha256 is the pinned one, else None (nothing downloaded)."""
    shared = shared or SHARED
    if shared.is_file():
        return shared
    cached = cached or cache_path()
    if cached.is_file() and sha256_of(cached) == SHA256:
        return cached
    return None


def download(url: str | None = None, dest: Path | None = None, *, sha256: str = SHA256,
             timeout: float = TIMEOUT) -> Path:
    """Fetch ``url`` into ``dest`` (atomically), or raise :class:`SpecError`; a wrong sha256 saves nothing."""
    url = url or os.environ.get(URL_ENV) or URL
    dest = dest or cache_path()
    dest.parent.mkdir(parents=True, exist_ok=True)
    # A temporary file beside the target, renamed once checked: a cut download or two test workers
    # fetching at once never leave a half file under the real name.
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    tmp = Path(tmp_name)
    try:
        digest = hashlib.sha256()
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as resp:
            for block in iter(lambda: resp.read(1 << 16), b""):
                digest.update(block)
                out.write(block)
        got = digest.hexdigest()
        if got != sha256:
            raise SpecError(f"{url} served a document with sha256 {got[:12]}…, not the pinned {sha256[:12]}… "
                            f"(revision {REVISION}); nothing was saved: check {URL_ENV} or the pin in scripts/fetch_spec.py")
        os.chmod(tmp, 0o644)
        os.replace(tmp, dest)
    except (urllib.error.URLError, OSError, ValueError) as exc:  # ValueError: a malformed URL
        reason = getattr(exc, "reason", None) or exc
        raise SpecError(f"could not download the Klaviyo OpenAPI {REVISION} document from {url} ({reason})") from None
    finally:
        tmp.unlink(missing_ok=True)
    return dest


def locate(*, fetch: bool = True, shared: Path | None = None, cached: Path | None = None) -> Path:
    """The checked document's path, downloading it into the cache if ``fetch`` and nothing is present."""
    found = present(shared, cached)
    if found is not None:
        return found
    if not fetch:
        raise SpecError(f"no Klaviyo OpenAPI {REVISION} document ({shared or SHARED} is absent, nothing cached); "
                        f"{HINT}")
    try:
        return download(dest=cached)
    except SpecError as exc:
        raise SpecError(f"{exc}; {HINT}") from None


def main(argv: list[str] | None = None) -> int:
    if argv:  # no flags: the environment (WORKBOOKS_SPEC_URL, WORKBOOKS_CACHE_DIR) is the whole interface
        print(f"usage: python -m scripts.fetch_spec  (set {URL_ENV} to download from another address)",
              file=sys.stderr)
        return 2
    found = present()
    if found is not None:
        print(f"spec: {found} (revision {REVISION}, present)")
        return 0
    url = os.environ.get(URL_ENV) or URL
    print(f"spec: downloading the Klaviyo OpenAPI {REVISION} document from {url}", flush=True)
    try:
        path = download(url)
    except SpecError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"spec: {path} (sha256 checked)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
