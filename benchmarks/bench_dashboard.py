"""Dashboard latencies in a real browser (Playwright + Debian's Chromium). Prints figures.

On the default maison (generated and fitted once into ``--data-dir``, then
reused: the model is cached on disk and loaded once by the app), with a
fresh database each run, signed in as the associate with the most clients:

- open: from a tap on a client card (lookup page) to the client's suggestions
  visible, over ``--clients`` clients (p50/p95);
- pin: from a tap on "Pin" to the card showing "Pinned";
- remove: from a tap on "Remove from the selection" to the card gone.

Each latency is timed inside the page, from the tap's ``pointerdown`` to the
first frame showing the change (and, second table, to the end of the app's
run), so Playwright's own overhead is not counted. The browser's own work per
open is printed too: the page's main-thread task, script, layout and style
seconds (Chrome DevTools ``Performance.getMetrics``, from before the tap to
the page settled), and the page's Streamlit elements and DOM nodes -- what
many tablets' browsers would each spend, and what shares this machine's
cores with the server when ``bench_load.py`` runs many sessions here. Targets: open p95 < 1.5 s,
pin and remove p95 < 300 ms. Other processes on the machine inflate the
figures: run it on a quiet machine.

Run: ``python benchmarks/bench_dashboard.py [--clients 30] [--width 1180 --height 820]``.
With ``--serve per-client --data-dir FOLDER``: a partitioned house (e.g.
``bench_scale.py``'s L) served per client from its product-side model
(``ATELIER_DATA_DIR=FOLDER python -m core fit --dask local:2`` first).
Not a test: it never runs under pytest.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_scale import PeakRSS  # noqa: E402  (a sibling script, not a package)

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = Path(tempfile.gettempdir()) / "atelier-bench" / "default-maison"
CHROMIUM = ("/usr/bin/chromium", "/usr/bin/chromium-browser")

SCRIPT_DONE = """() => { const a = document.querySelector('[data-testid="stApp"]');
    return a && a.getAttribute('data-test-script-state') === 'notRunning'; }"""
SUGGESTIONS_VISIBLE = """() => document.querySelectorAll('[class*="st-key-cur-card-"] .d2-name')
    .length > 0"""


def prepare(data_dir: Path) -> None:
    """Generate the default maison and fit the model once (both reused by later runs)."""
    from core.app import bootstrap
    from core.settings import Settings

    settings = Settings(data_dir=data_dir)
    t = time.perf_counter()
    bootstrap.ensure_data(settings, lambda m, f: None)
    dataset = bootstrap.load_data(settings)
    bootstrap.load_or_fit_model(dataset, settings)
    print(
        f"maison: {len(dataset.clients):,} clients, {len(dataset.products):,} products, "
        f"{len(dataset.events):,} events (ready in {time.perf_counter() - t:.1f} s)"
    )


def seed_associates(data_dir: Path, db_url: str) -> dict[str, tuple[str, list[str]]]:
    """Users in the fresh database: associate id -> (password, their clients' names).

    Each associate has chosen their own password already (a generated one
    only opens the Account page), and has at least one client who agreed to
    be contacted (the clients listed).
    """
    from core.app import bootstrap
    from core.data.values import is_true
    from core.settings import Settings
    from core.store import SYSTEM_ACTOR, Store

    settings = Settings(data_dir=data_dir, database_url=db_url)
    if (data_dir / "clients").is_dir():  # the partitioned layout: no event is loaded
        associates = pd.read_parquet(data_dir / "associates.parquet")
        clients = pd.read_parquet(data_dir / "clients")
    else:
        dataset = bootstrap.load_data(settings)
        associates, clients = dataset.associates, dataset.clients
    store = Store.open(settings)
    created = store.users.seed_users_from_associates(associates, actor_id=SYSTEM_ACTOR)
    out: dict[str, tuple[str, list[str]]] = {}
    for uid, _name, role, printed in created:
        # Clients who agreed to be contacted: the share step reaches the preview.
        contact = clients["consent_contact"].map(is_true).astype(bool)
        mine = clients[(clients["assigned_associate_id"] == uid) & contact]
        own = (mine["first_name"].astype(str) + " " + mine["last_name"].astype(str)).str.strip()
        if role != "associate" or own.empty:
            continue
        chosen = f"bench-{uid}-password"
        store.users.change_password(uid, printed, chosen)
        out[uid] = (chosen, own.tolist())
    store.close()
    return out


def seed_users(data_dir: Path, db_url: str) -> tuple[str, str, list[str]]:
    """The associate with most clients, their password, and their clients' names."""
    associates = seed_associates(data_dir, db_url)
    best = max(associates, key=lambda u: (len(associates[u][1]), u))
    return best, associates[best][0], associates[best][1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_app(
    data_dir: Path, db_url: str, log: Path, serve: str = "memory"
) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {
        **os.environ,
        "ATELIER_DATA_DIR": str(data_dir),
        "ATELIER_DATABASE_URL": db_url,
        "ATELIER_SERVE": serve,
    }
    command = [
        sys.executable, "-m", "streamlit", "run", "dashboard/app.py",
        "--server.headless", "true", "--server.port", str(port),
        "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
    ]  # fmt: skip
    with log.open("w", encoding="utf-8") as out:
        process = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=out, stderr=out)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 600  # a large house's clients and model load first
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.read().decode().strip() == "ok":
                    return process, url
        except OSError:
            time.sleep(0.3)
    process.terminate()
    raise SystemExit("the app did not start; see " + str(log))


def _card_ids(page: Any) -> tuple[str, list[str]]:
    """The open client's id and the product ids of its cards, in order."""
    cid = page.evaluate(
        """() => { const e = document.querySelector('[class*="st-key-cur-card-"]');
            const m = e.className.match(/st-key-cur-card-(.+?)-(p[^\\s]*)/);
            return m ? m[1] : null; }"""
    )
    prefix = f"st-key-cur-card-{cid}-"
    classes = page.eval_on_selector_all(
        f'[class*="{prefix}"]', "els => [...new Set(els.flatMap(e => e.className.split(' ')))]"
    )
    return str(cid), [c[len(prefix) :] for c in classes if c.startswith(prefix)]


MEASURE = """(cond) => {
    const check = new Function('return (' + cond + ')()');
    const m = {down: null, seen: null, done: null};
    window.__atelierBench = m;
    document.addEventListener('pointerdown', () => { m.down = performance.now(); },
                              {once: true, capture: true});
    const poll = () => {
        const now = performance.now();
        if (m.down !== null && m.seen === null && check()) m.seen = now;
        const app = document.querySelector('[data-testid="stApp"]');
        if (m.seen !== null && app.getAttribute('data-test-script-state') === 'notRunning') {
            m.done = now; return;
        }
        requestAnimationFrame(poll);
    };
    requestAnimationFrame(poll);
}"""
MEASURED = "() => window.__atelierBench && window.__atelierBench.done !== null"


def _timed(page: Any, condition: str, tap: Any) -> tuple[float, float]:
    """(tap -> change visible, tap -> script finished), in seconds, timed inside the page.

    Timing starts at the ``pointerdown`` of the tap (so the harness's own
    overhead is not counted) and stops at the first animation frame where
    ``condition`` (a JS function source) holds.
    """
    page.evaluate(MEASURE, condition)
    tap()
    page.wait_for_function(MEASURED)
    m = page.evaluate("() => window.__atelierBench")
    return (m["seen"] - m["down"]) / 1000, (m["done"] - m["down"]) / 1000


#: Chrome DevTools performance metrics read around each open (seconds, except the counts).
BROWSER_METRICS = ("TaskDuration", "ScriptDuration", "LayoutDuration", "RecalcStyleDuration")
PAGE_SIZE = """() => ({
    elements: document.querySelectorAll('[data-testid="stElementContainer"]').length,
    buttons: document.querySelectorAll('[data-testid="stElementContainer"] .stButton').length,
    nodes: document.querySelectorAll('*').length})"""


class BrowserWork:
    """The page's main-thread seconds per open, from the DevTools protocol."""

    def __init__(self, page: Any) -> None:
        self.cdp = page.context.new_cdp_session(page)
        self.cdp.send("Performance.enable")
        self.page = page
        self.opens: list[dict[str, float]] = []
        self._before: dict[str, float] = {}

    def _read(self) -> dict[str, float]:
        got = self.cdp.send("Performance.getMetrics")["metrics"]
        return {m["name"]: float(m["value"]) for m in got if m["name"] in BROWSER_METRICS}

    def start(self) -> None:
        self._before = self._read()

    def stop(self) -> None:
        self.page.wait_for_timeout(300)  # the frames after the run's last delta
        after = self._read()
        sizes = self.page.evaluate(PAGE_SIZE)
        self.opens.append(
            {**{k: after[k] - self._before.get(k, 0.0) for k in BROWSER_METRICS}, **sizes}
        )

    def report(self) -> None:
        if not self.opens:
            return
        frame = pd.DataFrame(self.opens)
        print(f"browser main thread per open (s, n={len(frame)}, p50 / p95):")
        for k in BROWSER_METRICS:
            print(f"  {k:<20} {frame[k].median():6.3f} / {frame[k].quantile(0.95):6.3f}")
        last = self.opens[-1]
        print(
            f"the client page: {int(last['elements'])} elements "
            f"({int(last['buttons'])} buttons), {int(last['nodes'])} DOM nodes"
        )


def _one_client(
    page: Any, i: int, actions: int, work: BrowserWork | None = None
) -> dict[str, tuple[float, float]] | None:
    """Open the ``i``-th client card of the lookup page; time it, then a pin and a removal."""
    page.get_by_role("link", name="Client lookup").click()
    page.get_by_role("heading", name="Client lookup").wait_for()
    page.wait_for_function(SCRIPT_DONE)
    page.wait_for_timeout(300)  # let the results settle before the timed tap
    cards = page.locator(".st-key-lookup_results button")
    index = i + 1
    if cards.count() <= index:
        return None
    if work is not None and i >= 0:
        work.start()
    out = {"open": _timed(page, SUGGESTIONS_VISIBLE, cards.nth(index).click)}
    page.wait_for_function(SUGGESTIONS_VISIBLE)
    if work is not None and i >= 0:
        work.stop()
    if i < 0 or i >= actions:
        return out
    cid, pids = _card_ids(page)
    keep, gone = (f".st-key-cur-card-{cid}-{pid}" for pid in pids[:2])
    pinned = f"""() => [...document.querySelectorAll('{keep} button')]
        .some(b => b.innerText.trim() === 'Pinned')"""
    pin = page.locator(keep).get_by_role("button", name="Pin", exact=True)
    out["pin"] = _timed(page, pinned, pin.click)
    page.locator(gone).get_by_role("button", name="Remove").click()
    confirm = page.get_by_role("button", name="Remove from the selection")
    confirm.wait_for()
    page.wait_for_function(SCRIPT_DONE)
    out["remove"] = _timed(page, f"() => !document.querySelector('{gone}')", confirm.click)
    return out


def figures(name: str, values: list[float], target: float) -> None:
    if not values:
        print(f"{name:<8} no measurement")
        return
    a = np.asarray(values) * 1000
    p50, p95 = np.percentile(a, 50), np.percentile(a, 95)
    verdict = "OK" if p95 < target else "OVER TARGET"
    print(
        f"{name:<8} n={len(a):>3}  p50={p50:7.0f} ms  p95={p95:7.0f} ms  max={a.max():7.0f} ms"
        f"  (target p95 < {target:.0f} ms: {verdict})"
    )


def run(args: argparse.Namespace) -> None:
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    chromium = next((c for c in CHROMIUM if Path(c).is_file()), None)
    if chromium is None:
        raise SystemExit("no Chromium: apt-get install -y chromium")
    if args.serve == "memory":
        prepare(args.data_dir)
    else:
        from core.engine.models.persistence import META_FILE
        from core.settings import Settings

        model_dir = Settings(data_dir=args.data_dir).product_side_model_dir
        if not (model_dir / META_FILE).is_file():
            raise SystemExit(
                f"no product-side model in {model_dir}: run "
                f"ATELIER_DATA_DIR={args.data_dir} python -m core fit --dask local:2"
            )
    work = Path(tempfile.mkdtemp(prefix="atelier-bench-"))
    db_url = f"sqlite:///{(work / 'atelier.db').as_posix()}"
    user, password, own = seed_users(args.data_dir, db_url)
    process, url = start_app(args.data_dir, db_url, work / "streamlit.log", args.serve)
    timings: dict[str, list[tuple[float, float]]] = {"open": [], "pin": [], "remove": []}
    failures: list[str] = []
    started_rss = 0
    try:
        with sync_playwright() as p, PeakRSS([process.pid]) as memory:
            browser = p.chromium.launch(executable_path=chromium, args=["--disable-gpu"])
            page = browser.new_page(
                viewport={"width": args.width, "height": args.height}, has_touch=True
            )
            page.set_default_timeout(60_000)
            work = BrowserWork(page)
            page.goto(url)
            page.get_by_role("textbox", name="User id").fill(user)
            page.get_by_role("textbox", name="Password").fill(password)
            page.get_by_role("button", name="Sign in").click()
            page.get_by_role("heading", name="Client lookup").wait_for()
            page.wait_for_function(SCRIPT_DONE)
            started_rss = psutil.Process(process.pid).memory_info().rss
            for i in range(-1, args.clients):  # i = -1: one untimed open warms the caches
                try:
                    step = _one_client(page, i, args.actions, work)
                except PlaywrightError as err:
                    shot = work / f"failure-{i}.png"
                    page.screenshot(path=str(shot))
                    failures.append(f"client #{i}: {str(err).splitlines()[0]} ({shot})")
                    continue
                if step is None:
                    break
                if i >= 0:
                    for name, value in step.items():
                        timings[name].append(value)
            if args.screenshot is not None:  # the last client's page, to look at
                page.screenshot(path=str(args.screenshot))
            browser.close()
    finally:
        process.terminate()
        process.wait(timeout=15)
    print(f"viewport {args.width}x{args.height}, signed in as {user} ({len(own)} own clients)")
    print(
        f"server RSS once signed in {started_rss / 2**30:.2f} GB, "
        f"peak over the run {max(memory.peak.values(), default=0) / 2**30:.2f} GB"
    )
    for failure in failures:
        print("not measured:", failure)
    targets = {"open": 1500, "pin": 300, "remove": 300}
    print("tap -> change visible on screen:")
    for name, values in timings.items():
        figures(name, [v[0] for v in values], targets[name])
    print("tap -> the app's run finished (the page settled):")
    for name, values in timings.items():
        figures(name, [v[1] for v in values], targets[name])
    work.report()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--clients", type=int, default=30, help="clients opened (timed)")
    parser.add_argument("--actions", type=int, default=30, help="clients with pin/remove timed")
    parser.add_argument("--width", type=int, default=1180)
    parser.add_argument("--height", type=int, default=820)
    parser.add_argument(
        "--serve",
        choices=("memory", "per-client"),
        default="memory",
        help="per-client: --data-dir is a partitioned house with its product-side model",
    )
    parser.add_argument("--screenshot", type=Path, help="save the last client's page here (PNG)")
    run(parser.parse_args())


if __name__ == "__main__":
    main()
