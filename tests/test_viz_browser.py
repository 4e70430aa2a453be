"""``streetsim viz`` in a real browser: headless Debian Chromium driven by Playwright.

One server per module (the default street, ``--lang zh``) runs as a subprocess on a free port;
every request and console message of every tab is recorded: none may go anywhere but that
server (the view must work with no internet) and the console must stay free of errors and
warnings. Screenshots in both languages at both projector sizes are kept in tests/artefacts/.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

import pytest

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "tests" / "artefacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SCENARIO = "scenarios/reform_2015.yaml"
PANELS = 5  # map, backlog, on-time, utilisation, trust
SIZES = [(1280, 800), (1920, 1080)]
STEP_BUDGET_S = 1.0  # a step must be drawn in under a second
# Resolves once the page's DOM has not changed for 300 ms (vega redraws after a new spec arrives).
SETTLED_JS = """() => new Promise(resolve => {
  let timer;
  const done = () => { observer.disconnect(); resolve(true); };
  const observer = new MutationObserver(() => { clearTimeout(timer); timer = setTimeout(done, 300); });
  observer.observe(document.body, {childList: true, subtree: true, attributes: true, characterData: true});
  timer = setTimeout(done, 300);
})"""
# The boxes that must not overlap each other, and must lie inside the page's width.
BOXES_JS = """() => [...document.querySelectorAll('.streetsim-side, .streetsim-card, .streetsim-panel')].map(e => {
  const r = e.getBoundingClientRect();
  const svg = e.querySelector('svg.marks');
  const s = svg ? svg.getBoundingClientRect() : null;
  // texts of the drawing (axis labels, legends, titles) that stick out of its panel
  const out = [...e.querySelectorAll('svg.marks text')].map(t => [t.textContent, t.getBoundingClientRect()])
    .filter(([txt, b]) => txt && b.width > 0 && (b.left < r.left - 1 || b.right > r.right + 1 || b.top < r.top - 1 || b.bottom > r.bottom + 1))
    .map(([txt]) => txt);
  return {cls: e.className, x: r.x, y: r.y + window.scrollY, w: r.width, h: r.height, cut: out,
          svg: s && {x: s.x, y: s.y + window.scrollY, w: s.width, h: s.height}};
})"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_port(port, proc, timeout=90.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"streetsim viz exited with {proc.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)  # polling a socket: there is nothing to wait on yet
    raise TimeoutError(f"streetsim viz did not listen on {port} within {timeout}s")


def start_server(args, log_name, env=None):
    port = _free_port()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log = open(ARTIFACTS / log_name, "w")
    proc = subprocess.Popen([sys.executable, "-m", "sim.cli", "viz", *args, "--port", str(port)], cwd=ROOT,
                            stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})})
    _wait_for_port(port, proc)
    return proc, log, f"http://127.0.0.1:{port}"


def stop_server(proc, log):
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


@pytest.fixture(scope="module")
def server():
    proc, log, url = start_server([SCENARIO, "--lang", "zh"], "viz_server.log")
    try:
        yield url
    finally:
        stop_server(proc, log)


@pytest.fixture(scope="module")
def browser():
    playwright = pytest.importorskip("playwright.sync_api")
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} missing: apt-get install chromium (make sysdeps does)"
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


class Tab:
    """A browser tab on the view, recording requests, failed responses and console messages."""

    def __init__(self, browser, url, size=(1280, 800)):
        self.url = url
        self.context = browser.new_context(viewport={"width": size[0], "height": size[1]})
        self.page = self.context.new_page()
        self.requests, self.failures, self.console = [], [], []
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("requestfailed", lambda r: self.failures.append(f"failed {r.url}"))
        self.page.on("response", lambda r: r.status >= 400 and self.failures.append(f"{r.status} {r.url}"))
        self.page.on("console", lambda m: m.type in ("error", "warning") and self.console.append(f"{m.type}: {m.text}"))
        self.page.on("pageerror", lambda e: self.console.append(f"pageerror: {e}"))
        self.page.goto(url)
        self.page.wait_for_selector(".streetsim-day", timeout=120_000)
        self.wait_for_panels()

    def wait_for_panels(self):
        self.page.wait_for_function(f"document.querySelectorAll('.streetsim-panel svg.marks').length >= {PANELS}",
                                    timeout=120_000)
        self.settle()

    def settle(self):
        self.page.evaluate(SETTLED_JS)

    def day(self) -> int:
        return int(self.page.locator(".streetsim-day").inner_text())

    def wait_for_day(self, day: int):
        self.page.wait_for_function(f"document.querySelector('.streetsim-day').innerText.trim() === '{day}'")

    def click(self, text):
        self.page.get_by_role("button", name=text, exact=True).click()

    def step(self, text="单步"):
        day = self.day()
        self.click(text)
        self.wait_for_day(day + 1)

    def panel_svg(self, cls) -> str:
        return self.page.locator(f".{cls} svg.marks").first.inner_html()

    def assert_clean(self):
        """Every request went to the local server, none failed, and the console stayed clean."""
        server = urlparse(self.url).netloc
        hosts = {urlparse(u).netloc for u in self.requests if not u.startswith(("data:", "blob:"))}
        assert hosts == {server}, f"requests left the machine: {sorted(hosts - {server})}"
        assert not self.failures, self.failures
        assert not self.console, self.console

    def close(self):
        self.context.close()


