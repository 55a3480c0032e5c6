"""Charts as inline SVG made on the server: no JavaScript, no inline styles, readable aloud.

Each chart is an <svg role="img"> named by its <title> and described by a <desc> that says every
figure in words; the page shows the same figures as a table too. Colours come from
dashboard.css through classes (CSP allows no style attributes). Figures that rest on few answers
get striped bars or hollow points, and the words "få svar", so colour never carries meaning alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from app.dashboard.formatting import NO_VALUE, number, percent

WIDTH = 520
SHARE_HEIGHT = 300
# The plot area of the share charts: room for the y labels left and four x label lines below.
LEFT, RIGHT, TOP, BOTTOM = 52, WIDTH - 12, 30, SHARE_HEIGHT - 86
LINE_GAP = 17
GRID = (0.0, 0.25, 0.5, 0.75, 1.0)
# The funnel spans a whole panel: a wider canvas, the bars scaled to the first step.
FUNNEL_WIDTH, FUNNEL_LABEL_WIDTH, FUNNEL_BAR_WIDTH, FUNNEL_ROW, FUNNEL_BAR = 760, 170, 450, 40, 24


@dataclass(frozen=True)
class Share:
    """One figure of a share chart: the share right among `n` answers."""

    label: str  # "\n" splits it over two lines under the bar
    value: float | None  # 0..1; None when nobody answered
    n: int
    uncertain: bool  # too few answers to trust


@dataclass(frozen=True)
class Step:
    label: str
    count: int


def _e(text: object) -> str:
    return str(escape(text))


def _svg(
    chart_id: str, title: str, desc: str, height: int, body: Iterable[str], width: int = WIDTH
) -> Markup:
    head = (
        f'<svg class="chart" id="{chart_id}" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" role="img" aria-labelledby="{chart_id}-title {chart_id}-desc" '
        'focusable="false">'
        f'<title id="{chart_id}-title">{_e(title)}</title>'
        f'<desc id="{chart_id}-desc">{_e(desc)}</desc>'
    )
    return Markup(head + "".join(body) + "</svg>")


def _text(x: float, y: float, text: str, cls: str, anchor: str = "middle") -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" class="{cls}">{_e(text)}</text>'


def _y(value: float) -> float:
    return BOTTOM - value * (BOTTOM - TOP)


def _answers(n: int) -> str:
    return f"{number(n)} svar"


def share_words(share: Share) -> str:
    """One figure in words, for the chart's description and the table."""
    label = share.label.replace("\n", " ")
    if share.value is None:
        return f"{label}: inga svar än."
    few = ", få svar" if share.uncertain else ""
    return f"{label}: {percent(share.value)} rätt ({_answers(share.n)}{few})."


def _share_desc(shares: Sequence[Share], target: float | None) -> str:
    words = " ".join(share_words(s) for s in shares)
    return f"{words} Målet är {percent(target)}." if target is not None else words


def _grid() -> Iterable[str]:
    for value in GRID:
        y = _y(value)
        yield f'<line x1="{LEFT}" y1="{y:.1f}" x2="{RIGHT}" y2="{y:.1f}" class="chart-grid"/>'
        yield _text(LEFT - 8, y + 4, percent(value), "chart-axis", "end")


def _target(target: float | None) -> Iterable[str]:
    if target is None:
        return
    y = _y(target)
    yield f'<line x1="{LEFT}" y1="{y:.1f}" x2="{RIGHT}" y2="{y:.1f}" class="chart-target"/>'
    yield _text(RIGHT, y - 6, f"Mål {percent(target)}", "chart-target-label", "end")


def _centres(count: int) -> list[float]:
    slot = (RIGHT - LEFT) / max(count, 1)
    return [LEFT + slot * (i + 0.5) for i in range(count)]


def _x_labels(x: float, share: Share) -> Iterable[str]:
    lines = share.label.split("\n")
    if share.n == 0:
        notes = ["inga svar"]
    else:
        notes = [_answers(share.n), *(["få svar"] if share.uncertain else [])]
    for row, line in enumerate(lines):
        yield _text(x, BOTTOM + 20 + row * LINE_GAP, line, "chart-label")
    for row, note in enumerate(notes, start=len(lines)):
        yield _text(x, BOTTOM + 20 + row * LINE_GAP, note, "chart-note")


def _value_label(x: float, share: Share, target: float | None, moved: str | None) -> str:
    """The share above its bar or point; just under the target line, where the dashed line would
    cross it, it moves down (class `moved`: white in a bar, plain by a point) if it may."""
    if share.value is None:
        return _text(x, BOTTOM - 8, NO_VALUE, "chart-value")
    y = _y(share.value)
    near = target is not None and 0 < target - share.value < 0.1 and share.value > 0.2
    if near and moved is not None:
        return _text(x, y + 20, percent(share.value), moved)
    return _text(x, y - 10, percent(share.value), "chart-value")


