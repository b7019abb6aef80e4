"""`conformance drift` (fingerprint vs baseline, reports, alert, exit 4) and `conformance docs-check`."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from conformance import specs
from conformance.drift import alert, compare, docs_check, fingerprint, render, state

EXIT_OK, EXIT_CHANGED, EXIT_USAGE, EXIT_INFRA, EXIT_DRIFT = 0, 1, 2, 3, 4
DEFAULT_BASELINE = Path("baseline") / fingerprint.FILENAME


class UsageError(Exception):
    """A problem the user fixes (missing file, bad option); printed as one line, exit 2."""


def add_arguments(parser: argparse.ArgumentParser, command: str = "drift") -> None:
    """Options of `conformance drift` or (command="docs-check") of `conformance docs-check`."""
    if command == "docs-check":
        _add_docs_check(parser)
    else:
        _add_drift(parser)


def _add_drift(parser: argparse.ArgumentParser) -> None:
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--baseline",
        type=Path,
        metavar="PATH",
        help=f"baseline fingerprint, e.g. a committed file (default {DEFAULT_BASELINE})",
    )
    where.add_argument(
        "--previous",
        type=Path,
        metavar="DIR",
        help="the reports folder of an earlier run (e.g. last night's artifact) to compare with",
    )
    parser.add_argument(
        "--reports", type=Path, default=Path("reports"), metavar="DIR", help="this run's reports folder (reports/)"
    )
    parser.add_argument(
        "--accept",
        action="store_true",
        help="make this run the baseline (unreachable vendors keep their entry); no alert, exit 0",
    )
    parser.add_argument(
        "--webhook-env",
        default=alert.DEFAULT_ENV,
        metavar="NAME",
        help=f"environment variable holding the webhook URL ({alert.DEFAULT_ENV}); unset means no alert",
    )
    parser.add_argument("--no-alert", action="store_true", help="never post to the webhook")
    parser.add_argument(
        "--unreachable-after",
        type=int,
        default=state.DEFAULT_THRESHOLD,
        metavar="N",
        help=f"alert once a vendor was unreachable in N consecutive runs ({state.DEFAULT_THRESHOLD})",
    )
    parser.add_argument("--alert-timeout", type=float, default=10.0, metavar="S", help="seconds per webhook attempt")
    parser.add_argument("--alert-retries", type=int, default=3, metavar="N", help="webhook retries after the first try")


def _add_docs_check(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--vendor", required=True, help="vendor whose claims are checked")
    parser.add_argument(
        "source",
        nargs="?",
        default=None,
        metavar="URL|FILE",
        help="the doc page (its .md twin is read when the site serves one) or a saved copy; "
        "default: the URL in the vendor's claims.yaml",
    )
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the result as JSON here")
    parser.add_argument("--timeout", type=float, default=20.0, metavar="S", help="seconds to wait for the doc site")


def run(args: argparse.Namespace) -> int:
    """Dispatch on args.command; every failure is one line on stderr and an exit code, never a traceback."""
    name = "docs-check" if getattr(args, "command", "drift") == "docs-check" else "drift"
    try:
        return run_docs_check(args) if name == "docs-check" else run_drift(args)
    except (UsageError, fingerprint.FingerprintError, compare.CompareError, specs.SpecError) as exc:
        print(f"conformance {name}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except docs_check.DocsCheckError as exc:
        print(f"conformance {name}: error: {exc}", file=sys.stderr)
        return EXIT_INFRA if exc.infrastructure else EXIT_USAGE
    except OSError as exc:
        where = f" ({exc.filename})" if exc.filename else ""
        print(f"conformance {name}: error: {exc.strerror or exc}{where}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as exc:  # a traceback helps nobody reading a CI log line; the type and message do
        print(f"conformance {name}: unexpected {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_USAGE


# --- drift ---------------------------------------------------------------------------------------------------


def _baseline_location(args: argparse.Namespace) -> tuple[Path, Path]:
    """(where the baseline is read from, where --accept writes it); the state file sits beside the latter."""
    if args.previous is not None:
        if not args.previous.is_dir():
            raise UsageError(f"--previous {args.previous}: not a folder (give the reports folder of an earlier run)")
        return args.previous, args.previous / fingerprint.FILENAME
    path = args.baseline or DEFAULT_BASELINE
    if path.is_dir():
        path = path / fingerprint.FILENAME
    return path, path


def _load_baseline(source: Path) -> dict | None:
    if source.is_dir():
        if not (source / fingerprint.FILENAME).is_file() and not (source / "outcomes.json").is_file():
            return None
        return fingerprint.load_or_build(source)
    return fingerprint.load(source) if source.is_file() else None


def run_drift(args: argparse.Namespace) -> int:
    if args.unreachable_after < 1:
        raise UsageError(f"--unreachable-after must be 1 or more, got {args.unreachable_after}")
    reports: Path = args.reports
    if not reports.is_dir():
        raise UsageError(f"--reports {reports}: no such folder (run `conformance run` first)")
    current = fingerprint.load_or_build(reports)
    source, baseline_path = _baseline_location(args)
    baseline = _load_baseline(source)
    if baseline is None and not args.accept:
        raise UsageError(f"no baseline at {source}: create one from a good run with `conformance drift --accept`")
    if baseline is not None and not args.accept:
        compare.check_comparable(baseline, current)
    # A baseline of another target is replaced by --accept, never mixed into.
    targets = {baseline.get("target"), current.get("target")} - {None} if baseline is not None else set()
    same_target = baseline is not None and len(targets) <= 1
    baseline_for_accept = baseline if same_target else None
    result = compare.compare(baseline or {"vendors": {}}, current)
    md, js = render.write(result, reports, str(source))

    if args.accept:
        new = compare.accept(baseline_for_accept, current)
        baseline_path.parent.mkdir(parents=True, exist_ok=True)
        baseline_path.write_text(json.dumps(new, indent=1) + "\n", encoding="utf-8")
        print(f"drift: {_summary(result)}; reports {md}, {js}")
        print(f"baseline: {baseline_path} updated from this run ({', '.join(sorted(current['vendors']))})")
        return EXIT_OK

    state_path = state.path_for(baseline_path)
    run_state = state.load(state_path)
    due = state.record_run(run_state, result.status, args.unreachable_after)
    state.save(state_path, run_state)
    for change in result.drift[:40]:
        print(
            f"  {change.vendor}: {change.kind} {change.subject} {change.field}".rstrip()
            + f": {change.before} -> {change.after}"
        )
    if len(result.drift) > 40:
        print(f"  ... and {len(result.drift) - 40} more in {md}")
    print(f"drift: {_summary(result)}; reports {md}, {js}")
    _alert(args, result, due)
    return EXIT_DRIFT if result.has_drift else EXIT_OK


def _summary(result: compare.DriftResult) -> str:
    if not result.has_drift:
        notes = f" ({len(result.notes)} note(s))" if result.notes else ""
        return f"no drift{notes}"
    counts = {k: n for k, n in result.counts().items() if k in compare.DRIFT_KINDS}
    kinds = ", ".join(f"{n} {k}" for k, n in counts.items())
    return f"{len(result.drift)} change(s) in {', '.join(result.drift_vendors())} ({kinds})"


def _alert(args: argparse.Namespace, result: compare.DriftResult, due: list[tuple[str, int]]) -> None:
    message = alert.build_message(result, due)
    if message is None:
        return
    if args.no_alert:
        print("alert: not sent (--no-alert)")
        return
    if not os.environ.get(args.webhook_env, "").strip():
        print(f"alert: not sent ({args.webhook_env} is not set)")
        return
    delivery = alert.send(message, args.webhook_env, retries=max(0, args.alert_retries), timeout=args.alert_timeout)
    if delivery is not None and delivery.ok:
        print(f"alert: posted to the webhook in ${args.webhook_env} ({delivery.attempts} attempt(s))")
    elif delivery is not None:
        # A lost alert must not hide the drift: the exit code still says it, so this is a warning only.
        print(
            f"conformance drift: warning: alert not delivered after {delivery.attempts} attempt(s): {delivery.error}",
            file=sys.stderr,
        )


# --- docs-check ----------------------------------------------------------------------------------------------


def run_docs_check(args: argparse.Namespace) -> int:
    vendor = args.vendor
    if vendor not in specs.vendors():
        raise UsageError(f"unknown vendor {vendor!r}: choose from {', '.join(specs.vendors())}")
    result = docs_check.check(vendor, args.source, timeout=args.timeout)
    changed, vanished = result.by_status("changed"), result.by_status("vanished")
    found = len(result.results) - len(changed) - len(vanished)
    print(
        f"docs-check {vendor}: {len(result.results)} claim quote(s): {found} found, {len(changed)} changed, "
        f"{len(vanished)} vanished (read {result.source})"
    )
    for r in [*changed, *vanished]:
        print(f"{r.status.upper():8} {r.claim} {r.title}")
        print(f"         quote: {r.quote}")
        if r.status == "changed":
            print(f"         now:   {r.now}  (similarity {r.similarity:.2f})")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps(
                {
                    "vendor": vendor,
                    "source": result.source,
                    "ok": result.ok,
                    "quotes": [r.__dict__ for r in result.results],
                },
                indent=1,
                ensure_ascii=False,
            )
            + "\n",
            encoding="utf-8",
        )
    return EXIT_OK if result.ok else EXIT_CHANGED