@pytest.fixture
def tab(browser, server):
    t = Tab(browser, server)
    yield t
    t.close()


def _intersect(a, b) -> bool:
    return a["x"] < b["x"] + b["w"] - 0.5 and b["x"] < a["x"] + a["w"] - 0.5 and \
        a["y"] < b["y"] + b["h"] - 0.5 and b["y"] < a["y"] + a["h"] - 0.5


# ------------------------------------------------------------------------------------ layout
@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_layout_fits_the_projector_in_both_languages(browser, server, size):
    width, height = size
    t = Tab(browser, server, size)
    try:
        t.step()
        t.step()
        t.settle()
        for lang, switch in (("zh", None), ("en", "English")):
            if switch:
                t.click(switch)
                t.page.wait_for_function("document.body.innerText.includes('open cases')")
                t.settle()
            boxes = t.page.evaluate(BOXES_JS)
            assert sum("streetsim-panel" in b["cls"] for b in boxes) == PANELS
            assert sum("streetsim-card " in b["cls"] + " " for b in boxes) >= 6
            for i, a in enumerate(boxes):
                assert a["x"] >= 0 and a["x"] + a["w"] <= width, (lang, "outside the page width", a)
                if a["svg"]:  # the drawing fits inside its panel: nothing cut off
                    s = a["svg"]
                    assert s["w"] <= a["w"] + 0.5 and s["h"] <= a["h"] + 0.5 and s["w"] > 0.8 * a["w"], (lang, a)
                    assert not a["cut"], (lang, a["cls"], "texts cut off", a["cut"])
                for b in boxes[i + 1:]:
                    assert not _intersect(a, b), (lang, "overlap", a["cls"], b["cls"])
            assert t.page.evaluate("document.documentElement.scrollWidth") <= width, "the page scrolls sideways"
            # the cards, the map and the Step button are in the first screen
            first_screen = [b for b in boxes if "streetsim-card" in b["cls"] or "streetsim-map" in b["cls"]]
            assert all(b["y"] + b["h"] <= height for b in first_screen), first_screen
            step_box = t.page.get_by_role("button", name="单步" if lang == "zh" else "Step", exact=True).bounding_box()
            assert step_box["y"] + step_box["height"] <= height
            assert not t.page.evaluate("[...document.querySelectorAll('a[href*=\"solara.dev\"]')].some(a => a.offsetParent)"), \
                "Solara's badge is showing"
            t.page.screenshot(path=str(ARTIFACTS / f"viz_{lang}_{width}x{height}.png"))
        t.assert_clean()
    finally:
        t.close()


def test_chinese_labels_with_lang_zh(tab):
    text = tab.page.locator("body").inner_text()
    for word in ("街道治理仿真", "未结案件", "按时解决率", "网格监督员", "人员配置", "改革措施", "单步", "重置", "与原情景对比"):
        assert word in text, word
    assert "每150个两新组织配1人 = 8人" in text  # the ratio rule as the reform writes it
    map_svg = tab.panel_svg("streetsim-map")
    for word in ("网格 1", "居民区 1", "居民信任度", "未结案件所处环节"):
        assert word in map_svg, word
    assert tab.page.title().startswith("街道治理仿真")
    tab.assert_clean()


# ------------------------------------------------------------------------------ stepping
def test_step_is_drawn_within_a_second(tab):
    timings = []
    for _ in range(3):
        before = tab.panel_svg("streetsim-chart-1")
        start = time.perf_counter()
        tab.step()
        tab.page.wait_for_function(
            "(old) => { const s = document.querySelector('.streetsim-chart-1 svg.marks'); return s && s.innerHTML !== old; }",
            arg=before)
        timings.append(time.perf_counter() - start)
        tab.settle()
    print(f"\nstep drawn (click to new day and redrawn backlog chart), default street: "
          f"{', '.join(f'{t:.2f}s' for t in timings)}")
    assert max(timings) < STEP_BUDGET_S, timings
    # open cases are on the map after three days
    assert int(tab.page.locator(".streetsim-card-open_cases .streetsim-card-value span").first.inner_text()) > 0
    tab.assert_clean()


