"""python -m sandbox: serve both emulators until SIGINT/SIGTERM.

The first stdout line is JSON with the base URLs and keys (flushed), so a parent process can read it.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading

from .server import Sandbox


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__)
    parser.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (0 = any free port)")
    parser.add_argument("--seed", type=int, default=7, help="seed of the synthetic shop")
    parser.add_argument("--profiles", type=int, default=5000, help="number of profiles (up to 1,000,000)")
    parser.add_argument("--fault-rate", type=float, default=0.0, help="share of API requests that fail (0-1)")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="latency added to every API response")
    parser.add_argument("--rate-scale", type=float, default=1.0, help="multiply every rate limit (0 = off)")
    parser.add_argument("--mavera-credits", type=int, default=20000, help="Mavera credits available")
    parser.add_argument("--no-predictions", action="store_true",
                        help="an account without Klaviyo's predictive analytics (every profile's is null)")
    args = parser.parse_args(argv)
    try:
        sandbox = Sandbox(seed=args.seed, profiles=args.profiles, fault_rate=args.fault_rate,
                          latency_ms=args.latency_ms, rate_scale=args.rate_scale,
                          mavera_credits=args.mavera_credits, port=args.port, predictions=not args.no_predictions)
    except ValueError as exc:
        parser.error(str(exc))
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    with sandbox:
        env = sandbox.env()
        print(json.dumps({"klaviyo_base_url": sandbox.klaviyo_base_url, "mavera_base_url": sandbox.mavera_base_url,
                          "klaviyo_api_key": sandbox.klaviyo_api_key, "mavera_api_key": sandbox.mavera_api_key,
                          "mavera_workspace_id": sandbox.mavera_workspace_id, "env": env}), flush=True)
        stop.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
