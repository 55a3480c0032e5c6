"""The SVG charts and Swedish formats, without a database: what a screen reader gets, and how
uncertain or missing figures are drawn."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from app.dashboard import charts
from app.dashboard.charts import Share, Step
from app.dashboard.formatting import long_date, number, percent, send_time

NBSP = "\u00a0"
SHARES = [
    Share("Första\nsvaret", 0.7121, 132, False),
    Share("1:a\nrepetitionen", 0.85, 6, True),
    Share("2:a\nrepetitionen", None, 0, True),
]


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # well-formed XML, or this fails


def texts(root: ET.Element) -> list[str]:
    return [t.text or "" for t in root.iter("text")]


def test_bar_chart_is_a_named_described_image() -> None:
    root = parse(charts.bar_chart("rep", "Rätt svar vid varje repetition", SHARES, 0.9))
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "rep-title rep-desc"
    assert root.find("title").text == "Rätt svar vid varje repetition"  # type: ignore[union-attr]
    desc = root.find("desc").text  # type: ignore[union-attr]
    assert desc == (
        f"Första svaret: 71{NBSP}% rätt (132 svar). "
        f"1:a repetitionen: 85{NBSP}% rätt (6 svar, få svar). "
        f"2:a repetitionen: inga svar än. Målet är 90{NBSP}%."
    )


def test_bars_show_uncertain_and_missing_figures_without_colour_alone() -> None:
    root = parse(charts.bar_chart("rep", "T", SHARES, 0.9))
    bars = [r for r in root.iter("rect") if r.get("class", "").startswith("chart-bar")]
    assert [b.get("class") for b in bars] == ["chart-bar", "chart-bar-few"]  # no bar for none
    assert bars[1].get("fill") == "url(#rep-few)"  # striped
    words = texts(root)
    assert "få svar" in words and "inga svar" in words and "–" in words
    assert f"Mål 90{NBSP}%" in words
    assert f"100{NBSP}%" in words and f"0{NBSP}%" in words  # the axis


def test_a_label_just_under_the_target_moves_into_its_bar() -> None:
    root = parse(charts.bar_chart("rep", "T", [Share("A", 0.85, 40, False)], 0.9))
    (inside,) = [t for t in root.iter("text") if t.get("class") == "chart-value-inside"]
    assert inside.text == f"85{NBSP}%"


def test_line_chart_breaks_at_an_empty_bucket() -> None:
    shares = [
        Share("0–3", 0.9, 20, False),
        Share("4–7", 0.8, 12, False),
        Share("8–14", None, 0, True),
        Share("15–30", 0.7, 11, False),
        Share("31–60", 0.6, 3, True),
    ]
    root = parse(charts.line_chart("gl", "Minns de?", shares, "Dagar sedan förra svaret", 0.9))
    assert len(list(root.iter("polyline"))) == 2  # 0–3 to 4–7, and 15–30 to 31–60
    points = [c.get("class") for c in root.iter("circle")]
    assert points == ["chart-point", "chart-point", "chart-point", "chart-point-few"]
    assert "Dagar sedan förra svaret" in texts(root)


def test_funnel_says_each_step_against_the_first() -> None:
    steps = [Step("Skickade frågor", 1200), Step("Besvarade", 600), Step("Inlärda", 0)]
    root = parse(charts.funnel_chart("tratt", "Från utskick till kunskap", steps))
    assert root.find("desc").text == (  # type: ignore[union-attr]
        f"Skickade frågor: 1{NBSP}200. Besvarade: 600 (50{NBSP}% av de skickade). "
        f"Inlärda: 0 (0{NBSP}% av de skickade)."
    )
    widths = [float(r.get("width", 0)) for r in root.iter("rect")]
    assert widths[0] == 2 * widths[1] and widths[2] == 2.0  # a hairline for zero


def test_funnel_with_nothing_sent() -> None:
    root = parse(charts.funnel_chart("t", "T", [Step("Skickade frågor", 0), Step("Besvarade", 0)]))
    assert "Besvarade: 0." in (root.find("desc").text or "")  # type: ignore[union-attr]


def test_text_is_escaped() -> None:
    svg = charts.bar_chart("x", "<b>T</b>", [Share("<script>", 0.5, 10, False)])
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    parse(svg)


def test_meter_is_hidden_from_screen_readers_and_clamped() -> None:
    root = parse(charts.meter(1.7))
    assert root.get("aria-hidden") == "true"
    assert [r.get("width") for r in root.iter("rect")] == ["120", "120.0"]


def test_swedish_formats() -> None:
    assert number(1234567) == f"1{NBSP}234{NBSP}567"
    assert percent(0.125) == f"13{NBSP}%" and percent(None) == "–"
    assert long_date(date(2026, 3, 1)) == "1 mars 2026"
    tz = ZoneInfo("Europe/Stockholm")
    slot = datetime.combine(date(2026, 7, 7), time(6, 30), tzinfo=UTC)  # 08.30 summer time
    assert send_time(slot, tz, date(2026, 7, 1)) == f"tis 7 juli kl.{NBSP}08.30 svensk tid"
    assert send_time(slot, tz, date(2025, 12, 1)) == f"tis 7 juli 2026 kl.{NBSP}08.30 svensk tid"
    helsinki = ZoneInfo("Europe/Helsinki")
    assert send_time(slot, helsinki, date(2026, 7, 1)) == (
        f"tis 7 juli kl.{NBSP}09.30 (Europe/Helsinki)"
    )
