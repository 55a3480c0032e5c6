"""Privacy (GDPR) in one place: retention purge, erasure and right of access.

The employer (the municipality) is the controller; docs/privacy.md describes the processing.
"""

from app.privacy.access import export_employee
from app.privacy.erasure import ErasureReport, erase_employee
from app.privacy.retention import PurgeReport, campaign_ended_at, months_before, purge_expired

__all__ = [
    "ErasureReport",
    "PurgeReport",
    "campaign_ended_at",
    "erase_employee",
    "export_employee",
    "months_before",
    "purge_expired",
]
