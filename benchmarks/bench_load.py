"""Load: N concurrent browser sessions against one Atelier server. Prints figures.

Each session is its own Playwright context (its own cookies, its own
Streamlit session) in one headless Chromium, signed in as an associate of
the default maison (associates are spread over the sessions), and goes
through the associate's round ``--rounds`` times:

- sign-in: the credentials typed, until Client lookup has finished its run;
- lookup: a client's name typed in the search box, until the result shows;
- client: a tap on the result, until the suggestions are on screen (the
  "tap-to-suggestions" of the target: p95 under 2 s at 10 sessions);
- pin: a tap on "Pin" of the first suggestion, until it shows "Pinned";
- share: a tap on "Share…", until the dialog's preview is shown.

Sessions tap as fast as the pages answer unless ``--think SECONDS`` is
given: then each session starts at a random moment within one think time and
pauses before every timed step for a random time between half and one and a
half of it (seeded per session), as an associate reads the screen before the
next tap. Without it, N sessions are N associates tapping the instant a page
settles: a stress test of the machine rather than a model of a shop floor.

Times are wall-clock around each step in the driving process, so they
include the browser's own work; all sessions share this machine's cores with
the server, as tablets in a store share its one server. The CPU seconds of
the server and of the browser's processes are printed per level, to tell
how much of a wait is the server's. The server's memory
(resident set of its process) is sampled throughout. Everything runs on
loopback; the number of sessions is capped at 40 and each run at
``--timeout`` seconds.

Run: ``python benchmarks/bench_load.py [--sessions 1,5,10,20] [--rounds 3] [--think 5]``.
Not a test: it never runs under pytest.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_dashboard import (  # noqa: E402  (a sibling script, not a package)
    CHROMIUM,
    DEFAULT_DATA,
    SCRIPT_DONE,
    SUGGESTIONS_VISIBLE,
    prepare,
    seed_associates,
    start_app,
)
from bench_scale import PeakRSS  # noqa: E402

MAX_SESSIONS = 40
STEPS = ("sign-in", "lookup", "client", "pin", "share")
TARGET_CLIENT_P95_S = 2.0


class CpuSeconds:
    """CPU seconds (user + system) used by the server and by the browser's processes, sampled.

    Renderer processes come and go with the sessions, so each one's last
    reading is kept; the server is read at the end.
    """

    def __init__(self, server_pid: int, interval: float = 0.2) -> None:
        self.server_pid = server_pid
        self.browser: dict[int, float] = {}
        self.server = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.interval = interval

    def _sample(self) -> None:
        for child in psutil.Process().children(recursive=True):
            try:
                if "chrom" in child.name().lower():
                    t = child.cpu_times()
                    self.browser[child.pid] = t.user + t.system
            except psutil.Error:
                continue
        try:
            t = psutil.Process(self.server_pid).cpu_times()
            self.server = t.user + t.system
        except psutil.Error:
            pass

    def _run(self) -> None:
        while not self._stop.is_set():
            self._sample()
            time.sleep(self.interval)

    def __enter__(self) -> CpuSeconds:
        self._sample()
        self._server_start = self.server
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()
        self.server -= self._server_start


async def _step(times: dict[str, list[float]], name: str, action: Any) -> None:
    t0 = time.perf_counter()
    await action()
    times[name].append(time.perf_counter() - t0)


class Pause:
    """An associate's reading time before a tap: uniform in [0.5, 1.5] x ``mean`` seconds, seeded."""

    def __init__(self, mean: float, seed: int) -> None:
        self.mean = mean
        self.rng = np.random.default_rng(seed)

    async def __call__(self) -> None:
        if self.mean > 0:
            await asyncio.sleep(self.mean * self.rng.uniform(0.5, 1.5))

    async def start(self) -> None:
        """Wait a uniform time within one mean: sessions do not all begin at once."""
        if self.mean > 0:
            await asyncio.sleep(self.mean * self.rng.uniform(0.0, 1.0))


async def _session(
    browser: Any,
    url: str,
    user: str,
    password: str,
    names: list[str],
    args: Any,
    pause: Pause,
) -> dict[str, list[float]]:
    """One associate's rounds in a context of its own; step -> seconds."""
    times: dict[str, list[float]] = {s: [] for s in STEPS}
    await pause.start()
    context = await browser.new_context(
        viewport={"width": args.width, "height": args.height}, has_touch=True
    )
    page = await context.new_page()
    page.set_default_timeout(120_000)
    try:
        await page.goto(url)
        await page.get_by_role("textbox", name="User id").fill(user)
        await page.get_by_role("textbox", name="Password").fill(password)

        async def sign_in() -> None:
            await page.get_by_role("button", name="Sign in").click()
            await page.get_by_role("heading", name="Client lookup").wait_for()
            await page.wait_for_function(SCRIPT_DONE)

        await pause()
        await _step(times, "sign-in", sign_in)
        for r in range(args.rounds):
            await _round(page, times, names[r % len(names)], pause)
    except Exception:
        shot = Path(tempfile.gettempdir()) / f"atelier-load-failure-{user}.png"
        await page.screenshot(path=str(shot))
        print(f"{user}: failed, screenshot in {shot}", flush=True)
        raise
    finally:
        await context.close()
    return times


