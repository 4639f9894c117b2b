"""Every HTTP policy in one place: sessions, timeouts, retries, per-bucket pacing, response cache, counting.

Nothing here knows an endpoint's payload; the Klaviyo and Mavera clients build on it::

    stats = RequestStats()
    pacer = Pacer(lambda method, url: ratelimits.limit_for(method, url), scale=1.0)
    session = make_session(
        headers={"Authorization": "..."},      # sent on every request
        pacer=pacer, stats=stats,
        retry=make_retry(attempts=12),         # urllib3 Retry: 429/5xx/timeouts/dropped connections
        timeout=(10, 120),                     # (connect, read) seconds, applied when a call gives none
        deadline=180,                          # seconds for one request, every attempt and wait included
        cache_path=Path(".../klaviyo.sqlite"), # requests-cache SQLite file, or None for no cache
    )
    session.get(url, expire_after=timedelta(hours=24))  # cached for 24 h; no expire_after = not cached
    session.get(url, expire_after=..., force_refresh=True)  # bypass the cache, store the fresh answer
    stats.sent                                   # attempts that reached the network (cache hits excluded)

Pacing lives in :mod:`helpers.http.pacing` (:class:`Pacer`, :class:`RequestStats`).

Retries live in urllib3's ``Retry`` (:class:`PacedRetry`): exponential backoff with jitter, bounded
attempts, ``Retry-After`` honoured (absent or 0 allowed) up to a cap (:data:`RETRY_AFTER_CAP`; a longer
one hands the 429 back so the client can say when to retry). Each retry goes back through the pacer
and is counted, and a 429 holds the whole bucket back, so concurrent fetches stop together.

One deadline per request (``deadline``, :data:`REQUEST_DEADLINE` by default): every attempt's connect and
read timeouts are cut to what is left of it (:class:`DeadlineTimeout`), and no retry starts, nor a
backoff or Retry-After is slept on, past it. So a server that accepts the connection and never answers
costs one deadline, not attempts x read timeout; and a long job is protected by many attempts (a
count it cannot outrun by arithmetic) without any one request waiting unboundedly. TLS and certificate
failures are never retried: they are a setting to fix (a base URL whose server does not speak https,
an untrusted certificate), not weather.

Hostile answers. A session made with ``origin`` sends only to that scheme, host and port: a URL taken
from an answer (a ``links.next``, a redirect) that names another is refused before anything, the key
included, is sent (:class:`RefusedURL`). Bodies are read as a stream against a deadline for the whole
body (``body_deadline``: a server trickling one byte at a time is not rescued by the per-read timeout,
:class:`BodyTooSlow`) and a size cap (:data:`MAX_BODY_BYTES`, :class:`BodyTooLarge`). Every response
and every failure carries ``attempts``: how many attempts were really made.
"""

from __future__ import annotations

import email.utils
import ssl
import threading
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import (
    ConnectTimeoutError,
    DecodeError,
    MaxRetryError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
    ResponseError,
    SSLError,
)
from urllib3.util.retry import Retry
from urllib3.util.timeout import Timeout

from helpers import lifeline, redaction
from helpers.http.pacing import DailyLimitReached, Pacer, RequestStats
from helpers.http.ratelimits import Limit
from helpers.private import private_dir, private_file, tighten_tree

__all__ = [
    "MAX_BODY_BYTES",
    "REQUEST_DEADLINE",
    "RETRY_AFTER_CAP",
    "BodyTooLarge",
    "BodyTooSlow",
    "DailyLimitReached",
    "DeadlineTimeout",
    "Limit",
    "Pacer",
    "PacedRetry",
    "PolicyAdapter",
    "RefusedURL",
    "RequestStats",
    "attempts_of",
    "bind_origin",
    "is_tls_failure",
    "make_retry",
    "make_session",
    "origin_of",
    "retry_after_seconds",
    "retry_at",
    "transport_failure",
]

