"""The hostile-text suite's tally: how many hostile strings each renderer was given.

Each property test calls ``tried(renderer, n)`` for every example; the counts
are printed at the end of the run ("hostile strings tried per renderer").
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import pytest

_TALLY: Counter[str] = Counter()


@pytest.fixture(scope="session")
def tried() -> Callable[[str, int], None]:
    """``tried(renderer, n=1)``: count ``n`` hostile strings given to ``renderer``."""

    def count(renderer: str, n: int = 1) -> None:
        _TALLY[renderer] += n

    return count


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not _TALLY:
        return
    terminalreporter.section("hostile strings tried per renderer")
    width = max(map(len, _TALLY))
    for renderer, n in sorted(_TALLY.items()):
        terminalreporter.write_line(f"{renderer:<{width}}  {n:>6,}")
    terminalreporter.write_line(f"{'total':<{width}}  {sum(_TALLY.values()):>6,}")
