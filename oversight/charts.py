"""Bar charts drawn on the server as SVG geometry for a template (which escapes every label): no
JavaScript, no CDN. Colours are the GOV.UK palette; every chart also has its figures as a table."""

from __future__ import annotations

from dataclasses import dataclass

COLOURS = {
    "red": "#d4351c",
    "amber": "#f47738",
    "green": "#00703c",
    "no_date": "#b1b4b6",
    "completed": "#1d70b8",
    "new": "#4c2c92",
    "bar": "#1d70b8",
}
LABEL_WIDTH = 260
PLOT_WIDTH = 420
ROW_HEIGHT = 28


@dataclass(frozen=True)
class Segment:
    x: float
    width: float
    colour: str
    value: int
    name: str


@dataclass(frozen=True)
class Bar:
    label: str
    y: int
    segments: list[Segment]
    total: int


@dataclass(frozen=True)
class Chart:
    title: str
    bars: list[Bar]
    height: int
    width: int = LABEL_WIDTH + PLOT_WIDTH + 60
    label_width: int = LABEL_WIDTH
    legend: tuple[tuple[str, str], ...] = ()


def horizontal_bars(
    title: str, rows: list[tuple[str, list[tuple[str, int]]]], legend: dict[str, str] | None = None
) -> Chart:
    """One bar per row, stacked from its (series, value) parts, scaled to the largest total."""
    largest = max((sum(v for _, v in parts) for _, parts in rows), default=0) or 1
    bars = []
    for index, (label, parts) in enumerate(rows):
        x = float(LABEL_WIDTH)
        segments = []
        for name, value in parts:
            width = PLOT_WIDTH * value / largest
            segments.append(
                Segment(x=x, width=width, colour=COLOURS.get(name, COLOURS["bar"]), value=value, name=name)
            )
            x += width
        bars.append(
            Bar(label=label, y=index * ROW_HEIGHT + 8, segments=segments, total=sum(v for _, v in parts))
        )
    return Chart(
        title=title,
        bars=bars,
        height=len(rows) * ROW_HEIGHT + 16,
        legend=tuple((COLOURS.get(k, COLOURS["bar"]), v) for k, v in (legend or {}).items()),
    )
