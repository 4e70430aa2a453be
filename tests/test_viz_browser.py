"""``streetsim viz`` in a real browser: headless Debian Chromium driven by Playwright.

The server runs as a subprocess on a free port; every request the page makes is recorded, and
none may go anywhere but that server (the view must work with no internet). Screenshots are
kept in test-artifacts/.
"""

from __future__ import annotations

import io
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SCENARIO = "scenarios/reform_2015.yaml"
SMALL = ["--set", "street.residents=20000"]
CHARTS = 5  # map, backlog, utilisation, on-time, trust
STEP_BUDGET_S = 1.0  # a step must render in under a second
# Resolves once the page's DOM has not changed for 400 ms: vega redraws a chart 100 ms after its
# new spec arrives (debounced), and the first render is followed by a second one.
SETTLED_JS = """() => new Promise(resolve => {
  let timer;
  const done = () => { observer.disconnect(); resolve(true); };
  const observer = new MutationObserver(() => { clearTimeout(timer); timer = setTimeout(done, 400); });
  observer.observe(document.body, {childList: true, subtree: true, attributes: true});
  timer = setTimeout(done, 400);
})"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_port(port, proc, timeout=60.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"streetsim viz exited with {proc.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)  # polling a socket: there is no selector to wait for yet
    raise TimeoutError(f"streetsim viz did not listen on {port} within {timeout}s")


@pytest.fixture(scope="module")
def server():
    port = _free_port()
    ARTIFACTS.mkdir(exist_ok=True)
    log = open(ARTIFACTS / "viz_server.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "sim.cli", "viz", SCENARIO, *SMALL, "--port", str(port)],
                            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_for_port(port, proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="module")
def browser():
    playwright = pytest.importorskip("playwright.sync_api")
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} missing: apt-get install chromium (.ci/run does)"
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


class Tab:
    """A browser tab on the view, recording every request and every failed response."""

    def __init__(self, browser, url):
        self.url = url
        self.context = browser.new_context(viewport={"width": 1700, "height": 1300})
        self.page = self.context.new_page()
        self.requests, self.failures = [], []
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("requestfailed", lambda r: self.failures.append(f"failed {r.url}"))
        self.page.on("response", lambda r: r.status >= 400 and self.failures.append(f"{r.status} {r.url}"))
        self.page.goto(url)
        self.page.wait_for_selector(".streetsim-day", timeout=60_000)
        self.wait_for_charts()

    def wait_for_charts(self):
        # vega-embed draws each chart on a canvas
        self.page.wait_for_function(f"document.querySelectorAll('.vega-embed canvas').length >= {CHARTS}", timeout=60_000)
        self.settle()
        self.page.wait_for_function(f"document.querySelectorAll('.vega-embed canvas').length >= {CHARTS}", timeout=60_000)

    def settle(self):
        self.page.evaluate(SETTLED_JS)

    def wait_for_day(self, day: int):
        self.page.wait_for_function(f"document.querySelector('.streetsim-day').innerText.startsWith('Day {day} ')")

    def day(self) -> str:
        return self.page.locator(".streetsim-day").inner_text()

    def chart_pixels(self, index) -> str:
        """The chart's drawing, as a data URL, to tell whether it changed."""
        return self.page.evaluate(f"document.querySelectorAll('.vega-embed canvas')[{index}].toDataURL()")

    def click(self, label):
        self.page.get_by_role("button", name=label, exact=True).click()

    def assert_offline(self):
        """Every request went to the local server, and none failed."""
        server = urlparse(self.url).netloc
        hosts = {urlparse(u).netloc for u in self.requests if not u.startswith(("data:", "blob:"))}
        assert hosts == {server}, f"requests left the machine: {sorted(hosts - {server})}"
        assert not self.failures, self.failures

    def close(self):
        self.context.close()


@pytest.fixture
def tab(browser, server):
    t = Tab(browser, server)
    yield t
    t.close()


def _colours(png: bytes) -> set[tuple[int, int, int]]:
    from PIL import Image

    img = Image.open(io.BytesIO(png)).convert("RGB")
    return {c for _, c in img.getcolors(maxcolors=img.width * img.height)}


def _has_colour(colours, hex_code, tolerance=12) -> bool:
    r, g, b = (int(hex_code[i:i + 2], 16) for i in (1, 3, 5))
    return any(abs(r - c[0]) + abs(g - c[1]) + abs(b - c[2]) <= tolerance for c in colours)


def test_page_loads_offline_with_map_and_charts(tab):
    page = tab.page
    assert tab.day().startswith("Day 0 ")
    canvases = page.locator(".vega-embed canvas")
    assert canvases.count() == CHARTS
    for i in range(CHARTS):
        box = canvases.nth(i).bounding_box()
        assert box["width"] > 300 and box["height"] > 150, (i, box)
        assert len(_colours(canvases.nth(i).screenshot())) > 20, f"chart {i} looks blank"
    # The map draws supervisors, enforcement units, committee offices and zone borders in their colours.
    tab.click("Step")
    tab.wait_for_day(1)
    tab.settle()
    on_map = _colours(canvases.nth(0).screenshot())
    for colour in ("#111111", "#8c564b", "#e377c2", "#37474f"):
        assert _has_colour(on_map, colour), colour
    # open cases coloured by their step: at least two steps are on the map after a day
    assert sum(_has_colour(on_map, c) for c in ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd")) >= 2
    page.screenshot(path=str(ARTIFACTS / "viz_page.png"), full_page=True)
    tab.assert_offline()


def test_step_advances_time_and_charts_within_a_second(tab):
    before_backlog, before_map = tab.chart_pixels(1), tab.chart_pixels(0)
    timings = []
    for day in (1, 2, 3):
        start = time.perf_counter()
        tab.click("Step")
        tab.wait_for_day(day)
        timings.append(time.perf_counter() - start)
    for index, before in ((1, before_backlog), (0, before_map)):
        tab.page.wait_for_function(
            "([i, png]) => { const c = document.querySelectorAll('.vega-embed canvas')[i]; return c && c.toDataURL() !== png; }",
            arg=[index, before])
    tab.settle()
    print(f"\nstep render times (click to new day shown): {', '.join(f'{t:.2f}s' for t in timings)}")
    assert max(timings) < STEP_BUDGET_S, timings
    tab.page.screenshot(path=str(ARTIFACTS / "viz_after_steps.png"), full_page=True)
    tab.assert_offline()


def test_slider_and_reset_rebuild_the_model(tab):
    page = tab.page
    assert "grid_supervisors 8," in page.locator(".streetsim-staff").inner_text()
    tab.click("Step")
    tab.wait_for_day(1)
    slider = page.locator(".v-input", has_text="grid_supervisors: staff").locator("[role=slider]")
    slider.focus()
    page.keyboard.press("End")  # the slider's maximum
    page.wait_for_function("document.querySelector('[role=slider][aria-valuenow=\"18\"]') !== null")
    tab.click("Reset")
    page.wait_for_function("document.querySelector('.streetsim-staff').innerText.includes('grid_supervisors 18,')")
    assert tab.day().startswith("Day 0 ")
    tab.assert_offline()


def test_two_tabs_do_not_share_a_model(browser, server):
    first, second = Tab(browser, server), Tab(browser, server)
    try:
        first.click("Step")
        first.wait_for_day(1)
        second.page.reload()
        second.page.wait_for_selector(".streetsim-day")
        assert second.day().startswith("Day 0 ")
        assert first.day().startswith("Day 1 ")
        first.assert_offline()
        second.assert_offline()
    finally:
        first.close()
        second.close()