def _hatch(chart_id: str) -> str:
    return (
        f'<defs><pattern id="{chart_id}-few" width="8" height="8" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><rect width="8" height="8" class="chart-hatch-ground"/>'
        '<line x1="2" y1="0" x2="2" y2="8" class="chart-hatch-line"/></pattern></defs>'
    )


def _bar(chart_id: str, x: float, width: float, share: Share) -> str:
    if share.value is None:
        return ""
    y = _y(share.value)
    shape = f'x="{x - width / 2:.1f}" y="{y:.1f}" width="{width:.1f}" height="{BOTTOM - y:.1f}"'
    if share.uncertain:
        # The pattern is a fill attribute: a class rule for fill would override it.
        return f'<rect {shape} fill="url(#{chart_id}-few)" class="chart-bar-few"/>'
    return f'<rect {shape} class="chart-bar"/>'


def bar_chart(
    chart_id: str, title: str, shares: Sequence[Share], target: float | None = None
) -> Markup:
    """Vertical bars of shares (0–100 %), e.g. right answers at each repetition."""
    centres = _centres(len(shares))
    width = min(64.0, (RIGHT - LEFT) / max(len(shares), 1) * 0.55)
    body = [_hatch(chart_id), *_grid()]
    for x, share in zip(centres, shares, strict=True):
        # White text cannot be read on a striped bar, so those labels stay above.
        label = _value_label(x, share, target, None if share.uncertain else "chart-value-inside")
        body += [_bar(chart_id, x, width, share), label, *_x_labels(x, share)]
    body += _target(target)
    return _svg(chart_id, title, _share_desc(shares, target), SHARE_HEIGHT, body)


def _line_paths(points: list[tuple[float, float] | None]) -> Iterable[str]:
    # An empty bucket breaks the line: joining across it would invent a figure.
    run: list[tuple[float, float]] = []
    for point in [*points, None]:
        if point is not None:
            run.append(point)
            continue
        if len(run) > 1:
            coords = " ".join(f"{x:.1f},{y:.1f}" for x, y in run)
            yield f'<polyline points="{coords}" class="chart-line"/>'
        run = []


def line_chart(
    chart_id: str, title: str, shares: Sequence[Share], axis_title: str, target: float | None
) -> Markup:
    """Points joined by a line, e.g. recall by days since the last answer."""
    centres = _centres(len(shares))
    points = [
        (x, _y(s.value)) if s.value is not None else None
        for x, s in zip(centres, shares, strict=True)
    ]
    body = [*_grid(), *_target(target), *_line_paths(points)]
    for x, share, point in zip(centres, shares, points, strict=True):
        if point is not None:
            cls = "chart-point-few" if share.uncertain else "chart-point"
            body.append(f'<circle cx="{point[0]:.1f}" cy="{point[1]:.1f}" r="6" class="{cls}"/>')
        body += [_value_label(x, share, target, "chart-value"), *_x_labels(x, share)]
    body.append(_text((LEFT + RIGHT) / 2, SHARE_HEIGHT - 6, axis_title, "chart-axis-title"))
    return _svg(chart_id, title, _share_desc(shares, target), SHARE_HEIGHT, body)


def step_words(step: Step, first: int) -> str:
    if first <= 0 or step.count == first:
        return f"{step.label}: {number(step.count)}."
    return f"{step.label}: {number(step.count)} ({percent(step.count / first)} av de skickade)."


def funnel_chart(chart_id: str, title: str, steps: Sequence[Step]) -> Markup:
    """Horizontal bars, each step against the first (everything sent)."""
    first = steps[0].count if steps else 0
    height = 8 + FUNNEL_ROW * len(steps)
    body: list[str] = []
    for row, step in enumerate(steps):
        top = 8 + row * FUNNEL_ROW
        middle = top + FUNNEL_BAR / 2 + 5
        share = step.count / first if first else 0.0
        # A hairline even at zero, so an empty step still shows where its bar would be.
        width = max(share * FUNNEL_BAR_WIDTH, 2.0)
        value = number(step.count) + (f" ({percent(share)})" if row and first else "")
        body += [
            _text(0, middle, step.label, "chart-label", "start"),
            f'<rect x="{FUNNEL_LABEL_WIDTH}" y="{top}" width="{width:.1f}" '
            f'height="{FUNNEL_BAR}" class="chart-funnel"/>',
            _text(FUNNEL_LABEL_WIDTH + width + 8, middle, value, "chart-value", "start"),
        ]
    desc = " ".join(step_words(s, first) for s in steps)
    return _svg(chart_id, title, desc, height, body, FUNNEL_WIDTH)


def meter(share: float) -> Markup:
    """A small bar for a table cell. The figure beside it says the same, so screen readers skip
    it (aria-hidden) rather than hear it twice."""
    width = 120
    filled = max(0.0, min(share, 1.0)) * width
    return Markup(
        f'<svg class="meter" viewBox="0 0 {width} 10" width="{width}" height="10" '
        'aria-hidden="true" focusable="false">'
        f'<rect width="{width}" height="10" rx="2" class="meter-track"/>'
        f'<rect width="{filled:.1f}" height="10" rx="2" class="meter-fill"/></svg>'
    )
