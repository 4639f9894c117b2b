"""Every HTTP policy in one place, for both clients: ``session`` (sessions, timeouts, retries honouring
``Retry-After``, origin binding, bounded bodies, the response cache), ``pacing`` (Klaviyo's fixed rate
windows, request counting) and ``ratelimits`` (each endpoint's documented limits, read from ``apifacts/``).
Nothing here knows an endpoint's payload."""
