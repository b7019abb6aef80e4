"""`conformance mock`: serve the vendor mocks for people building clients, until Ctrl-C."""

from __future__ import annotations

import argparse
import json
import shlex
import signal
import sys
import threading
from typing import TextIO

from conformance import specs
from conformance.mock.app import MockError
from conformance.mock.core import CLOCK_MODES
from conformance.mock.faults import CATALOGUE, FAULTS, READINGS, VENDORS
from conformance.mock.server import MockServer, start_mocks, stop_mocks


def add_arguments(parser: argparse.ArgumentParser) -> None:
    # Values are checked in run(), so every usage error is one line and exit code 2.
    parser.add_argument(
        "--vendor",
        action="append",
        metavar="NAME|all",
        help=f"vendor to serve (repeatable; default all): {', '.join(VENDORS)} and those of --specs",
    )
    parser.add_argument(
        "--port",
        default="0",
        metavar="N",
        help="port of the first vendor, the next ones count up (default: free ports)",
    )
    parser.add_argument(
        "--fault",
        action="extend",
        nargs="+",
        default=[],
        metavar="NAME",
        help="fault to turn on (repeatable), e.g. never-expire or slow-responses=0.5; "
        "each vendor gets those that apply to it",
    )
    parser.add_argument(
        "--reading",
        action="extend",
        nargs="+",
        default=[],
        metavar="NAME",
        help="another plausible reading of a guess (repeatable): "
        + "; ".join(f"{r.name} ({', '.join(r.vendors)}): {r.description}" for r in READINGS.values()),
    )
    parser.add_argument("--lifetime", metavar="S", help="access-token lifetime in seconds for every vendor")
    parser.add_argument(
        "--clock",
        default="running",
        metavar="frozen|running",
        help="running follows real time (default); frozen moves only via /_mock/clock",
    )
    parser.add_argument(
        "--list-faults", action="store_true", help="print the fault catalogue (name, vendors, claims broken) and exit"
    )
    parser.add_argument("--host", default="127.0.0.1", help=argparse.SUPPRESS)


class UsageError(Exception):
    """A command-line value is wrong; the message is the whole explanation."""


def _vendors(values: list[str] | None) -> list[str]:
    chosen: list[str] = []
    known = specs.vendors()
    for value in values or ["all"]:
        for name in value.split(","):
            name = name.strip()
            if name == "all":
                chosen.extend(known)
            elif name in known:
                chosen.append(name)
            else:
                raise UsageError(f"unknown vendor {name!r} (known: {', '.join(known)}, all)")
    return list(dict.fromkeys(chosen))


def _whole(value: str | None, what: str, low: int, high: int) -> int | None:
    if value is None:
        return None
    text = str(value).strip()
    if not text.isdigit() or not low <= int(text) <= high:
        raise UsageError(f"{what} must be a whole number from {low} to {high}, not {value!r}")
    return int(text)


def _validate(args: argparse.Namespace) -> tuple[list[str], int, int | None]:
    vendors = _vendors(args.vendor)
    port = _whole(args.port, "--port", 0, 65535) or 0
    if port and port + len(vendors) - 1 > 65535:
        raise UsageError(f"--port {port} leaves no room for {len(vendors)} vendors")
    lifetime = _whole(args.lifetime, "--lifetime", 1, 10 * 365 * 86400)
    if args.clock not in CLOCK_MODES:
        raise UsageError(f"--clock must be one of {', '.join(CLOCK_MODES)}, not {args.clock!r}")
    for spec in args.fault or []:
        if spec.partition("=")[0] not in FAULTS:
            raise UsageError(f"unknown fault {spec!r}: `conformance mock --list-faults` prints the catalogue")
    for name in getattr(args, "reading", None) or []:
        if name not in READINGS:
            raise UsageError(f"unknown reading {name!r} (known: {', '.join(READINGS)})")
    return vendors, port, lifetime


def list_faults(out: TextIO) -> None:
    """The fault catalogue, one fault per paragraph: name, kind, vendors, what it does, the claims it breaks."""
    for fault in CATALOGUE:
        where = "every vendor" if set(fault.vendors) >= set(VENDORS) else ", ".join(fault.vendors)
        value = f" (={fault.param} value)" if fault.param else ""
        print(f"{fault.name}{value}  [{fault.kind}; {where}]", file=out)
        print(f"  {fault.description}", file=out)
        if fault.claims:
            print(f"  breaks: {', '.join(fault.claims)}", file=out)


def token_request(server: MockServer) -> tuple[str, str, list[str], str]:
    """The mock's token endpoint: method, URL, body fields and a curl line that gets a token with its credentials."""
    issue = server.app.mock.profile["issue"]
    url = server.base_url + issue["path"]
    values = {field: server.credentials.get(cred, "") for field, cred in issue["fields"].items()}
    cmd = ["curl", "-sS", "-X", issue["method"], url]
    if server.ca_path:
        cmd += ["--cacert", server.ca_path]
    if issue["encoding"] == "json":
        cmd += ["-H", "Content-Type: application/json", "-d", json.dumps(values, separators=(",", ":"))]
    else:
        for field, value in values.items():
            cmd += ["--data-urlencode", f"{field}={value}"]
    return issue["method"], url, list(values), " ".join(shlex.quote(c) for c in cmd)


def describe(servers: dict[str, MockServer], out: TextIO) -> None:
    for vendor, server in servers.items():
        print(f"{vendor}: {server.base_url}", file=out)
        for name, value in server.credentials.items():
            print(f"  {name} = {value}", file=out)
        method, url, fields, curl = token_request(server)
        encoding = server.app.mock.profile["issue"]["encoding"]
        print(f"  token: {method} {url} ({encoding} body: {', '.join(fields)})", file=out)
        print(f"    {curl}", file=out)
        if server.ca_path:
            print(
                f"  TLS: self-signed; turn verification off (as the vendor doc says) or trust {server.ca_path}",
                file=out,
            )
        faults = server.app.mock.state.faults
        if faults:
            print(f"  faults: {', '.join(faults)}", file=out)
    print("Control API under /_mock/ (reset, clock, faults, log). Ctrl-C to stop.", file=out)


def run(
    args: argparse.Namespace,
    *,
    out: TextIO | None = None,
    err: TextIO | None = None,
    stop: threading.Event | None = None,
) -> int:
    """Serve until Ctrl-C (or SIGTERM, or `stop` is set): 0 on a clean stop, 2 on a usage error."""
    out = out or sys.stdout
    err = err or sys.stderr
    if getattr(args, "list_faults", False):
        list_faults(out)
        return 0
    try:
        vendors, port, lifetime = _validate(args)
        servers = start_mocks(
            vendors,
            faults=[*(args.fault or []), *(getattr(args, "reading", None) or [])],
            port=port,
            lifetime=lifetime,
            clock=args.clock,
            host=getattr(args, "host", "127.0.0.1"),
        )
    except (UsageError, MockError) as exc:
        print(f"conformance mock: {exc}", file=err)
        return 2
    stop = stop or threading.Event()
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        describe(servers, out)
        out.flush()
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        stop_mocks(servers.values())
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    print("mocks stopped", file=out)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="conformance mock", description="Serve the vendor mocks until Ctrl-C.")
    add_arguments(parser)
    return run(parser.parse_args(argv))
