"""Alias for one release: the emulator moved to the top-level package ``sandbox``.

``from helpers.sandbox import Sandbox`` keeps working until then; new code imports ``from sandbox import Sandbox``.
"""

from sandbox import Sandbox

__all__ = ["Sandbox"]
