"""Keys are checked for what a header can carry, and no error text ever holds one (keys that break headers)."""

from __future__ import annotations

import pytest
import requests

from helpers import config, redaction
from helpers.config import ConfigError, KlaviyoSettings, MaveraSettings
from helpers.http import session as http
from helpers.klaviyo import KlaviyoClient, KlaviyoError
from helpers.mavera import MaveraAPIError, MaveraClient, MaveraError, ResultCache, make_session
from tests.hostile.support import KLAVIYO_KEY, MAVERA_KEY, json_response

# Keys as a careless paste or a hostile .env leaves them: each breaks an HTTP header differently.
BROKEN = {
    "line break": "_live_abc123\r\nX-Injected: stolen987",
    "newline": "_live_abc123\nsecondline456",
    "non-Latin-1": "_live_abc\u20ac123xyz",
    "control character": "_live_abc\x07123xyz",
    "escape sequence": "_live_abc\x1b[31m123xyz",
}


def pieces(key: str) -> list[str]:
    """The parts of a key long enough to identify it (what a message must not quote)."""
    import re

    return [p for p in re.split(r"[\x00-\x20\x7f-\x9f]+", key) if len(p) >= 6] + [key]


def assert_no_key(text: str, key: str) -> None:
    for piece in pieces(key):
        assert piece not in text, f"{piece!r} leaked into: {text!r}"
    escaped = key.encode("unicode_escape").decode()
    assert escaped not in text


@pytest.mark.parametrize("kind", BROKEN)
@pytest.mark.parametrize("name,prefix,settings", [("KLAVIYO_API_KEY", "pk", KlaviyoSettings),
                                                  ("MAVERA_API_KEY", "mvra", MaveraSettings)])
def test_a_key_a_header_cannot_carry_is_refused_at_start_in_one_line(monkeypatch, kind, name, prefix, settings):
    key = prefix + BROKEN[kind]
    monkeypatch.setenv(name, key)
    with pytest.raises(ConfigError, match=f"^{name} contains .* at position \\d+: copy the") as info:
        settings.from_env()
    message = str(info.value)
    assert "\n" not in message and "\r" not in message
    assert_no_key(message, key)
    assert [p for p in config.preflight() if p.startswith(name)] == [message]
    with pytest.raises(ConfigError) as built:  # settings made in code are held to the same rule
        settings(api_key=key)
    assert_no_key(str(built.value), key)


@pytest.mark.parametrize("kind", BROKEN)
def test_mavera_client_and_sessions_refuse_such_keys_without_quoting_them(tmp_path, kind):
    key = "mvra" + BROKEN[kind]
    with pytest.raises(ConfigError) as info:
        MaveraClient(key, "http://127.0.0.1:9/api/v1", cache=ResultCache("x", "y", tmp_path))
    assert_no_key(str(info.value), key)
    with pytest.raises(ValueError, match="header holds a character") as info:
        http.make_session(headers={"Authorization": f"Bearer {key}"})
    assert_no_key(str(info.value), key)


def test_redact_masks_configured_keys_in_every_form_a_message_quotes_them(monkeypatch):
    klaviyo_key, mavera_key = "pk" + BROKEN["line break"], "mvra" + BROKEN["newline"]
    monkeypatch.setenv("KLAVIYO_API_KEY", klaviyo_key)
    monkeypatch.setenv("MAVERA_API_KEY", mavera_key)
    # What requests itself says about such a header (the message that used to reach run.json).
    with pytest.raises(requests.exceptions.InvalidHeader) as info:
        requests.Session().prepare_request(requests.Request(
            "GET", "http://127.0.0.1:9/", headers={"Authorization": f"Klaviyo-API-Key {klaviyo_key}"}))
    quoted = [str(info.value), repr(info.value), f"KeyError: {mavera_key!r}", f"token={klaviyo_key}",
              '{"auth": "Bearer ' + mavera_key.replace("\n", "\\n") + '"}']
    for text in quoted:
        clean = redaction.redact(text)
        assert_no_key(clean, klaviyo_key)
        assert_no_key(clean, mavera_key)
    assert redaction.redact("401 for Klaviyo-API-Key pk_unknown_7f3a and Bearer mvra_live_9b2c") == \
        "401 for Klaviyo-API-Key *** and Bearer ***"
    assert redaction.redact("GET /api/segments failed (503)") == "GET /api/segments failed (503)"


def test_errors_redact_keys_when_they_become_text(monkeypatch):
    monkeypatch.setenv("KLAVIYO_API_KEY", "pk_env_only_5d41402abc4b2a76")
    assert "5d41402abc4b2a76" not in str(KlaviyoError("failed with key pk_env_only_5d41402abc4b2a76"))
    assert "abcdef" not in str(MaveraError(f"boom {MAVERA_KEY}"))


def test_a_server_echoing_the_key_back_does_not_put_it_in_the_error(hostile, tmp_path):
    def echo(req):
        auth = req.headers.get("Authorization", "")
        if req.path.startswith("/api/v1"):
            return json_response({"error": {"message": f"invalid credentials: {auth}", "code": "bad_key"}}, 400)
        return json_response({"errors": [{"status": "400", "detail": f"Bad header Authorization: {auth}"}]}, 400,
                             mimetype="application/vnd.api+json")

    hostile.handler = echo
    kc = KlaviyoClient(KlaviyoSettings(api_key=KLAVIYO_KEY, base_url=hostile.base), rate_scale=0, cache=False,
                       progress=False)
    with pytest.raises(KlaviyoError, match="Klaviyo refused") as info:
        kc.segments()
    assert_no_key(str(info.value), KLAVIYO_KEY)
    base = hostile.base + "/api/v1"
    mc = MaveraClient(MAVERA_KEY, base, "ws_1", cache=ResultCache(base, MAVERA_KEY, tmp_path),
                      session=make_session(MAVERA_KEY, backoff_factor=0))
    for call in (mc.usage, lambda: mc.generate("app_1", {"brief": "x"})):
        with pytest.raises(MaveraAPIError, match="invalid credentials") as info:
            call()
        assert_no_key(str(info.value), MAVERA_KEY)
    assert len(hostile.requests) == 3