RETRY_AFTER_CAP = 120.0  # longest Retry-After slept on; a longer one is reported with when to retry
MAX_BODY_BYTES = 50 * 2**20  # an API page is kilobytes; a body this large is refused, not read into memory
BODY_DEADLINE = 120.0  # seconds for a whole body once the answer began (the read timeout restarts per byte)
REQUEST_DEADLINE = 180.0  # seconds for one request until its answer's headers, every attempt and wait included
_CHUNK = 64 * 1024
# urllib3's failures mid-body as the exceptions requests itself raises for them.
_AS_REQUESTS = {
    ProtocolError: requests.exceptions.ChunkedEncodingError,
    DecodeError: requests.exceptions.ContentDecodingError,
    SSLError: requests.exceptions.ChunkedEncodingError,  # the handshake succeeded: a body broken off, not a setting
}


def _base_of(exc: BaseException) -> type:
    """The key of :data:`_AS_REQUESTS` that ``exc`` is an instance of (subclasses included)."""
    return next(kind for kind in _AS_REQUESTS if isinstance(exc, kind))


class RefusedURL(requests.RequestException):
    """A request to another origin than the session's (scheme, host, port); nothing was sent."""


class BodyTooLarge(requests.RequestException):
    """The answer's body is larger than the session's cap; it was not read."""


class BodyTooSlow(requests.exceptions.ReadTimeout):
    """The answer's body did not arrive in full within the deadline (a trickle)."""


