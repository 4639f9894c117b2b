"""The Mavera emulator: a WSGI app mounted at /mavera/api/v1."""

from .answers import persona_traits
from .app import MaveraEmulator

__all__ = ["MaveraEmulator", "persona_traits"]
