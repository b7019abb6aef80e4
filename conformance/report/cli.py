"""`conformance report`: merge job results, write summary.md and build the single-file HTML report."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .allure3 import build_report
from .errors import ReportError
from .history import default_history_path
from .junit import align_junit, check_junit
from .merge import merge_results
from .summary import write_summary

DEFAULT_RESULTS = Path("reports/allure-results")
DEFAULT_OUT = Path("reports/allure-report")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--results",
        type=Path,
        default=DEFAULT_RESULTS,
        metavar="DIR",
        help=f"allure-results folder ({DEFAULT_RESULTS})",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT,
        metavar="DIR",
        help=f"HTML report folder, emptied first ({DEFAULT_OUT})",
    )
    parser.add_argument(
        "--history",
        type=Path,
        metavar="PATH",
        help="history file kept across runs for trends (default: history/<target>/history.jsonl beside --out)",
    )
    parser.add_argument("--summary", type=Path, metavar="PATH", help="summary.md to write (default: beside --out)")
    parser.add_argument(
        "--merge",
        type=Path,
        nargs="+",
        metavar="DIR",
        help="allure-results folders of other jobs to copy into --results first",
    )
    parser.add_argument("--no-html", action="store_true", help="write summary.md only (no Node.js needed)")


def _counts(counts: dict) -> str:
    return ", ".join(f"{counts[k]} {k}" for k in ("passed", "failed", "warning", "broken", "skipped"))


def _path(args: argparse.Namespace, name: str, default: Path | None = None) -> Path | None:
    # Callers may build the namespace themselves, with strings and without every option.
    value = getattr(args, name, None)
    return Path(value) if value else default


def _run(args: argparse.Namespace) -> int:
    results = _path(args, "results", DEFAULT_RESULTS)
    out = _path(args, "out", DEFAULT_OUT)
    merge = [Path(p) for p in getattr(args, "merge", None) or ()]
    if merge:
        merged = merge_results(merge, results)
        print(f"merged:  {merged.results} results from {merged.sources} folder(s) into {results}")
        for empty in merged.empty_sources:
            print(f"note:    {empty} held no test results")
    summary_path = _path(args, "summary", out.parent / "summary.md")
    history = _path(args, "history") or default_history_path(out.resolve().parent / "history", results)
    counts = write_summary(results, summary_path, history_path=history)
    print(f"summary: {summary_path} ({_counts(counts)})")
    junit = out.parent / "junit.xml"
    if junit.is_file():
        # pytest run directly (not through `conformance run`) leaves outages as failures: align it here too.
        j = align_junit(junit) or check_junit(junit)
        tally = f"{j.tests} tests, {j.failures} failures, {j.errors} errors, {j.skipped} skipped"
        print(f"junit:   {junit} ({tally})")
    if getattr(args, "no_html", False):
        print(f"history: {history} not updated (--no-html: the history is Allure's, written with the report)")
        return 0
    stats = build_report(results, out, history_path=history)
    print(f"report:  {stats.index_html} (one file: open it in a browser, or keep it as a CI artifact)")
    print(f"history: {stats.history_path} ({stats.history_entries} run(s); keep it between runs for trends)")
    return 0


def run(args: argparse.Namespace) -> int:
    """0 once summary.md (and the report, unless --no-html) is written; else 2 and a one-line error."""
    try:
        return _run(args)
    except ReportError as exc:
        print(f"conformance report: {exc}", file=sys.stderr)
    except OSError as exc:
        print(f"conformance report: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), file=sys.stderr)
    except Exception as exc:  # a traceback helps nobody reading a CI log line; the type and message do
        print(f"conformance report: unexpected {type(exc).__name__}: {exc}", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="conformance report", description=__doc__.split(":", 1)[1].strip())
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
