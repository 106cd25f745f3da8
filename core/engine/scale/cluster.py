"""Where the scale-out fit runs: a Dask cluster named by address, or a local one started for it.

``local`` or ``local:N`` starts a ``LocalCluster`` of N worker processes
(default 2) on the loopback interface, without a dashboard, for the length of
the fit; any other address (``tcp://scheduler:8786``) connects to a running
scheduler -- one made by dask-kubernetes, dask-jobqueue, ``dask scheduler``
or any other way (see the README). Dask schedules, retries tasks lost with a
worker and spills to disk; Atelier runs no cluster code of its own.
"""

from __future__ import annotations

import importlib
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

from core.engine.cells import AsOf
from core.engine.config import EngineConfig
from core.engine.models.hybrid import HybridRecommender
from core.engine.scale.fit import fit_partitioned
from core.engine.scale.reduce import DaskClient
from core.exceptions import ConfigError

DEFAULT_LOCAL_WORKERS = 2
CONNECT_TIMEOUT_S = 20


def local_workers(address: str) -> int | None:
    """N for ``local:N`` (2 for ``local``), ``None`` for a scheduler address.

    Raises
    ------
    ConfigError
        For ``local:`` followed by anything but a whole number from 1 to 256.
    """
    if address == "local":
        return DEFAULT_LOCAL_WORKERS
    if not address.startswith("local:"):
        return None
    text = address.partition(":")[2]
    if not text.isdigit() or not 1 <= int(text) <= 256:
        raise ConfigError(
            f"--dask {address!r}: after 'local:' give the number of workers (1 to 256), "
            "e.g. local:4"
        )
    return int(text)


def _distributed() -> ModuleType:
    """The ``distributed`` module (an optional extra, imported when used)."""
    try:
        return importlib.import_module("distributed")
    except ImportError as err:  # pragma: no cover - the extra is installed with the tests
        raise ConfigError(
            "the fit on Dask needs the scale extra: pip install 'atelier[scale]'"
        ) from err


@contextmanager
def dask_client(address: str) -> Iterator[DaskClient]:
    """A ``distributed.Client`` for ``address``, closed (with its local cluster) on exit.

    Raises
    ------
    ConfigError
        ``distributed`` is not installed, the address is malformed, or no
        scheduler answers there.
    """
    dist = _distributed()
    Client, LocalCluster = dist.Client, dist.LocalCluster  # noqa: N806 - Dask's class names
    n = local_workers(address)
    if n is not None:
        cluster = LocalCluster(
            n_workers=n,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        )
        try:
            with Client(cluster) as client:
                yield client
        finally:
            cluster.close()
        return
    try:
        client = Client(address, timeout=CONNECT_TIMEOUT_S)
    except (OSError, ValueError, TypeError) as err:
        raise ConfigError(
            f"--dask {address!r}: no Dask scheduler answered ({err}); give the address the "
            "cluster printed (e.g. tcp://10.0.0.5:8786), or 'local' / 'local:N'"
        ) from None
    try:
        yield client
    finally:
        client.close()


def fit_on_dask(
    path: str | Path,
    dask: str | DaskClient = "local",
    config: EngineConfig | None = None,
    *,
    out: str | Path | None = None,
    as_of: AsOf = None,
    validate: bool = False,
    show_progress: bool = False,
) -> HybridRecommender:
    """:func:`~core.engine.scale.fit.fit_partitioned` on a Dask cluster.

    Parameters
    ----------
    path : path
        The partitioned data folder.
    dask : str or distributed.Client
        An address (``local``, ``local:N``, ``tcp://host:8786``) or a client.
    config, out, as_of, validate
        As in :func:`~core.engine.scale.fit.fit_partitioned`.
    show_progress : bool
        Dask's progress bar for each step (``distributed.progress``) on a
        terminal; elsewhere (a log) one line per step.
    """
    progress = None
    if show_progress and sys.stdout.isatty():
        dask_progress = _distributed().progress

        def progress(futures: list[object]) -> None:
            dask_progress(futures)
            print(flush=True)  # the bar ends its line only when the next one starts

    elif show_progress:  # a log file: a line per step, not the bar's carriage-return frames
        wait = _distributed().wait

        def progress(futures: list[object]) -> None:
            t0 = time.perf_counter()
            wait(futures)
            print(
                f"dask: {len(futures)} tasks done in {time.perf_counter() - t0:.1f} s", flush=True
            )

    if not isinstance(dask, str):
        return fit_partitioned(
            path, dask, config, as_of=as_of, out=out, validate=validate, progress=progress
        )
    with dask_client(dask) as client:
        return fit_partitioned(
            path, client, config, as_of=as_of, out=out, validate=validate, progress=progress
        )
