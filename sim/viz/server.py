"""Serve the page with Solara, offline: every script, style and font comes from this machine.

Solara's page loads its scripts from a CDN unless its asset proxy is on and finds them in its
cache directory. The ``solara-assets`` package ships those files; a few are asked for by a
version range (``vega@5``), so we serve a cache directory of links that also answers those
ranges. Solara's telemetry and version check are switched off.

The asset route only ever reads: a request is answered with a regular file inside the asset
packages or refused (404). Solara's own lookup would fetch a missing file from the CDN and write it
into the cache, and it removes a cached *folder* it is asked for (a clean-up of an old cache
layout) -- through our links that deleted folders of the installed assets. Neither can happen here.

Browser tabs that close without saying so (a crash, a lost network) keep their model until
Solara culls the session: we shorten its 24-hour default to a few minutes.
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

from sim.scenario import printable

# Version ranges Solara's own components ask for -> the version solara-assets ships.
RANGE_ALIASES = {"vega@5": "vega@5.21.0", "vega-lite@5": "vega-lite@5.2.0", "vega-embed@6": "vega-embed@6.20.2"}
MARKER = "requirejs@2.3.6/require.js"  # a file every solara-assets release ships
# How ``streetsim viz`` tells the page (in the server process) what to open.
SCENARIO_ENV = "STREETSIM_VIZ_SCENARIO"
OVERRIDES_ENV = "STREETSIM_VIZ_SET"
SEED_ENV = "STREETSIM_VIZ_SEED"
LANG_ENV = "STREETSIM_VIZ_LANG"
# A tab that disconnected is kept this long for a reconnect, then its model is freed. Solara's
# default is 24 h (server memory grew with every closed tab); the environment may override it.
SESSION_TIMEOUT = "2m"


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


def configure_environment(scenario: str, overrides: list[str], seed: int, cdn_dir: Path, lang: str = "en") -> None:
    """Environment for Solara's settings and for the page.

    Solara reads its settings once, when it is first imported: this must run before that.
    """
    os.environ.update({
        SCENARIO_ENV: scenario,
        OVERRIDES_ENV: json.dumps(overrides),
        SEED_ENV: str(seed),
        LANG_ENV: lang,
        "SOLARA_ASSETS_PROXY": "true",
        "SOLARA_ASSETS_PROXY_CACHE_DIR": str(cdn_dir),
        # never used while the proxy is on, except by a cache miss, which _refuse_fetch stops
        "SOLARA_ASSETS_CDN": "http://127.0.0.1:9/offline/",
        "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "false",
        "SOLARA_MODE": "production",  # production: no "call home" iframe in the page
    })
    os.environ.setdefault("SOLARA_KERNEL_CULL_TIMEOUT", SESSION_TIMEOUT)


def _refuse_fetch(url):
    raise OfflineAssetsMissing(f"not in the offline assets, and streetsim viz never fetches from the internet: {url}")


def asset_file(cache_dir: Path, path: str) -> Path:
    """The regular file ``path`` names inside the offline assets; FileNotFoundError otherwise.

    Takes the place of Solara's ``get_path``: it reads nothing but the file's status, writes and
    deletes nothing, fetches nothing. Folders, links out of the assets and ``..`` are refused.
    """
    parts = path.replace("\\", "/").split("/")
    if any(p in ("", ".", "..") for p in parts):
        raise FileNotFoundError(path)
    if len(parts) == 1:  # a bare package name means its main file, as Solara stores it
        parts.append("__main.js")
    candidate = cache_dir.joinpath(*parts)
    package = cache_dir / parts[0]
    if not candidate.is_file() or not candidate.resolve().is_relative_to(package.resolve()):
        raise FileNotFoundError(path)
    return candidate


def _serve_assets_read_only(cache_dir: Path) -> None:
    """Route Solara's asset requests through :func:`asset_file` (see the module docstring)."""
    import solara.server.cdn_helper as cdn_helper

    if "solara.server.starlette" in sys.modules:  # it imports get_path by name: patch before that
        raise RuntimeError("the asset route must be made read-only before solara.server.starlette is imported")
    cdn_helper.fetch_from_cdn = _refuse_fetch
    cdn_helper.get_path = lambda _base, path: asset_file(cache_dir, path)


def _fix_router_template() -> None:
    """Solara's router template says ``modules.export`` for ``module.exports``: every page then
    logs a console warning (the browser falls back and works). Serve a corrected copy."""
    import solara.widgets

    original = Path(solara.widgets.Navigator.template_file)
    text = original.read_text(encoding="utf-8")
    if "modules.export =" not in text:
        return  # fixed upstream
    fixed = Path(tempfile.mkdtemp(prefix="streetsim-viz-vue-")) / original.name
    atexit.register(shutil.rmtree, fixed.parent, ignore_errors=True)
    fixed.write_text(text.replace("modules.export =", "module.exports ="), encoding="utf-8")
    solara.widgets.Navigator.template_file = str(fixed)


def serve(scenario: str, overrides: list[str], host: str, port: int, seed: int = 1, lang: str = "en") -> int:
    """Start the Solara server for ``sim.viz.app`` on host:port; returns when it stops."""
    if "solara" in sys.modules:
        raise RuntimeError("sim.viz.server.serve() must run before solara is imported")
    cdn_dir = offline_cdn_dir(assets_dir())
    configure_environment(scenario, overrides, seed, cdn_dir, lang)
    from solara.__main__ import cli

    _serve_assets_read_only(cdn_dir)
    _fix_router_template()
    print(printable(f"streetsim viz: {scenario} at http://{host}:{port}  (Ctrl+C stops)"), flush=True)
    args = ["run", "sim.viz.app", "--host", host, "--port", str(port), "--production",
            "--no-open", "--no-check-version", "--log-level-uvicorn", "warning"]
    try:
        cli.main(args=args, prog_name="streetsim viz", standalone_mode=False)
    except KeyboardInterrupt:
        pass
    return 0
