"""The download buttons of a campaign: every export the API offers, through the dashboard."""

from __future__ import annotations

from dataclasses import dataclass

from app.reports.export import ExportFormat
from app.reports.tables import ReportBy


@dataclass(frozen=True)
class Download:
    label: str
    href: str


@dataclass(frozen=True)
class DownloadGroup:
    title: str
    text: str
    links: list[Download]


def download_groups(campaign_id: int, min_group: int) -> list[DownloadGroup]:
    base = f"/dashboard/campaigns/{campaign_id}/download"
    formats = ((ExportFormat.xlsx, "Excel"), (ExportFormat.csv, "CSV"), (ExportFormat.json, "JSON"))

    def completion(by: ReportBy) -> list[Download]:
        query = "" if by is ReportBy.employee else f"?by={by.value}"
        return [Download(name, f"{base}/completion.{fmt.value}{query}") for fmt, name in formats]

    return [
        DownloadGroup(
            "Genomförande per person",
            "En rad per deltagare: skickat, läst, besvarat och avanmält. För HR.",
            completion(ReportBy.employee),
        ),
        DownloadGroup(
            "Genomförande per förvaltning",
            f"Förvaltningar med färre än {min_group} deltagare slås ihop till en rad.",
            completion(ReportBy.department),
        ),
        DownloadGroup(
            "Genomförande per lektion",
            "Hur många som läser och svarar rätt på varje lektion.",
            completion(ReportBy.lesson),
        ),
        DownloadGroup(
            "Lärandemått",
            "Siffrorna på den här sidan, för egen analys.",
            [Download("JSON", f"{base}/learning.json")],
        ),
    ]
