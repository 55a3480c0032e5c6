"""Fixtures of the tracking tests."""

from tests.tracking.campaign import sent

__all__ = ["sent"]
