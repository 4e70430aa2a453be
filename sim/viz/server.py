"""Serve the page with Solara, offline: every script, style and font comes from this machine.

Solara's page loads its scripts from a CDN unless its asset proxy is on and finds them in its
cache directory. The ``solara-assets`` package ships those files; a few are asked for by a
version range (``vega@5``), so we serve a cache directory of links that also answers those
ranges. Anything still missing is refused on the spot instead of being fetched from the
internet, and Solara's telemetry and version check are switched off.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import sys
import tempfile
from importlib import metadata
from pathlib import Path

# Version ranges Solara's own components ask for -> the version solara-assets ships.
RANGE_ALIASES = {"vega@5": "vega@5.21.0", "vega-lite@5": "vega-lite@5.2.0", "vega-embed@6": "vega-embed@6.20.2"}
MARKER = "requirejs@2.3.6/require.js"  # a file every solara-assets release ships
# How ``streetsim viz`` tells the page (in the server process) what to open.
SCENARIO_ENV = "STREETSIM_VIZ_SCENARIO"
OVERRIDES_ENV = "STREETSIM_VIZ_SET"
SEED_ENV = "STREETSIM_VIZ_SEED"


class OfflineAssetsMissing(RuntimeError):
    pass


def assets_dir() -> Path:
    """Where solara-assets installed Solara's CDN files (``<prefix>/share/solara/cdn``)."""
    candidates = [Path(sys.prefix) / "share/solara/cdn"]
    try:
        for f in metadata.distribution("solara-assets").files or []:
            if str(f).endswith(MARKER):
                candidates.append(Path(f.locate()).resolve().parents[1])
    except metadata.PackageNotFoundError:
        pass
    for c in candidates:
        if (c / MARKER).is_file():
            return c
    raise OfflineAssetsMissing(
        "Solara's offline assets are missing: pip install solara-assets (streetsim's dependencies include it)"
    )


def offline_cdn_dir(source: Path) -> Path:
    """A temporary directory of links to ``source``'s packages, plus the version-range aliases."""
    target = Path(tempfile.mkdtemp(prefix="streetsim-viz-cdn-"))
    atexit.register(shutil.rmtree, target, ignore_errors=True)
    for entry in source.iterdir():
        (target / entry.name).symlink_to(entry, target_is_directory=entry.is_dir())
    for alias, real in RANGE_ALIASES.items():
        if (source / real).is_dir() and not (target / alias).exists():
            (target / alias).symlink_to(source / real, target_is_directory=True)
    return target


def configure_environment(scenario: str, overrides: list[str], seed: int, cdn_dir: Path) -> None:
    """Environment for Solara's settings and for the page.

    Solara reads its settings once, when it is first imported: this must run before that.
    """
    os.environ.update({
        SCENARIO_ENV: scenario,
        OVERRIDES_ENV: json.dumps(overrides),
        SEED_ENV: str(seed),
        "SOLARA_ASSETS_PROXY": "true",
        "SOLARA_ASSETS_PROXY_CACHE_DIR": str(cdn_dir),
        # never used while the proxy is on, except by a cache miss, which _refuse_fetch stops
        "SOLARA_ASSETS_CDN": "http://127.0.0.1:9/offline/",
        "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "false",
        "SOLARA_MODE": "production",  # production: no "call home" iframe in the page
    })


def _refuse_fetch(url):
    raise OfflineAssetsMissing(f"not in the offline assets, and streetsim viz never fetches from the internet: {url}")


def serve(scenario: str, overrides: list[str], host: str, port: int, seed: int = 1) -> int:
    """Start the Solara server for ``sim.viz.app`` on host:port; returns when it stops."""
    if "solara" in sys.modules:
        raise RuntimeError("sim.viz.server.serve() must run before solara is imported")
    configure_environment(scenario, overrides, seed, offline_cdn_dir(assets_dir()))
    import solara.server.cdn_helper as cdn_helper
    from solara.__main__ import cli

    cdn_helper.fetch_from_cdn = _refuse_fetch
    print(f"streetsim viz: {scenario} at http://{host}:{port}  (Ctrl+C stops)", flush=True)
    args = ["run", "sim.viz.app", "--host", host, "--port", str(port), "--production",
            "--no-open", "--no-check-version", "--log-level-uvicorn", "warning"]
    try:
        cli.main(args=args, prog_name="streetsim viz", standalone_mode=False)
    except KeyboardInterrupt:
        pass
    return 0
