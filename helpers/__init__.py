"""Klaviyo × Mavera workbooks: the package the five notebooks share."""

__version__ = "0.1.0"