def test_play_runs_days_until_paused(tab):
    tab.click("播放")
    tab.page.wait_for_function("parseInt(document.querySelector('.streetsim-day').innerText) >= 2", timeout=30_000)
    tab.click("暂停")
    tab.page.get_by_role("button", name="播放", exact=True).wait_for()
    tab.settle()
    paused_at = tab.day()
    time.sleep(1.5)  # Play shows a day at least every 0.6 s: a running Play would have moved on
    assert tab.day() == paused_at
    tab.assert_clean()


def test_live_comparison_shows_both_streets_and_the_difference(tab):
    page = tab.page
    slider = page.locator(".streetsim-control-grid_supervisors [role=slider]")
    slider.focus()
    page.keyboard.press("End")  # the most supervisors the slider offers
    page.wait_for_function("document.body.innerText.includes('网格监督员: 18人')")
    page.get_by_text("与原情景对比").click()
    tab.wait_for_day(0)
    tab.step()
    tab.step()
    tab.settle()
    for chart in ("streetsim-chart-2", "streetsim-chart-3"):  # on-time and utilisation: a legend of both streets
        svg = tab.panel_svg(chart)
        assert "调整后" in svg and "原情景" in svg, chart
    bars = page.locator(".streetsim-chart-3 svg.marks path[aria-roledescription='bar']")
    assert bars.count() >= 2 * 10  # every role twice
    deltas = page.locator(".streetsim-card-delta").all_inner_texts()
    assert len(deltas) >= 4 and all(d.startswith("Δ") for d in deltas), deltas
    cost_delta = page.locator(".streetsim-card-total_cost_per_year .streetsim-card-delta").inner_text()
    assert cost_delta == "Δ +80 万", cost_delta  # ten more supervisors at 80,000 yuan a year
    tab.assert_clean()


# --------------------------------------------------------------------- assets and sessions
def _asset_files(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): p.stat().st_size for p in root.rglob("*") if p.is_file()}


def test_asset_requests_never_delete_files(server):
    from sim.viz.server import assets_dir

    root = assets_dir()
    before = _asset_files(root)
    folders = sorted({str(Path(f).parent) for f in before if "/" in f})[:40]
    for path in [*folders, "vega-embed@6", "vega-embed@6/build", "vega@5/build/", "../../etc/passwd",
                 "..%2F..%2Fpyvenv.cfg", "nopackage@1.0.0/x.js"]:
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(f"{server}/_solara/cdn/{path}", timeout=10)
        assert e.value.code == 404, path
    with urllib.request.urlopen(f"{server}/_solara/cdn/vega-embed@6/build/vega-embed.min.js", timeout=10) as r:
        assert r.status == 200 and len(r.read()) > 1000
    assert _asset_files(root) == before


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def _kernels(url) -> int:
    with urllib.request.urlopen(f"{url}/resourcez", timeout=10) as r:
        return json.load(r)["kernels"]["total"]


def test_closed_tabs_are_released_and_memory_stays_bounded(browser):
    # A small street and a short session timeout: the test is about sessions, not the model.
    small = [SCENARIO, "--set", "street.residents=3000", "--set", "street.two_new_orgs=150"]
    proc, log, url = start_server(small, "viz_sessions.log", env={"SOLARA_KERNEL_CULL_TIMEOUT": "3s"})
    try:
        context = browser.new_context(viewport={"width": 1280, "height": 800})

        def open_and_close(n, batch=20):
            for _ in range(n // batch):
                pages = [context.new_page() for _ in range(batch)]
                for p in pages:
                    p.goto(url, wait_until="commit")
                for p in pages:
                    p.wait_for_selector(".streetsim-day", timeout=120_000)
                for p in pages:
                    p.close()  # no unload handlers run: the server only sees the socket drop

        def settled_kernels():
            end = time.monotonic() + 60
            while _kernels(url) and time.monotonic() < end:
                time.sleep(1)  # waiting for the server's session timeout
            return _kernels(url)

        # The first pages load what every page needs; opened one at a time, so a cold server on a
        # loaded 2-core machine is not asked to start five sessions at once (timed out in CI once).
        open_and_close(5, batch=1)
        assert settled_kernels() == 0
        rss = [_rss_mb(proc.pid)]
        for _ in range(2):
            open_and_close(50, batch=10)  # ten at a time: the test is about release, not a burst
            assert settled_kernels() == 0, "sessions of closed tabs were not released"
            rss.append(_rss_mb(proc.pid))
        print(f"\nserver memory after 5, 55 and 105 tabs opened and closed: {' -> '.join(f'{r:.0f}' for r in rss)} MB")
        # Bounded: the second 50 tabs add almost nothing (a kept model would add megabytes each).
        assert rss[2] - rss[1] < 20, rss
        assert rss[2] - rss[0] < 80, rss
        context.close()
    finally:
        stop_server(proc, log)
