"""The Mavera emulator: a WSGI app mounted at /mavera/api/v1."""

from .app import MaveraEmulator, persona_traits

__all__ = ["MaveraEmulator", "persona_traits"]
