"""The download buttons of a campaign: every export the API offers, through the dashboard.

Excel (XLSX) comes first and is the prominent button: it opens right in Excel whatever its
language. The CSV button says its separator: REPORT_CSV_SEPARATOR's, and with "auto" a semicolon,
as Excel set to Swedish wants (the dashboard is in Swedish)."""

from __future__ import annotations

from dataclasses import dataclass

from app.reports.export import CsvSeparator, ExportFormat, choose_separator
from app.reports.tables import ReportBy


@dataclass(frozen=True)
class Download:
    label: str
    href: str
    primary: bool = False


@dataclass(frozen=True)
class DownloadGroup:
    title: str
    text: str
    links: list[Download]


_CSV_LABELS = {CsvSeparator.semicolon: "CSV (semikolon)", CsvSeparator.comma: "CSV (komma)"}


def download_groups(
    campaign_id: int, min_group: int, separator_setting: str = "auto"
) -> list[DownloadGroup]:
    base = f"/dashboard/campaigns/{campaign_id}/download"
    csv_label = _CSV_LABELS[choose_separator(separator_setting)]
    formats = (
        (ExportFormat.xlsx, "Excel (XLSX)"),
        (ExportFormat.csv, csv_label),
        (ExportFormat.json, "JSON"),
    )

    def completion(by: ReportBy) -> list[Download]:
        query = "" if by is ReportBy.employee else f"?by={by.value}"
        return [
            Download(name, f"{base}/completion.{fmt.value}{query}", fmt is ExportFormat.xlsx)
            for fmt, name in formats
        ]

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
