"""The Klaviyo client: JSON:API pagination, streams declared as data, typed frames, the reporting API.

    from helpers.klaviyo import KlaviyoClient
    kc = KlaviyoClient.from_env()                 # KLAVIYO_API_KEY / _BASE_URL / _REVISION (+ .env)
    for obj in kc.paginate("/api/segments", {"page[size]": 10}): ...
    kc.profiles()                                 # notebook 01 frame (predictive analytics + consent)
    kc.requests_sent                              # HTTP requests actually sent (cache hits excluded)

One module per concern: ``streams`` (what is asked for, as data), ``transport`` and ``errors`` (one
request through every policy of :mod:`helpers.http.session`; failures as one actionable line), ``split``
(concurrent range-split fetches), ``frames`` (frames from declared column specs), ``client``
(``KlaviyoClient``: pagination and the typed methods).
"""

from helpers.klaviyo.client import KlaviyoClient
from helpers.klaviyo.errors import KlaviyoAuthError, KlaviyoError, KlaviyoSettingsError
from helpers.klaviyo.frames import PROFILE_COLUMNS, Column, build_frame, choose_metric, profiles_frame
from helpers.klaviyo.streams import (
    DEFAULT_STATISTICS,
    HOUR,
    PREDICTIVE_FIELDS,
    REPORTS,
    STREAMS,
    Report,
    Stream,
    stream_for,
)
from helpers.klaviyo.transport import JSONAPI, shared_pacer

__all__ = [
    "DEFAULT_STATISTICS",
    "HOUR",
    "JSONAPI",
    "PREDICTIVE_FIELDS",
    "PROFILE_COLUMNS",
    "REPORTS",
    "STREAMS",
    "Column",
    "KlaviyoAuthError",
    "KlaviyoClient",
    "KlaviyoError",
    "KlaviyoSettingsError",
    "Report",
    "Stream",
    "build_frame",
    "choose_metric",
    "profiles_frame",
    "shared_pacer",
    "stream_for",
]