async def _round(page: Any, times: dict[str, list[float]], name: str, pause: Pause) -> None:
    """Lookup, client, pin and share for the client called ``name``."""
    await page.get_by_role("link", name="Client lookup").click()
    await page.get_by_role("heading", name="Client lookup").wait_for()
    await page.wait_for_function(SCRIPT_DONE)
    result = page.locator(".st-key-lookup_results button").first

    async def lookup() -> None:
        await page.get_by_role("textbox", name="Search clients").fill(name)
        await page.get_by_role("textbox", name="Search clients").press("Enter")
        await result.filter(has_text=name).wait_for()
        await page.wait_for_function(SCRIPT_DONE)

    async def client() -> None:
        await result.click()
        await page.wait_for_function(SUGGESTIONS_VISIBLE)

    first = page.locator('[class*="st-key-cur-card-"]').first
    pin_button = first.get_by_role("button", name="Pin", exact=True)

    async def pin() -> None:
        await pin_button.click()
        await first.get_by_role("button", name="Pinned").wait_for()

    async def share() -> None:
        await page.get_by_role("button", name="Share…").click()
        dialog = page.get_by_role("dialog")
        await dialog.get_by_text("Preview: what the client will see").wait_for()

    for step, action in (("lookup", lookup), ("client", client), ("pin", pin), ("share", share)):
        await page.wait_for_function(SCRIPT_DONE)  # the page settled: each tap timed alone
        if step == "pin" and await pin_button.count() == 0:
            # Pinned in an earlier round: unpinned first, untimed.
            await first.get_by_role("button", name="Pinned").click()
            await pin_button.wait_for()
            await page.wait_for_function(SCRIPT_DONE)
        await pause()
        await _step(times, step, action)
    await page.keyboard.press("Escape")


async def _run_level(
    url: str, associates: dict[str, tuple[str, list[str]]], n: int, args: Any
) -> tuple[dict[str, list[float]], list[str]]:
    from playwright.async_api import async_playwright

    chromium = next((c for c in CHROMIUM if Path(c).is_file()), None)
    if chromium is None:
        raise SystemExit("no Chromium: apt-get install -y chromium")
    users = sorted(associates)
    merged: dict[str, list[float]] = {s: [] for s in STEPS}
    failures: list[str] = []
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=chromium, args=["--disable-gpu"])
        jobs = []
        for i in range(n):
            user = users[i % len(users)]
            password, names = associates[user]
            pause = Pause(args.think, seed=i)
            jobs.append(_session(browser, url, user, password, names, args, pause))
        done = await asyncio.wait_for(
            asyncio.gather(*jobs, return_exceptions=True), timeout=args.timeout
        )
        await browser.close()
    for i, result in enumerate(done):
        if isinstance(result, BaseException):
            failures.append(f"session {i}: {type(result).__name__}: {str(result)[:200]}")
            continue
        for step, values in result.items():
            merged[step] += values
    return merged, failures


def _line(n: int, times: dict[str, list[float]], peak_mb: float) -> str:
    cells = []
    for step in STEPS:
        a = np.asarray(times[step])
        cells.append(
            f"{np.percentile(a, 50):5.2f}/{np.percentile(a, 95):5.2f}" if a.size else "    -/-    "
        )
    return f"{n:>8} " + " ".join(f"{c:>11}" for c in cells) + f" {peak_mb:>9,.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--sessions", default="1,5,10,20", help="comma-separated session counts")
    parser.add_argument("--rounds", type=int, default=3, help="lookup-client-pin-share per session")
    parser.add_argument(
        "--think",
        type=float,
        default=0.0,
        help="mean seconds an associate reads before each tap (0: tap at once)",
    )
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per level")
    parser.add_argument("--width", type=int, default=1180)
    parser.add_argument("--height", type=int, default=820)
    args = parser.parse_args()
    levels = [int(x) for x in args.sessions.split(",") if x.strip()]
    if not levels or min(levels) < 1 or max(levels) > MAX_SESSIONS:
        parser.error(f"--sessions: whole numbers from 1 to {MAX_SESSIONS}")
    prepare(args.data_dir)
    rows = []
    for n in levels:  # a fresh server and database per level
        work = Path(tempfile.mkdtemp(prefix="atelier-load-"))
        db_url = f"sqlite:///{(work / 'atelier.db').as_posix()}"
        associates = seed_associates(args.data_dir, db_url)
        process, url = start_app(args.data_dir, db_url, work / "streamlit.log")
        try:
            start = time.perf_counter()
            with PeakRSS([process.pid]) as memory, CpuSeconds(process.pid) as cpu:
                times, failures = asyncio.run(_run_level(url, associates, n, args))
            wall = time.perf_counter() - start
        finally:
            process.terminate()
            process.wait(timeout=15)
        rows.append(_line(n, times, max(memory.peak.values(), default=0) / 2**20))
        for failure in failures:
            print(f"[{n} sessions] not measured: {failure}")
        browser = sum(cpu.browser.values())
        print(
            f"[{n} sessions] CPU over {wall:.0f} s on {psutil.cpu_count()} cores: "
            f"server {cpu.server:.0f} s, browser {browser:.0f} s "
            f"(server {cpu.server / max(cpu.server + browser, 1e-9):.0%} of both)"
        )
        client = np.asarray(times["client"])
        if client.size:
            p95 = float(np.percentile(client, 95))
            verdict = "OK" if p95 < TARGET_CLIENT_P95_S else "OVER TARGET"
            print(f"[{n} sessions] tap-to-suggestions p95 {p95:.2f} s ({verdict} at < 2 s)")
    header = f"{'sessions':>8} " + " ".join(f"{s + ' s':>11}" for s in STEPS) + " server MB"
    think = f"think {args.think:g} s (0.5-1.5x) before each tap" if args.think else "no think time"
    print(
        f"p50/p95 per step, {args.rounds} rounds per session, {think}, {args.width}x{args.height}"
    )
    print(header)
    print("-" * len(header))
    print("\n".join(rows))


if __name__ == "__main__":
    main()
