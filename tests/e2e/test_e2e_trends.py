"""In Chromium at tablet sizes: a manager opens Trends, picks a cluster and sees its products.

Also takes screenshots of the Trends, Model health and Data & users pages
(kept in ATELIER_SHOTS_DIR when set) and checks what AppTest cannot: the map is drawn, a tap
on a product opens its cluster, nothing scrolls sideways.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e

TRENDS_TIMEOUT_MS = 240_000  # the first open clusters the catalogue

NO_SIDEWAYS_SCROLL = """() => {
    const doc = document.scrollingElement;
    const main = document.querySelector('[data-testid="stMain"]');
    return [doc.scrollWidth <= window.innerWidth, main.scrollWidth <= main.clientWidth];
}"""


def sign_in_as(page: Page, server, role: str, landing: str, helpers) -> None:
    """Sign in with the demo credentials of ``role`` and wait for ``landing``'s heading.

    (The shared ``sign_in`` helper waits for Client lookup, which managers do not have.)
    """
    helpers.open_sign_in(page, server)  # the first visit starts the app (and prints sign-ins)
    user_id, password = server.credentials()[role]
    page.get_by_role("textbox", name="User id").fill(user_id)
    page.get_by_role("textbox", name="Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name=landing).wait_for(timeout=TRENDS_TIMEOUT_MS)
    helpers.wait_for_app(page, TRENDS_TIMEOUT_MS)


def shoot(page: Page, helpers, shots_dir: Path, name: str) -> list[Path]:
    size = page.viewport_size or {"width": 0, "height": 0}
    files = helpers.screenshot_main(
        page, shots_dir / f"{name}-{size['width']}x{size['height']}.png"
    )
    return files


FARTHEST_POINT_OF_FIRST_TRACE = """() => {
    const centre = (p) => { const r = p.getBoundingClientRect();
        return {x: r.x + r.width / 2, y: r.y + r.height / 2}; };
    const traces = [...document.querySelectorAll('.js-plotly-plot .scatterlayer .trace')];
    const mine = [...traces[0].querySelectorAll('path.point')].map(centre)
        .filter(c => c.x > 0 && c.y > 0 && c.x < innerWidth && c.y < innerHeight);
    const others = traces.slice(1).flatMap(t => [...t.querySelectorAll('path.point')].map(centre));
    let best = null, far = -1;
    for (const c of mine) {
        const d = Math.min(...others.map(o => Math.hypot(o.x - c.x, o.y - c.y)), 1e9);
        if (d > far) { far = d; best = c; }
    }
    return best;
}"""


def card_title(page: Page) -> str:
    return page.locator(".atelier-card .title").first.inner_text()


def choose_cluster(page: Page, index: int) -> str:
    """Pick the ``index``-th cluster in the selectbox; returns its label."""
    page.get_by_role("combobox", name="Cluster", exact=True).click()
    option = page.get_by_role("option").nth(index)
    label = option.inner_text()
    option.click()
    return label


def test_manager_opens_trends_selects_a_cluster_and_sees_its_products(
    page: Page, atelier_server, app_helpers, shots_dir
):
    sign_in_as(page, atelier_server, "manager", "Trends", app_helpers)
    expect(page.get_by_role("heading", name="Map of the catalogue")).to_be_visible()
    # The map is drawn after the page's first run: a busy machine takes a while.
    expect(page.locator(".js-plotly-plot").first).to_be_visible(timeout=60_000)
    shoot(page, app_helpers, shots_dir, "trends")

    label = choose_cluster(page, 2)  # the third cluster
    number = label.split(".")[0]
    app_helpers.wait_for_app(page)
    expect(page.locator(".atelier-card .title").first).to_have_text(re.compile(rf"^{number}\. "))
    expect(page.get_by_text(f"Products in cluster {number}")).to_be_visible()
    card = page.locator(".atelier-card").first.inner_text()
    top = card.split("Top products: ")[1].split(",")[0].split("\n")[0].strip()
    expect(page.get_by_role("gridcell", name=top, include_hidden=True).first).to_be_attached()

    # A tap on a product of cluster 1 opens that cluster (cluster 3 was open).
    before = card_title(page)
    points = page.locator(".js-plotly-plot .scatterlayer .trace").first.locator("path.point")
    assert points.count() > 0
    page.locator(".js-plotly-plot").first.scroll_into_view_if_needed()
    # Plotly gives a tap to the nearest point of any cluster: tap the point of
    # cluster 1 farthest from every other cluster's points, inside the window.
    spot = page.evaluate(FARTHEST_POINT_OF_FIRST_TRACE)
    assert spot is not None
    page.mouse.click(spot["x"], spot["y"])
    # The tap reruns the app; wait for the card to change rather than for a fixed time.
    expect(page.locator(".atelier-card .title").first).to_have_text(
        re.compile(r"^1\. "), timeout=30_000
    )
    app_helpers.wait_for_app(page)
    assert before != card_title(page)
    assert all(page.evaluate(NO_SIDEWAYS_SCROLL))
    shoot(page, app_helpers, shots_dir, "trends-cluster")


def test_manager_model_health_screenshot(page: Page, atelier_server, app_helpers, shots_dir):
    sign_in_as(page, atelier_server, "manager", "Trends", app_helpers)
    page.get_by_role("link", name="Model health").click()
    page.get_by_role("heading", name="Model health").wait_for(timeout=60_000)
    app_helpers.wait_for_app(page, TRENDS_TIMEOUT_MS)
    expect(page.get_by_role("tab", name="Outcomes")).to_be_visible()
    assert all(page.evaluate(NO_SIDEWAYS_SCROLL))
    shoot(page, app_helpers, shots_dir, "model-health")
    for tab in ("Outcomes", "Data & rules", "Model & retrain"):
        page.get_by_role("tab", name=tab).click()
        page.wait_for_timeout(400)
        shoot(page, app_helpers, shots_dir, "model-health-" + tab.split()[0].lower())


def test_admin_data_and_users_screenshot(page: Page, atelier_server, app_helpers, shots_dir):
    sign_in_as(page, atelier_server, "admin", "Client lookup", app_helpers)
    page.get_by_role("link", name="Data & users").click()
    page.get_by_role("heading", name="Data & users").wait_for(timeout=60_000)
    app_helpers.wait_for_app(page)
    expect(page.get_by_text("Replace one table")).to_be_visible()
    expect(page.locator('[data-testid="stFileUploaderDropzone"]')).to_be_visible()
    expect(page.get_by_role("button", name="Retrain now")).to_be_visible()
    page.wait_for_timeout(500)
    assert all(page.evaluate(NO_SIDEWAYS_SCROLL))
    shoot(page, app_helpers, shots_dir, "data-users")
    for tab in ("Users", "Audit log"):
        page.get_by_role("tab", name=tab).click()
        page.wait_for_timeout(400)
        shoot(page, app_helpers, shots_dir, "data-users-" + tab.split()[0].lower())


def test_admin_retrains_from_model_health(page: Page, atelier_server, app_helpers, shots_dir):
    sign_in_as(page, atelier_server, "admin", "Client lookup", app_helpers)
    page.get_by_role("link", name="Model health").click()
    page.get_by_role("heading", name="Model health").wait_for(timeout=60_000)
    app_helpers.wait_for_app(page)
    page.get_by_role("tab", name="Model & retrain").click()
    page.get_by_role("button", name="Retrain now").click()
    # The bar follows the job (polled every second), then the decision shows.
    decision = page.get_by_text(re.compile(r"The new model (passed|did not pass) the check"))
    decision.wait_for(timeout=TRENDS_TIMEOUT_MS)
    app_helpers.wait_for_app(page)
    page.get_by_role("tab", name="Model & retrain").click()
    shoot(page, app_helpers, shots_dir, "model-health-retrained")
    page.get_by_role("tab", name="Evaluation").click()
    page.wait_for_timeout(400)
    shoot(page, app_helpers, shots_dir, "model-health-evaluation")
