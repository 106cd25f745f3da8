"""What every command shares: the progress bar, the settings, the dataset and the engine configuration."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

from core.settings import Settings, get_settings

if TYPE_CHECKING:
    from core.data.dataset import Dataset
    from core.engine.config import EngineConfig

T = TypeVar("T")

#: The subcommand registry commands are added to (``ArgumentParser.add_subparsers()``).
Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


class Bar:
    """A progress display on stderr for long steps (tqdm when it is a terminal)."""

    def __init__(self, title: str) -> None:
        from tqdm import tqdm

        self._bar = tqdm(total=100, desc=title, unit="%", file=sys.stderr, leave=True)
        self._last = 0

    def __call__(self, message: str, fraction: float) -> None:
        pct = int(max(0.0, min(1.0, fraction)) * 100)
        self._bar.set_postfix_str(message[:60], refresh=False)
        if pct > self._last:
            self._bar.update(pct - self._last)
            self._last = pct
        else:
            self._bar.refresh()

    def close(self) -> None:
        if self._last < 100:
            self._bar.update(100 - self._last)
        self._bar.close()


def with_bar(title: str, fn: Callable[[Callable[[str, float], None]], T]) -> T:
    """Run ``fn(progress)`` under a :class:`Bar` titled ``title``; close the bar however it ends."""
    bar = Bar(title)
    try:
        return fn(bar)
    finally:
        bar.close()


def settings_for(args: argparse.Namespace) -> Settings:
    """The settings, with ``--data`` (when given) as the data folder."""
    overrides: dict[str, Any] = {}
    if getattr(args, "data", None):
        overrides["data_dir"] = Path(args.data)
    return Settings(**overrides) if overrides else get_settings()


def load(args: argparse.Namespace) -> Dataset:
    """The dataset of the data folder the arguments name."""
    from core.app.bootstrap import load_data

    return load_data(settings_for(args))


def engine_config(args: argparse.Namespace) -> EngineConfig:
    """--config if given, else the data folder's engine.toml (written by tune), else defaults."""
    from core.engine.config import EngineConfig

    if getattr(args, "config", None):
        return EngineConfig.from_toml(args.config)
    tuned = Path(settings_for(args).data_dir) / "engine.toml"
    return EngineConfig.from_toml(tuned) if tuned.is_file() else EngineConfig()


def counts_text(counts: dict[str, int]) -> str:
    """``clients 80, products 60, ...``: the rows a command wrote, per table."""
    return ", ".join(f"{k} {v:,}" for k, v in counts.items())
