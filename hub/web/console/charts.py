"""Bar charts drawn on the server as inline SVG: no script, printable, and each chart has
its figures in a table beside it for screen readers."""

from __future__ import annotations

import decimal
from collections.abc import Sequence
from dataclasses import dataclass, field

LABEL_WIDTH = 100
BAR_WIDTH = 210
ROW_HEIGHT = 26
VALUE_WIDTH = 96


@dataclass
class Bar:
    label: str
    value: float
    text: str
    width: float
    y: int
    series: int = 0


@dataclass
class Chart:
    id: str
    title: str
    unit: str
    bars: list[Bar] = field(default_factory=list)
    legend: list[str] = field(default_factory=list)
    height: int = 0
    width: int = LABEL_WIDTH + BAR_WIDTH + VALUE_WIDTH
    label_width: int = LABEL_WIDTH

    @property
    def empty(self) -> bool:
        return not any(b.value for b in self.bars)


def _number(value) -> float:
    try:
        return float(decimal.Decimal(str(value)))
    except (decimal.InvalidOperation, ValueError):
        return 0.0


def bar_chart(chart_id: str, title: str, rows: Sequence[tuple[str, Sequence]], *, unit: str = "",
              legend: Sequence[str] = (), money: bool = False) -> Chart:
    """``rows``: (label, values), one value per series; bars scaled to the largest value."""
    chart = Chart(chart_id, title, unit, legend=list(legend))
    values = [_number(v) for _, vs in rows for v in vs]
    top = max(values, default=0) or 1
    y = 0
    for label, vs in rows:
        for i, raw in enumerate(vs):
            value = _number(raw)
            text = f"{value:,.2f}" if money else f"{value:,.0f}"
            chart.bars.append(Bar(label if i == 0 else "", value, text, round(BAR_WIDTH * value / top, 1), y, i))
            y += ROW_HEIGHT
        y += 6 if len(vs) > 1 else 0
    chart.height = max(y, ROW_HEIGHT)
    return chart
