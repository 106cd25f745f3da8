"""What the erasure tests of both layouts start from: a copy of a house and a database with its staff."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

from core.settings import Settings
from core.store import SYSTEM_ACTOR, Store


def copied_settings(house: Path, tmp_path: Path) -> Settings:
    """Settings over a copy of ``house`` (its models included) and a fresh SQLite database."""
    data_dir = tmp_path / "data"
    shutil.copytree(house, data_dir)
    return Settings(data_dir=data_dir, database_url=f"sqlite:///{tmp_path / 'atelier.db'}")


def staff_store(settings: Settings) -> Iterator[Store]:
    """The database of ``settings`` with an admin (``ada``) and a stylist (``lea``); closed after."""
    store = Store.open(settings)
    store.users.create_user("ada", "Ada Admin", "admin", None, actor_id=SYSTEM_ACTOR)
    store.users.create_user("lea", "Léa Stylist", "stylist", None, actor_id=SYSTEM_ACTOR)
    yield store
    store.close()
