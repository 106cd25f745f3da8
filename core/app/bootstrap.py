"""Start-up: make sure data, model, database and demo users exist.

Used by the CLI (``python -m core init``) and by the dashboard on its first
start. Every step reports progress through an optional callback
``progress(message, fraction)`` so the CLI can draw a bar in the terminal and
the dashboard a bar on screen.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from core.data.dataset import Dataset, load_dataset
from core.data.loading import find_table_files
from core.exceptions import AtelierError, ModelMismatchError
from core.settings import Settings

if TYPE_CHECKING:
    from core.engine.models.base import Recommender
    from core.engine.models.hybrid import HybridRecommender
    from core.store.common import SessionFactory

Progress = Callable[[str, float], None]
DEMO_MARKER = ".atelier-demo.json"
CREDENTIALS_FILE = "demo_credentials.csv"


def _noop(message: str, fraction: float) -> None:
    return None


def data_present(data_dir: Path) -> bool:
    """Whether ``data_dir`` already holds at least one table file."""
    return data_dir.is_dir() and bool(find_table_files(data_dir))


def is_demo(data_dir: Path) -> bool:
    """Whether ``data_dir`` holds the generated sample maison (not imported data)."""
    return (data_dir / DEMO_MARKER).is_file()


def ensure_data(settings: Settings, progress: Progress | None = None) -> Path:
    """Generate the default maison into ``settings.data_dir`` if it holds no tables.

    Returns the data folder. Existing data is never touched.
    """
    progress = progress or _noop
    data_dir = Path(settings.data_dir)
    if data_present(data_dir):
        return data_dir
    from core.data.generate import write_maison

    data_dir.mkdir(parents=True, exist_ok=True)
    progress("Generating the sample maison", 0.0)
    counts = write_maison(
        data_dir,
        seed=settings.seed,
        progress=lambda msg, frac: progress(f"Generating the sample maison: {msg}", frac),
    )
    (data_dir / DEMO_MARKER).write_text(
        json.dumps({"seed": settings.seed, "counts": counts}, indent=2), encoding="utf-8"
    )
    progress("Sample maison ready", 1.0)
    return data_dir


def load_data(settings: Settings) -> Dataset:
    """Load and validate the tables in ``settings.data_dir``."""
    return load_dataset(settings.data_dir, max_file_mb=settings.max_upload_mb)


def load_or_fit_model(
    dataset: Dataset,
    settings: Settings,
    progress: Progress | None = None,
    on_damaged: Callable[[AtelierError], None] | None = None,
) -> Recommender:
    """The saved hybrid model for ``dataset``, or a freshly fitted (and saved) one.

    A saved model whose data fingerprint does not match is refitted, never used;
    so is a damaged or incomplete one (a truncated or missing file), after
    ``on_damaged(error)`` is told why, so that nobody has to refit by hand.
    """
    from core.engine.models.persistence import META_FILE, ModelFileError, load_model

    progress = progress or _noop
    model_dir = settings.resolved_model_dir
    if (model_dir / META_FILE).is_file():
        try:
            progress("Loading the saved model", 0.5)
            model = load_model(model_dir, dataset)
            progress("Model loaded", 1.0)
            return model
        except ModelMismatchError:
            progress("The data changed since the model was saved: refitting", 0.1)
        except ModelFileError as err:
            if on_damaged is not None:
                on_damaged(err)
            progress("The saved model could not be read: refitting", 0.1)
    return fit_and_save_model(dataset, settings, progress)


def fit_and_save_model(
    dataset: Dataset, settings: Settings, progress: Progress | None = None
) -> HybridRecommender:
    """Fit the hybrid model on ``dataset`` (the data folder's ``engine.toml``) and save it."""
    from core.engine.config import EngineConfig
    from core.engine.models.hybrid import HybridRecommender
    from core.engine.models.persistence import save_model

    progress = progress or _noop
    config_path = Path(settings.data_dir) / "engine.toml"
    config = EngineConfig.from_toml(config_path) if config_path.is_file() else EngineConfig()
    progress("Fitting the recommendation model", 0.2)
    model = HybridRecommender(config=config).fit(dataset)
    progress("Saving the model", 0.9)
    save_model(model, settings.resolved_model_dir)
    progress("Model ready", 1.0)
    return model


@dataclass(frozen=True)
class Credential:
    user_id: str
    name: str
    role: str
    password: str


def ensure_demo_users(
    settings: Settings, dataset: Dataset, session_factory: SessionFactory
) -> list[Credential]:
    """Create users for the demo associates on first start and remember their passwords.

    Only for the generated demo data: imported real data never gets generated
    passwords (create users with ``python -m core users create``). New
    credentials are appended to ``demo_credentials.csv`` in the data folder
    (readable by the owner only) and returned so the caller can print them.
    """
    if not is_demo(Path(settings.data_dir)):
        return []
    from core.store import SYSTEM_ACTOR
    from core.store.services import UserService

    created = UserService(session_factory).seed_users_from_associates(
        dataset.associates, actor_id=SYSTEM_ACTOR
    )
    creds = [Credential(u, n, r, p) for (u, n, r, p) in created]
    if creds:
        path = Path(settings.data_dir) / CREDENTIALS_FILE
        new_file = not path.exists()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "a", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            if new_file:
                writer.writerow(["user_id", "name", "role", "password"])
            for c in creds:
                writer.writerow([c.user_id, c.name, c.role, c.password])
    return creds


def read_demo_credentials(settings: Settings) -> list[Credential]:
    """The demo users' initial passwords (empty for imported data)."""
    path = Path(settings.data_dir) / CREDENTIALS_FILE
    if not path.is_file():
        return []
    with path.open(encoding="utf-8", newline="") as fh:
        return [Credential(**row) for row in csv.DictReader(fh)]


def format_credentials(creds: list[Credential], per_role: int | None = None) -> str:
    """A table of demo sign-ins for the terminal, admins first.

    ``per_role`` shows only that many users of each role (the first start
    prints a short table; ``python -m core credentials`` prints them all).
    """
    order = {"admin": 0, "manager": 1, "stylist": 2, "associate": 3}
    creds = sorted(creds, key=lambda c: (order.get(c.role, 9), c.user_id))
    lines = ["Demo sign-ins (`python -m core credentials` shows them all again):"]
    shown: dict[str, int] = {}
    hidden = 0
    for c in creds:
        shown[c.role] = shown.get(c.role, 0) + 1
        if per_role is not None and shown[c.role] > per_role:
            hidden += 1
            continue
        lines.append(f"  {c.role:<10} {c.user_id:<8} {c.password}   ({c.name})")
    if hidden:
        lines.append(f"  ... and {hidden} more")
    return "\n".join(lines)
