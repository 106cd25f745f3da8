"""The model folder's bookkeeping: its generation, its evaluation report, and swapping it.

A saved model lives in one folder (:func:`core.engine.models.persistence.save_model`);
beside its files it keeps a swap counter (:data:`GENERATION_FILE`) and its last
evaluation (``evaluation/report.json`` and ``report.md``). A retrain
(:mod:`core.app.retrain`) and an erasure (:mod:`core.app.erasure`) replace the
folder whole with :func:`swap_folder`; :func:`model_generation` tells a cache
that it changed.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

from core.engine.evaluation import EvaluationReport

#: Where a model's evaluation lives, inside the model folder.
REPORT_DIR = "evaluation"
REPORT_FILE = "report.json"
REPORT_MD = "report.md"
#: A counter file inside the model folder, raised by every swap.
GENERATION_FILE = "generation"


def model_generation(model_dir: str | Path) -> str:
    """A marker that changes whenever a model is saved into ``model_dir``.

    The swap counter and the metadata file's identity (inode, mtime in ns):
    a retrain raises the counter, and a plain :func:`save_model` (first start,
    ``python -m core fit``) writes a new metadata file. ``"none"`` when no model
    is saved. Cheap (two ``stat`` calls); use it in a cache key.
    """
    from core.engine.models.persistence import META_FILE

    folder = Path(model_dir)
    try:
        info = (folder / META_FILE).stat()
    except OSError:
        return "none"
    return f"{_counter(folder)}-{info.st_ino}-{info.st_mtime_ns}"


def retrain_count(model_dir: str | Path) -> int:
    """How many retrains were swapped into ``model_dir`` since it was last fitted from scratch."""
    return _counter(Path(model_dir))


def _counter(folder: Path) -> int:
    try:
        return int((folder / GENERATION_FILE).read_text(encoding="utf-8").strip() or 0)
    except (OSError, ValueError):
        return 0


def report_path(model_dir: str | Path) -> Path:
    """Where the evaluation report of the model in ``model_dir`` is kept."""
    return Path(model_dir) / REPORT_DIR / REPORT_FILE


def read_report(model_dir: str | Path) -> EvaluationReport | None:
    """The last evaluation report of the model in ``model_dir``, or ``None`` when absent/unreadable."""
    path = report_path(model_dir)
    if not path.is_file():
        return None
    try:
        return EvaluationReport.from_json(path)
    except (OSError, ValueError, KeyError):
        return None


def write_report(report: EvaluationReport, model_dir: str | Path) -> Path:
    """Write ``report`` (JSON and Markdown) into ``model_dir/evaluation``; returns the JSON path."""
    folder = Path(model_dir) / REPORT_DIR
    folder.mkdir(parents=True, exist_ok=True)
    report.to_json(folder / REPORT_FILE)
    (folder / REPORT_MD).write_text(report.to_markdown(), encoding="utf-8")
    return folder / REPORT_FILE


def swap_folder(new: Path, target: Path, *, keep_old: bool = False) -> Path | None:
    """Put folder ``new`` at ``target`` by renames; the old ``target`` is removed after.

    If the second rename fails the old folder is put back. With ``keep_old``
    the old folder is kept aside and its path returned (for a caller that may
    still have to put it back); otherwise ``None``.
    """
    old = None
    if target.exists():
        old = target.parent / f".{target.name}.old-{uuid.uuid4().hex[:8]}"
        os.replace(target, old)
    try:
        os.replace(new, target)
    except BaseException:
        if old is not None:
            os.replace(old, target)
        raise
    if old is not None and not keep_old:
        shutil.rmtree(old, ignore_errors=True)
        return None
    return old
