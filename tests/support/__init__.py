"""Helpers shared by the test tiers; fixtures in tests/conftest.py wire them up."""
