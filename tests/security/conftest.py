"""Fixtures of the security tests: the tracking tests' sent lesson (one definition)."""

from tests.tracking.campaign import sent

__all__ = ["sent"]
