"""Server-drawn charts (inline SVG) of the trends tables: readable without JavaScript, scaled by the
browser, and always next to a table of the same numbers.

Only shapes and their positions are computed here; templates/reporting/trends/_charts.html draws
them. A hidden count is never drawn as a bar: it is a dashed outline with its words ("fewer than 5",
"not shown") so a chart can never be measured to recover it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from plugins.reporting.trends import Row, Table

BAR_WIDTH = 320  # viewBox units: the SVG scales to its box, so this fits a 360 px phone
LABEL_WIDTH = 70
ROW_HEIGHT = 22
CELL = 34  # heat map cell (viewBox units; drawn at this size in px, in a box that scrolls sideways)
HEAT_LABEL = 190


@dataclass
class Bar:
    y: int
    label: str  # the month
    text: str  # the count, or its words when hidden
    length: float  # 0 when hidden
    hidden: bool


@dataclass
class BarChart:
    width: int
    height: int
    label_width: int
    row_height: int
    bars: list[Bar] = field(default_factory=list)


def bars(row: Row, months: list[str]) -> BarChart:
    """Horizontal bars, one a month (months read down the page, so any number of them fits a phone)."""
    shown = [cell.count for cell in row.cells if cell.count is not None]
    largest = max(shown) if shown else 0
    room = BAR_WIDTH - LABEL_WIDTH - 60
    chart = BarChart(BAR_WIDTH, ROW_HEIGHT * len(months) + 6, LABEL_WIDTH, ROW_HEIGHT)
    for index, (month, cell) in enumerate(zip(months, row.cells, strict=True)):
        length = 0.0 if not cell.count or not largest else max(1.0, room * cell.count / largest)
        chart.bars.append(Bar(3 + index * ROW_HEIGHT, month, cell.text, round(length, 1), cell.count is None))
    return chart


@dataclass
class HeatCell:
    x: int
    y: int
    text: str  # the count, "<5" or "*"
    shade: float  # 0..1 (0 when hidden)
    hidden: bool


@dataclass
class HeatMap:
    width: int
    height: int
    label_width: int
    cell: int
    top: int = 64
    columns: list[tuple[int, str]] = field(default_factory=list)  # (x, month)
    rows: list[tuple[int, str]] = field(default_factory=list)  # (y, label)
    cells: list[HeatCell] = field(default_factory=list)


def heat(table: Table, months: list[str]) -> HeatMap:
    """Categories down, months across; darker means more. The total line is left to the table."""
    rows = [row for row in table.rows if not row.total]
    shown = [cell.count for row in rows for cell in row.cells if cell.count is not None]
    largest = max(shown) if shown else 0
    top = 64  # room for the months, written at a slant
    chart = HeatMap(HEAT_LABEL + CELL * len(months) + 48, top + CELL * len(rows) + 4, HEAT_LABEL, CELL, top)
    chart.columns = [(HEAT_LABEL + CELL * j + CELL // 2, month) for j, month in enumerate(months)]
    for i, row in enumerate(rows):
        y = top + CELL * i
        chart.rows.append((y + CELL // 2, row.label if len(row.label) <= 30 else row.label[:29] + "…"))
        for j, cell in enumerate(row.cells):
            shade = 0.0 if cell.count is None else 0.05 if not cell.count else 0.15 + 0.85 * cell.count / largest
            text = cell.hidden if cell.count is None else str(cell.count)
            chart.cells.append(HeatCell(HEAT_LABEL + CELL * j, y, text, round(shade, 3), cell.count is None))
    return chart
