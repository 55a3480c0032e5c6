"""Small groups stay out of figures: the one rule every report by department follows.

A department with fewer people than the threshold (REPORT_MIN_GROUP_SIZE) is not shown on its
own: all such departments are merged into one group, "Övriga (små grupper)". Reports show the
campaign's totals beside the table, so the merged group is what a subtraction would give anyway;
while it still has fewer people than the threshold, the smallest shown departments are merged
into it too, until it reaches the threshold. Shown departments keep their name order; the
merged group comes last.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

OTHER_GROUPS = "Övriga (små grupper)"
NO_DEPARTMENT = "(ingen)"  # people without a department, as one group

G = TypeVar("G")


def merge_small(
    groups: Sequence[G],
    min_group: int,
    *,
    size: Callable[[G], int],
    name: Callable[[G], str],
    merge: Callable[[list[G]], G],
) -> list[G]:
    """`groups` with the small ones (and as few others as needed) merged by `merge`."""
    small = [g for g in groups if size(g) < min_group]
    if not small:
        return list(groups)
    shown = sorted((g for g in groups if size(g) >= min_group), key=size)
    merged = small
    # Until the merged group is as large as the threshold, no subtraction may reveal it.
    while sum(size(g) for g in merged) < min_group and shown:
        merged.append(shown.pop(0))
    return [*sorted(shown, key=name), merge(merged)]
