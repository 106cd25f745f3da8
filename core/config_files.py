"""The one reader of the TOML files users edit (engine config, house rules)."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from core.exceptions import ConfigError


def read_toml(path: str | Path, what: str) -> dict[str, Any]:
    """The table a TOML file holds.

    Parameters
    ----------
    path : str or Path
    what : str
        What the file is, for messages ("engine config file", "rules file").

    Raises
    ------
    ConfigError
        When the file is missing, unreadable, not UTF-8 or not valid TOML,
        naming the file and, for a syntax error, the line and column.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{what} not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {what} {path}: {exc}") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{what} {path} is not valid TOML: {exc}") from None
