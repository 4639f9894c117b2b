"""The seeded shop behind the Klaviyo emulator and the ground truth planted in it."""

from .shop import Store
from .truth import compute_truth

__all__ = ["Store", "compute_truth"]
