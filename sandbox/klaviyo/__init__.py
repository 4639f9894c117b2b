"""The Klaviyo emulator: a WSGI app serving revision 2026-07-15's endpoints from the seeded store."""

from .app import KlaviyoEmulator
from .call import JSONAPI, ApiError
from .limits import RateLimiter

__all__ = ["JSONAPI", "ApiError", "KlaviyoEmulator", "RateLimiter"]
