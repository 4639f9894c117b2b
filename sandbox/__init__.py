"""Local emulator of the Klaviyo and Mavera APIs over real HTTP, with a seeded shop and planted truth.

Only tests, the runner, benchmarks and `make lab` import this package (see docs/internals.md).
"""

from .server import Sandbox

__all__ = ["Sandbox"]
