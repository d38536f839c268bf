"""Small-number suppression for tables of counts shown to funders (casework returns, training reports).

Every count under THRESHOLD (5) is hidden as "<5". Totals are exact, so a hidden count could be
worked out by subtraction from its row or column total; where it could, a second count in that row
or column is hidden as well ("*", always THRESHOLD or more). The rule is checked exactly, not by a
rule of thumb: a hidden count is safe when the table, its totals and what "<5" and "*" tell
(0-4, 5 or more) still allow at least one other value for it (a cycle of hidden cells along which
counts can move). Nothing is rounded.

Written for the casework returns (plugins/casework/dashboard.py) and shared from here so the
training reports hide the same way.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

THRESHOLD = 5  # counts under this are never shown
PRIMARY = "<5"  # a count under THRESHOLD
SECONDARY = "*"  # hidden too, so that a count under THRESHOLD cannot be worked out from a total


def suppress(grid: list[list[int]], threshold: int = THRESHOLD, hidden: Iterable[tuple[int, int]] = (),
             zeros_shown: bool = False) -> dict[tuple[int, int], str]:
    """Which cells of a table to hide, and how: {(row, column): "<5" or "*"}.

    `hidden`: cells that must be hidden whatever their count (because another table hides them,
    say); they are hidden like the others ("<5" under THRESHOLD, "*" otherwise) and protected too.
    `zeros_shown`: a count of 0 is shown (or treated as known), never hidden, so "<5" means 1-4
    (the trends page: an empty region or type must not hide every count beside it).

    `grid` holds the counts with their totals: its last column is each row's total, its last row each
    column's total, and its last cell the grand total (every table of the returns has that shape).

    Every count under THRESHOLD is hidden ("<5"). Then, while some hidden count can still be worked
    out exactly from what is shown (the other counts, the totals, and that "<5" means 0-4 and "*"
    means THRESHOLD or more), one more count in its row (else its column, else anywhere) is hidden
    ("*"). If every cell is hidden and one can still be worked out, every cell is shown as "*".

    The exact check: put the totals in the table with a minus sign, so that every row and every
    column sums to zero. Another table that agrees with everything shown differs from this one by
    moving counts around a cycle of hidden cells (+t, -t, +t... alternately along rows and
    columns). A hidden cell can take another value if and only if some cycle through it can move
    by one within every cell's known bounds; `_movable` searches for such a cycle.
    """
    rows, cols = len(grid), len(grid[0])
    low = 1 if zeros_shown else 0
    forced = {(i, j): PRIMARY if grid[i][j] < threshold else SECONDARY for i, j in hidden if grid[i][j] >= low}
    hidden = {(i, j): PRIMARY for i in range(rows) for j in range(cols) if low <= grid[i][j] < threshold}
    hidden.update(forced)
    if not hidden:
        return {}
    while True:
        fixed = [cell for cell in sorted(hidden) if not _movable(grid, hidden, cell, threshold, low)]
        if not fixed:
            return hidden
        extra = _second_cell(grid, hidden, fixed, low)
        if extra is None:  # everything is hidden and bounds still give a count away: say nothing at all
            return {(i, j): SECONDARY for i in range(rows) for j in range(cols) if grid[i][j] >= low}
        hidden[extra] = SECONDARY


def _sign(grid, i: int, j: int) -> int:
    last_row, last_col = i == len(grid) - 1, j == len(grid[0]) - 1
    return -1 if last_row != last_col else 1


def _moves(grid, hidden, cell, threshold: int, lowest: int = 0) -> tuple[bool, bool]:
    """Whether the signed value of a hidden cell can go up by one, and down by one, within its bounds."""
    i, j = cell
    value = grid[i][j]
    low, high = (lowest, threshold - 1) if hidden[cell] == PRIMARY else (threshold, None)
    can_grow = high is None or value < high
    can_shrink = value > low
    if _sign(grid, i, j) > 0:
        return can_grow, can_shrink
    return can_shrink, can_grow


def _movable(grid, hidden, cell, threshold: int, lowest: int = 0) -> bool:
    """Whether some cycle of hidden cells through `cell` can move by one (so its value is not known)."""
    # Nodes: ("r", i) and ("c", j). A hidden cell (i, j) whose signed value can go up is an edge
    # r_i -> c_j; one whose signed value can go down is an edge c_j -> r_i. A cycle alternates.
    edges: dict[tuple, list] = defaultdict(list)
    for other in hidden:
        if other == cell:
            continue
        up, down = _moves(grid, hidden, other, threshold, lowest)
        if up:
            edges[("r", other[0])].append(("c", other[1]))
        if down:
            edges[("c", other[1])].append(("r", other[0]))
    up, down = _moves(grid, hidden, cell, threshold, lowest)
    row, col = ("r", cell[0]), ("c", cell[1])
    return (up and _reaches(edges, col, row)) or (down and _reaches(edges, row, col))


def _reaches(edges, start, goal) -> bool:
    seen, todo = {start}, [start]
    while todo:
        node = todo.pop()
        if node == goal:
            return True
        for nxt in edges.get(node, ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return False


def _second_cell(grid, hidden, fixed, lowest: int = 0) -> tuple[int, int] | None:
    """The next cell to hide, for the cells in `fixed` whose value can still be worked out.

    One in the row or column of such a cell (anywhere if those are all hidden); of those, a count
    rather than a total, one whose other line already has a hidden cell (so that a cycle can
    form), the smallest.
    """
    rows, cols = len(grid), len(grid[0])
    hidden_rows = defaultdict(int)
    hidden_cols = defaultdict(int)
    for r, c in hidden:
        hidden_rows[r] += 1
        hidden_cols[c] += 1
    candidates = set()
    for i, j in fixed:
        candidates.update((i, c) for c in range(cols) if (i, c) not in hidden and grid[i][c] >= lowest)
        candidates.update((r, j) for r in range(rows) if (r, j) not in hidden and grid[r][j] >= lowest)
    if not candidates:
        candidates = {(r, c) for r in range(rows) for c in range(cols)
                      if (r, c) not in hidden and grid[r][c] >= lowest}
    if not candidates:
        return None

    def key(cell):
        r, c = cell
        crossing = hidden_rows[r] > 0 and hidden_cols[c] > 0
        return (r == rows - 1 or c == cols - 1, not crossing, grid[r][c], cell)

    return min(candidates, key=key)


def shown(grid: list[list[int]], threshold: int = THRESHOLD) -> list[list[str]]:
    """The grid as text, with the hidden cells replaced by "<5" or "*"."""
    hidden = suppress(grid, threshold)
    return [[hidden.get((i, j), str(value)) for j, value in enumerate(line)] for i, line in enumerate(grid)]