def origin_of(url: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of an http(s) URL, default ports filled in; None for anything else."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        return None
    return scheme, parts.hostname.lower(), port or (443 if scheme == "https" else 80)


def _show_origin(origin: tuple[str, str, int] | None) -> str:
    return f"{origin[0]}://{origin[1]}:{origin[2]}" if origin else "a URL that is not http(s)"


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Seconds a ``Retry-After`` asks for (delta-seconds or an HTTP date), None when absent or unreadable."""
    if value is None:
        return None
    raw = str(value).strip()
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def retry_at(seconds: float, now: float | None = None) -> str:
    """When a wait of ``seconds`` ends, for a person: local time and UTC (with the date when not today)."""
    at = (time.time() if now is None else now) + seconds
    local, utc = time.localtime(at), time.gmtime(at)
    today = time.localtime(time.time() if now is None else now)
    fmt = "%H:%M" if local[:3] == today[:3] else "%Y-%m-%d %H:%M"
    return f"{time.strftime(fmt, local)} local time ({time.strftime(fmt + ' UTC', utc)})"


def attempts_of(obj: object, default: int) -> int:
    """Attempts really made for a response or a failure from a policy session (``default`` otherwise)."""
    value = getattr(obj, "attempts", None)
    return value if isinstance(value, int) and value > 0 else default

class _Policy:
    """What retries and the adapter share: the pacer, the counters and the bucket lookup."""

    def __init__(self, pacer: Pacer | None, stats: RequestStats, deadline: float | None = None) -> None:
        self.pacer = pacer
        self.stats = stats
        self.deadline = deadline  # seconds for one request, every attempt and wait included (None: none)
        self.origin: tuple[str, str, int] | None = None  # the only origin sent to (None: any)
        self._attempt = threading.local()  # urllib3 retries run in the caller's thread

    def begin(self) -> None:
        """A request starts (its first attempt): its deadline starts now."""
        self._attempt.count = 0
        self._attempt.ends = None if self.deadline is None else time.monotonic() + self.deadline

    def left(self) -> float | None:
        """Seconds left of the current request's deadline (None: no deadline)."""
        ends = getattr(self._attempt, "ends", None)
        return None if ends is None else ends - time.monotonic()

    def attempts(self) -> int:
        return getattr(self._attempt, "count", 0)

    def attempt_sent(self) -> None:
        """Note (on the pacer's clock) that an attempt is being sent now; refused if the runner has died."""
        lifeline.check()  # every attempt, first or retry, passes here just before it is sent
        self._attempt.count = getattr(self._attempt, "count", 0) + 1
        if self.pacer is not None:
            self._attempt.sent_at = self.pacer.now()

    def last_sent(self) -> float | None:
        return getattr(self._attempt, "sent_at", None)

    def limit(self, method: str, url: str) -> Limit | None:
        return self.pacer.limit(method, url) if self.pacer else None


class DeadlineTimeout(Timeout):
    """urllib3 ``Timeout`` for one request under one deadline: urllib3 clones the timeout for every attempt,
    and each clone gets the connect and read timeouts cut to what is left of the deadline (``ends``, on
    ``time.monotonic``), so a server that never sends headers cannot hold a request past it."""

    def __init__(self, connect: float | None, read: float | None, ends: float) -> None:
        super().__init__(connect=connect, read=read)
        self.ends = ends

    def clone(self) -> Timeout:
        left = max(0.01, self.ends - time.monotonic())
        connect = self._connect if isinstance(self._connect, (int, float)) else left
        read = self._read if isinstance(self._read, (int, float)) else left
        return Timeout(connect=min(connect, left), read=min(read, left))


def is_tls_failure(exc: BaseException | None) -> bool:
    """True when ``exc`` (or what it wraps) is a TLS handshake or certificate failure."""
    for _ in range(5):
        if exc is None:
            return False
        if isinstance(exc, (SSLError, requests.exceptions.SSLError, ssl.SSLError, ssl.CertificateError)):
            return True
        exc = exc.reason if isinstance(exc, MaxRetryError) else (
            exc.args[0] if exc.args and isinstance(exc.args[0], BaseException) else exc.__cause__)
    return False


class DeadlinePassed(ResponseError):
    """No retry was started: the request's deadline would pass first."""


def _what_failed(response, error) -> str:
    """The last attempt's outcome in a few words, for a request given up at its deadline."""
    if response is not None:
        return f"HTTP {response.status}"
    if isinstance(error, ReadTimeoutError):
        return "no answer before the read timeout"
    if isinstance(error, NewConnectionError):
        return "connection refused"
    if isinstance(error, ConnectTimeoutError):
        return "could not connect"
    if isinstance(error, ProtocolError):
        return "connection dropped before an answer"
    return type(error).__name__ if error is not None else "no answer"


class PacedRetry(Retry):
    """urllib3 ``Retry`` whose every retry is paced and counted, and which gives up on a long Retry-After.

    A ``Retry-After`` longer than ``retry_after_max`` (a daily cap, say) is not slept on: the 429 is
    handed back so the caller can say what happened instead of sleeping for hours.
    """

    def __init__(self, *args: Any, policy: _Policy | None = None, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.policy = policy

    def new(self, **kw: Any) -> PacedRetry:
        kw.setdefault("policy", self.policy)
        return super().new(**kw)

    def increment(self, method=None, url=None, response=None, error=None, _pool=None, _stacktrace=None):
        if is_tls_failure(error):  # a setting to fix, not weather: never retried
            raise MaxRetryError(_pool, url or "", error)
        throttled = response is not None and response.status == 429
        if throttled:
            raw = response.headers.get("Retry-After")
            wait = retry_after_seconds(raw)
            if wait is not None and wait > self.retry_after_max:
                raise MaxRetryError(_pool, url or "", ResponseError(f"Retry-After {raw}s exceeds the wait limit"))
        new = super().increment(method, url, response, error, _pool, _stacktrace)
        self._check_deadline(new, response, error, _pool, url)
        # A 429 handed back to the caller is counted by the adapter; count only those retried here.
        if throttled and self.policy is not None:
            self.policy.stats.count_throttled()
        return new

    def _check_deadline(self, new: Retry, response, error, _pool, url) -> None:
        """Hand back the last answer (or failure) when the wait before the next attempt would pass the
        request's deadline: a retry is started only with time left to get its answer."""
        left = self.policy.left() if self.policy is not None else None
        if left is None:
            return
        wait = new.get_backoff_time()
        if response is not None and self.respect_retry_after_header:
            wait = max(wait, self.get_retry_after(response) or 0.0)
        if wait >= left:
            deadline = self.policy.deadline
            raise MaxRetryError(_pool, url or "", DeadlinePassed(
                f"no answer within the {deadline:g} s deadline for one request "
                f"(last attempt: {_what_failed(response, error)})"))

    def sleep(self, response=None) -> None:
        policy = self.policy
        last = self.history[-1] if self.history else None
        lim = policy.limit(last.method, last.url) if (policy and last and last.method and last.url) else None
        if response is not None and response.status == 429 and policy and policy.pacer and lim:
            retry_after = self.get_retry_after(response)
            policy.pacer.throttled(lim, retry_after)
            if not retry_after:
                self._sleep_backoff()  # no hint from the server: back off exponentially, with jitter
        else:
            super().sleep(response)
        if policy is not None:
            if policy.pacer is not None and lim is not None:
                policy.pacer.acquire_limit(lim)
            policy.attempt_sent()
            policy.stats.count(lim.bucket if lim else None, retry=True)


def make_retry(
    attempts: int = 6,
    *,
    backoff: float = 0.5,
    backoff_max: float = 30.0,
    jitter: float = 0.5,
    max_retry_after: float = RETRY_AFTER_CAP,
    statuses: Iterable[int] = (429, 500, 502, 503, 504, 524),
    methods: Iterable[str] = ("GET", "HEAD", "OPTIONS", "POST"),
) -> PacedRetry:
    """A bounded retry policy: ``attempts`` tries in all, for the given statuses, timeouts and dropped connections.

    500 and 502 are retried too: Klaviyo's SDK does not, but every call our clients make with POST in
    ``methods`` is a read (reports) or carries its own idempotency, and the attempts are bounded.
    """
    retries = max(0, attempts - 1)
    return PacedRetry(
        total=retries,
        connect=retries,
        read=retries,
        status=retries,
        other=retries,
        redirect=5,
        backoff_factor=backoff,
        backoff_max=backoff_max,
        backoff_jitter=jitter,
        status_forcelist=frozenset(statuses),
        allowed_methods=frozenset(m.upper() for m in methods),
        respect_retry_after_header=True,
        retry_after_max=max_retry_after,
        raise_on_status=False,  # the last response comes back; the client turns it into a clear error
    )


class PolicyAdapter(HTTPAdapter):
    """HTTPAdapter that refuses foreign origins, paces, counts, times out and bounds every request it sends."""

    def __init__(self, policy: _Policy, retry: PacedRetry, timeout: float | tuple[float, float], *,
                 max_body: int | None = None, body_deadline: float | None = None, **kw: Any):
        self.policy = policy
        self.default_timeout = timeout
        self.max_body = MAX_BODY_BYTES if max_body is None else max_body
        self.body_deadline = BODY_DEADLINE if body_deadline is None else body_deadline
        super().__init__(max_retries=retry.new(policy=policy), **kw)

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.default_timeout
        timeout = kwargs["timeout"]
        method, url = request.method or "GET", request.url or ""
        origin = self.policy.origin
        if origin is not None and origin_of(url) != origin:
            # Checked here, below redirects and every caller: the session's key never leaves its origin.
            exc = RefusedURL(f"refused to send {method} to {_show_origin(origin_of(url))}: this session "
                             f"sends only to {_show_origin(origin)}")
            exc.attempts = 0  # type: ignore[attr-defined]
            raise exc
        pacer = self.policy.pacer
        lim = pacer.acquire(method, url) if pacer else None
        self.policy.begin()
        self.policy.attempt_sent()  # refuses first if the runner has died, so nothing is counted as sent
        self.policy.stats.count(lim.bucket if lim else None)
        stream = kwargs.pop("stream", False)
        if self.policy.deadline is not None and not isinstance(timeout, Timeout):
            connect, read = timeout if isinstance(timeout, tuple) else (timeout, timeout)
            kwargs["timeout"] = DeadlineTimeout(connect, read, time.monotonic() + self.policy.deadline)
        try:
            response = super().send(request, stream=True, **kwargs)
            if not stream:
                self._read_body(response, timeout)
        except requests.RequestException as exc:
            exc.attempts = self.policy.attempts()  # type: ignore[attr-defined]
            raise
        response.attempts = self.policy.attempts()  # type: ignore[attr-defined]
        if response.status_code == 429:
            self.policy.stats.count_throttled()
        if pacer is not None:
            # Not response.elapsed: requests sets it only after the adapter returns.
            pacer.observe(lim, response.headers, sent_at=self.policy.last_sent())
        return response

    def _read_body(self, response: requests.Response, timeout: float | tuple[float, float]) -> None:
        """Read the whole body within ``body_deadline`` and ``max_body`` bytes, or close it and raise.

        One socket read at a time (``read1``), each allowed at most the read timeout and the time left,
        so neither a trickle nor a silence outlasts the deadline by more than a moment.
        """
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > self.max_body:
            response.close()
            raise BodyTooLarge(f"the answer is {int(declared) / 2**20:.0f} MB, over the "
                               f"{self.max_body / 2**20:g} MB this client reads", response=response)
        read_timeout = timeout[1] if isinstance(timeout, tuple) else timeout
        deadline = time.monotonic() + self.body_deadline
        sock = getattr(getattr(response.raw, "connection", None), "sock", None)
        body = bytearray()
        try:
            while chunk := self._read_chunk(response, sock, deadline, read_timeout):
                body += chunk
                if len(body) > self.max_body:  # decoded bytes: a small gzip bomb is caught too
                    raise BodyTooLarge(f"the answer is over the {self.max_body / 2**20:g} MB this client reads",
                                       response=response)
        except BaseException:
            response.close()
            raise
        response._content = bytes(body)
        response._content_consumed = True

    def _read_chunk(self, response: requests.Response, sock, deadline: float, read_timeout: float | None) -> bytes:
        """The next piece of the body (b"" at its end), as requests' own exceptions on failure."""
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise BodyTooSlow(f"the answer did not arrive in full within {self.body_deadline:g} s",
                                  response=response)
            if sock is not None:
                sock.settimeout(max(0.01, min(left, read_timeout or left)))
            try:
                return response.raw.read1(_CHUNK, decode_content=True)
            except ReadTimeoutError as exc:
                if deadline - time.monotonic() <= 0:
                    continue  # the deadline, not the server's silence, ended this read
                raise requests.exceptions.ReadTimeout(exc, response=response) from exc
            except (ProtocolError, DecodeError, SSLError) as exc:
                raise _AS_REQUESTS[_base_of(exc)](exc, response=response) from exc


def tls_reason(exc: BaseException) -> str:
    """A TLS failure in a few words: an untrusted certificate, or a server that does not speak TLS there."""
    text = str(exc)
    if "CERTIFICATE_VERIFY_FAILED" in text or "certificate" in text.lower():
        return "its TLS certificate is not trusted"
    if "WRONG_VERSION_NUMBER" in text.upper() or "wrong version number" in text or "record layer" in text:
        return "the server does not speak https there (a plain-http server?)"
    return "the TLS handshake failed"


def _failure_words(cause: BaseException | None, connect: float, read: float) -> str | None:
    """One failure (not what wraps it) in a few words; None when it is only a wrapper."""
    if isinstance(cause, (ReadTimeoutError, requests.ReadTimeout)):
        return f"timed out after {read:g} s waiting for the answer"
    if isinstance(cause, NewConnectionError):
        return "connection refused"
    if isinstance(cause, (ConnectTimeoutError, requests.ConnectTimeout)):
        return f"could not connect within {connect:g} s"
    if isinstance(cause, ProtocolError):
        return "connection dropped before an answer"
    if isinstance(cause, ResponseError):
        return str(cause)
    return None


def transport_failure(exc: BaseException, timeout: float | tuple[float, float]) -> str:
    """What went wrong on the last attempt of a request that got no answer, in a few words.

    requests wraps urllib3's ``MaxRetryError`` whose ``reason`` is the last attempt's failure; the type
    of the outer exception alone (ConnectionError for both a dropped connection and a read timeout)
    does not say which.
    """
    connect, read = timeout if isinstance(timeout, tuple) else (timeout, timeout)
    if isinstance(exc, (RefusedURL, BodyTooLarge, BodyTooSlow)):
        return str(exc)
    if is_tls_failure(exc):
        return tls_reason(exc)
    cause: BaseException | None = exc
    for _ in range(4):  # requests error -> MaxRetryError -> its reason
        if (said := _failure_words(cause, connect, read)) is not None:
            return said
        if isinstance(cause, MaxRetryError):
            cause = cause.reason
        elif cause is not None and cause.args and isinstance(cause.args[0], BaseException):
            cause = cause.args[0]
        else:
            break
    return type(cause or exc).__name__


def make_session(
    *,
    headers: Mapping[str, str] | None = None,
    pacer: Pacer | None = None,
    stats: RequestStats | None = None,
    retry: PacedRetry | None = None,
    timeout: float | tuple[float, float] = (10.0, 120.0),
    cache_path: Path | None = None,
    cacheable_methods: Iterable[str] = ("GET", "POST"),
    pool_size: int = 32,
    origin: str | None = None,
    max_body: int | None = None,
    body_deadline: float | None = None,
    deadline: float | None = REQUEST_DEADLINE,
) -> requests.Session:
    """A session with every policy above. With ``cache_path`` it is a requests-cache ``CachedSession``
    (SQLite, a 0600 file in a 0700 folder) that caches nothing unless a call passes ``expire_after``;
    credentials are never stored. With ``origin`` (a base URL) it sends to that origin only.
    ``max_body``/``body_deadline``: None for :data:`MAX_BODY_BYTES`/:data:`BODY_DEADLINE` (read when the
    session is made). ``deadline``: seconds one request may take until its answer's headers, every attempt,
    backoff and Retry-After included (None: bounded by attempts alone); the body then has ``body_deadline``.

    Header values are checked here, before any request: a value a header cannot carry (a key with a
    line break, a non-Latin-1 character) is refused with a message that does not quote it.
    """
    for name, value in (headers or {}).items():
        if _is_credential(name):  # the credential, not its scheme ("Bearer", "Klaviyo-API-Key")
            redaction.register(str(value).split(" ", 1)[-1])
        bad = next((c for c in str(value) if c in "\r\n\0" or ord(c) > 0xFF or (ord(c) < 0x20 and c != "\t")), None)
        if bad is not None:
            raise ValueError(f"the {name} header holds a character an HTTP header cannot carry "
                             f"(U+{ord(bad):04X}); check the key or setting it is built from.")
    policy = _Policy(pacer, stats if stats is not None else RequestStats(), deadline)
    if cache_path is not None:
        import requests_cache

        # Private before SQLite opens it: its -wal and -shm files take the database file's mode.
        private_dir(cache_path.parent)
        private_file(cache_path)
        tighten_tree(cache_path.parent, cache_path.name + "*")
        session: requests.Session = requests_cache.CachedSession(
            str(cache_path),
            backend="sqlite",
            expire_after=requests_cache.DO_NOT_CACHE,
            allowable_methods=tuple(cacheable_methods),
            allowable_codes=(200,),
            wal=True,  # concurrent fetches write while others read; WAL keeps them from blocking
            fast_save=True,  # a lost cache write on power loss only means one more request later
            # Default list already drops Authorization etc. from keys and stored requests.
            ignored_parameters=(*requests_cache.CacheSettings().ignored_parameters, "x-api-key"),
        )
    else:
        session = requests.Session()
    adapter = PolicyAdapter(policy, retry or make_retry(), timeout, max_body=max_body, body_deadline=body_deadline,
                            pool_connections=pool_size, pool_maxsize=pool_size)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers.update(dict(headers or {}))
    session.stats = policy.stats  # type: ignore[attr-defined]
    if origin is not None:
        bind_origin(session, origin)
    return session


def _is_credential(header: str) -> bool:
    name = header.lower()
    return name in ("authorization", "proxy-authorization", "cookie") or "api-key" in name or "token" in name


def bind_origin(session: requests.Session, base_url: str) -> None:
    """Let ``session`` send only to the origin of ``base_url`` (its policy adapters refuse others).

    A session already bound to another origin is refused (a ValueError): its key belongs there. A
    base URL that is not http(s) binds nothing; requests then refuses it and the client says what to set.
    """
    origin = origin_of(base_url)
    if origin is None:
        return
    for adapter in session.adapters.values():
        policy = getattr(adapter, "policy", None)
        if isinstance(policy, _Policy):
            if policy.origin is not None and policy.origin != origin:
                raise ValueError(f"this session already sends to {_show_origin(policy.origin)}, "
                                 f"not {_show_origin(origin)}")
            policy.origin = origin
