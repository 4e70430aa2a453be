"""``streetsim viz``: the interactive browser view. Solara and Mesa's visualisation are imported
only when the command runs, so other commands stay fast."""

from __future__ import annotations

import argparse
import socket
import sys

from sim import district as district_mod
from sim import scenario as scenario_mod
from sim.cli import given_file, seed
from sim.labels import LANGS

DEFAULT_SCENARIO = "scenarios/reform_2015.yaml"


def add_commands(subparsers) -> None:
    """Register ``viz`` on the ``streetsim`` command line."""
    viz = subparsers.add_parser("viz", help="open the street in the browser (map, live charts, controls), offline")
    viz.add_argument("scenario", nargs="?", type=given_file, default=DEFAULT_SCENARIO, help=f"default: {DEFAULT_SCENARIO}")
    viz.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1, this machine only)")
    viz.add_argument("--port", type=_port, default=8765)
    viz.add_argument("--seed", "-s", type=seed, default=1)
    viz.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY.PATH=VALUE")
    viz.add_argument("--lang", choices=LANGS, default="en", help="language of the page (a switch on the page changes it)")
    viz.set_defaults(func=cmd_viz)


def cmd_viz(args) -> int:
    # Bad input fails here, as one line and exit 2 (sim.cli catches ScenarioError), not in the page.
    if district_mod.is_district_file(args.scenario):
        district_mod.load(args.scenario, args.overrides)  # the page offers each of its streets
    else:
        scenario_mod.load(args.scenario, args.overrides)
    busy = _cannot_listen(args.host, args.port)
    if busy:
        print(scenario_mod.printable(f"error: cannot listen on {args.host}:{args.port}: {busy}"), file=sys.stderr)
        return 2
    from sim.viz.server import OfflineAssetsMissing, serve

    try:
        return serve(args.scenario, args.overrides, args.host, args.port, args.seed, args.lang)
    except OfflineAssetsMissing as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


def _cannot_listen(host: str, port: int) -> str | None:
    """Why the server could not bind host:port (say, another server has it), or None."""
    try:
        with socket.create_server((host, port)):
            return None
    except OSError as e:
        return e.strerror or str(e)
    except (UnicodeError, TypeError):  # the name cannot be encoded for a resolver ("encoding of hostname failed")
        return "not a host name"


def _port(text: str) -> int:
    port = int(text)
    if not 0 < port < 65536:
        raise argparse.ArgumentTypeError(f"must be 1-65535, got {port}")
    return port
