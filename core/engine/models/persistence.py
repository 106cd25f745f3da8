"""Save a fitted model to a folder and load it back for the same data.

A saved model is a folder with two files:

- ``arrays.npz``: every learned array (no pickle: loading runs no code);
- ``model.json``: the class, its engine config, the fingerprint of the data it
  was fitted on, library versions, the creation time and a checksum of
  ``arrays.npz``.

:func:`save_model` writes into a temporary folder next to the target and
renames it into place, so a reader never sees half a model.
:func:`load_model` refuses a model fitted on other data
(:class:`~core.exceptions.ModelMismatchError`) and reports missing or
damaged files as :class:`ModelFileError`.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import uuid
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy
import sklearn

from core.data.dataset import Dataset
from core.engine.config import EngineConfig
from core.engine.interactions import drop_clients, interactions_to_state
from core.engine.models.base import Recommender, StatefulRecommender
from core.engine.models.content import ContentRecommender
from core.engine.models.hybrid import HybridRecommender
from core.engine.models.svd import SVDRecommender
from core.exceptions import AtelierError, ModelMismatchError

#: 2: the hybrid keeps its item-neighbour matrix; 3: its next-step matrix;
#: 4: its item factors are shrunk towards their content (``factor_shrinkage``);
#: 5: a client's taste ages from their latest event (``recency``, ``latest_age``).
FORMAT_VERSION = 5
ARRAYS_FILE = "arrays.npz"
META_FILE = "model.json"
REFIT_HINT = "refit it with `python -m core fit`"

#: Classes :func:`load_model` may rebuild, by name.
MODEL_CLASSES: dict[str, type[StatefulRecommender]] = {
    cls.__name__: cls for cls in (HybridRecommender, SVDRecommender, ContentRecommender)
}


class ModelFileError(AtelierError, OSError):
    """A saved model is missing, incomplete or damaged."""


def _versions() -> dict[str, str]:
    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "scikit-learn": sklearn.__version__,
        "pandas": pd.__version__,
    }


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def save_model(model: Recommender, folder: str | Path) -> Path:
    """Write a fitted model to ``folder`` (replaced whole if it exists).

    Parameters
    ----------
    model : Recommender
        A fitted :class:`HybridRecommender`, :class:`SVDRecommender` or
        :class:`ContentRecommender`.
    folder : path

    Returns
    -------
    Path
        ``folder``.

    Raises
    ------
    NotFittedError
        For a model that was never fitted.
    TypeError
        For a model class that cannot be saved.
    """
    model.check_is_fitted()
    saved = _savable(model)
    arrays, state_meta = saved._get_state()
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = folder.parent / f".{folder.name}.tmp-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        np.savez(tmp / ARRAYS_FILE, allow_pickle=False, **arrays)
        config = saved.config_
        meta = {
            "format_version": FORMAT_VERSION,
            "class": type(model).__name__,
            "fingerprint": model.dataset_.fingerprint,
            "config": config.to_dict(),
            "versions": _versions(),
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "arrays_sha256": _sha256(tmp / ARRAYS_FILE),
            "state": state_meta,
        }
        (tmp / META_FILE).write_text(json.dumps(meta, indent=1), encoding="utf-8")
        _fsync_dir(tmp)
        old = None
        if folder.exists():
            old = folder.parent / f".{folder.name}.old-{uuid.uuid4().hex[:8]}"
            os.replace(folder, old)
        os.replace(tmp, folder)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return folder


def _fsync_dir(folder: Path) -> None:
    for p in folder.iterdir():
        with p.open("rb") as fh:
            os.fsync(fh.fileno())


def read_model_info(folder: str | Path) -> dict[str, Any]:
    """The metadata of a saved model (class, fingerprint, config, versions, created_at).

    Raises
    ------
    ModelFileError
        When the folder or its metadata is missing or unreadable.
    """
    folder = Path(folder)
    meta_path = folder / META_FILE
    if not folder.is_dir():
        raise ModelFileError(f"no saved model at {folder}: {REFIT_HINT}")
    if not meta_path.is_file():
        raise ModelFileError(f"{meta_path} is missing: the saved model is incomplete; {REFIT_HINT}")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ModelFileError(f"{meta_path} is damaged ({err}); {REFIT_HINT}") from None
    missing = [k for k in ("class", "fingerprint", "config", "state") if k not in meta]
    if not isinstance(meta, dict) or missing:
        raise ModelFileError(
            f"{meta_path} lacks {', '.join(missing) or 'its fields'}; {REFIT_HINT}"
        )
    return meta


def load_model(folder: str | Path, dataset: Dataset) -> Recommender:
    """Load the model saved in ``folder`` for ``dataset``.

    Parameters
    ----------
    folder : path
    dataset : Dataset
        The data the model was fitted on (same fingerprint).

    Returns
    -------
    Recommender
        Fitted, scoring exactly as the saved model did.

    Raises
    ------
    ModelMismatchError
        When the model was fitted on other data.
    ModelFileError
        When a file is missing or damaged, or the format is unknown.
    """
    folder = Path(folder)
    meta = read_model_info(folder)
    if meta["fingerprint"] != dataset.fingerprint:
        raise ModelMismatchError(
            f"the model in {folder} was fitted on data with fingerprint "
            f"{meta['fingerprint']}, but the data loaded has fingerprint "
            f"{dataset.fingerprint}; {REFIT_HINT}"
        )
    if meta.get("format_version") != FORMAT_VERSION:
        raise ModelFileError(
            f"{folder} holds model format {meta.get('format_version')!r}, "
            f"this version reads {FORMAT_VERSION}; {REFIT_HINT}"
        )
    cls = MODEL_CLASSES.get(str(meta["class"]))
    if cls is None:
        raise ModelFileError(f"{folder} holds an unknown model class {meta['class']!r}")
    arrays_path = folder / ARRAYS_FILE
    if not arrays_path.is_file():
        raise ModelFileError(
            f"{arrays_path} is missing: the saved model is incomplete; {REFIT_HINT}"
        )
    if meta.get("arrays_sha256") and _sha256(arrays_path) != meta["arrays_sha256"]:
        raise ModelFileError(f"{arrays_path} is damaged (checksum mismatch); {REFIT_HINT}")
    try:
        config = EngineConfig.from_dict(meta["config"], source=f"{folder / META_FILE}")
        with np.load(arrays_path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
        model = cls(config)
        model._set_state(arrays, meta["state"], dataset)
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as err:
        raise ModelFileError(
            f"{folder} could not be read ({type(err).__name__}: {err}); {REFIT_HINT}"
        ) from None
    return model


def without_clients(model: Recommender, dataset: Dataset) -> Recommender:
    """A copy of a fitted model that serves ``dataset``: the model's data less some clients.

    The rows of the clients ``dataset`` no longer holds are dropped from the
    model's interactions (:func:`core.engine.interactions.drop_clients`), so
    nothing of theirs is scored, folded in or explained; what was learnt across
    all clients (factors, neighbours, demand) stays until the next fit, which
    leaves them out. Saved with :func:`save_model`, it loads for ``dataset``.

    Parameters
    ----------
    model : Recommender
        Fitted; one of :data:`MODEL_CLASSES`.
    dataset : Dataset
        The model's data with some clients (and their events) removed: same
        products and stores.

    Returns
    -------
    Recommender
        A new model; ``model`` is unchanged.

    Raises
    ------
    UnknownIdError
        When ``dataset`` holds a client the model was not fitted on.
    TypeError
        For a model class that cannot be saved.
    """
    model.check_is_fitted()
    saved = _savable(model)
    arrays, meta = saved._get_state()
    inter = drop_clients(saved.interactions_, dataset)
    inter_arrays, inter_meta = interactions_to_state(inter, prefix="inter.")
    kept = {k: v for k, v in arrays.items() if not k.startswith("inter.")}
    out = type(saved)(saved.config_)
    state = {**meta, "interactions": inter_meta}
    out._set_state({**kept, **inter_arrays}, state, dataset)
    return out


def _savable(model: Recommender) -> StatefulRecommender:
    """``model`` as one of :data:`MODEL_CLASSES` (``TypeError`` for another class)."""
    name = type(model).__name__
    if name not in MODEL_CLASSES or not isinstance(model, StatefulRecommender):
        raise TypeError(
            f"{name} cannot be saved; savable models: {', '.join(sorted(MODEL_CLASSES))}"
        )
    return model
