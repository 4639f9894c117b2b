"""The shared notebook runs (``day_seed7``, ``day_seed11``) live in tests/conftest.py: the browser tests
read the same reports."""
