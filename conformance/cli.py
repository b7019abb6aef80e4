"""The `conformance` command: run the suite, serve the mocks, build reports, print the claims matrix."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from conformance import __version__, config, exitcodes, signals, specs
from conformance.failures import SuiteConfigError

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = PACKAGE_DIR.parent
EXIT_OK, EXIT_NONCONFORMANT, EXIT_USAGE, EXIT_INFRA, EXIT_DRIFT = (
    exitcodes.OK,
    exitcodes.NONCONFORMANT,
    exitcodes.USAGE,
    exitcodes.INFRASTRUCTURE,
    exitcodes.DRIFT,
)


def _add_target_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--target", default="mock", help="mock (default), sandbox, or a target named in the config")
    p.add_argument(
        "--vendor", action="append", default=[], help="vendor(s) to test; repeat or comma-separate (default all)"
    )
    p.add_argument("--config", default=None, help="TOML config (default ./conformance.toml if present)")
    add_specs_arg(p)


def add_specs_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--specs",
        action="append",
        default=[],
        metavar="DIR",
        help=f"folder of your own vendors (<vendor>/profile.yaml, claims.yaml, openapi.yaml): adds to or overrides "
        f"the built-in ones; repeatable (also ${specs.SPECS_ENV}, {os.pathsep}-separated)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="conformance", description="Authentication conformance suite for SaaS APIs.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser(
        "run", help="run the suite against a target; exit 0 conformant, 1 non-conformant, 2 usage, 3 infrastructure"
    )
    _add_target_args(run)
    run.add_argument(
        "--real-wait", action="store_true", help="wait out real token expiries (targets without a movable clock)"
    )
    run.add_argument("--budget", choices=["dev", "ci", "nightly"], default="dev", help="Schemathesis example budget")
    run.add_argument("--seed", type=int, default=None, help="Schemathesis seed, to reproduce a run exactly")
    run.add_argument("--mock-fault", action="append", default=[], help="(mock) switch on a named fault; repeatable")
    run.add_argument(
        "--mock-reading",
        action="append",
        default=[],
        help="(mock) let the mocks take another plausible reading of a guess (see `conformance mock --help`)",
    )
    run.add_argument("--mock-lifetime", type=int, default=None, help="(mock) override access-token lifetimes, seconds")
    run.add_argument("--reports", default="reports", help="output folder (default reports/)")
    run.add_argument(
        "--no-html", action="store_true", help="skip the Allure HTML report (summary and JUnit are still written)"
    )
    run.add_argument("--no-contract", action="store_true", help="skip the Schemathesis contract tests")
    run.add_argument("-n", "--workers", default=None, help="pytest-xdist workers (e.g. auto)")
    run.add_argument(
        "--request-deadline", type=float, default=None, help="seconds for a whole request (config: deadline; 60)"
    )
    run.add_argument(
        "--max-response-bytes",
        type=int,
        default=None,
        help="largest response body read, bytes (config: max_response_bytes; 4 MiB)",
    )
    run.add_argument(
        "--max-real-wait",
        type=float,
        default=None,
        help="longest real wait of --real-wait, seconds; longer lifetimes are reported, not waited (7200)",
    )
    run.add_argument("pytest_args", nargs=argparse.REMAINDER, help="after --: extra pytest arguments")

    claims = sub.add_parser("claims", help="print the traceability matrix: claim -> checks -> tests -> last result")
    claims.add_argument("--vendor", action="append", default=[])
    claims.add_argument("--outcomes", default=None, help="outcomes of the last run (default reports/outcomes.json)")
    add_specs_arg(claims)

    mock = sub.add_parser("mock", help="serve the vendor mocks for client development")
    try:
        from conformance.mock import cli as mock_cli

        mock_cli.add_arguments(mock)
        add_specs_arg(mock)
    except ImportError:  # pragma: no cover - the mock package is part of the distribution
        pass

    from conformance import scaffold

    scaffold.add_arguments(
        sub.add_parser("new-vendor", help="scaffold a vendor's profile, claims and OpenAPI files (then run --specs)")
    )
    report = sub.add_parser("report", help="build the Allure HTML report and summary.md from allure-results")
    try:
        from conformance.report import cli as report_cli

        report_cli.add_arguments(report)
    except ImportError:  # pragma: no cover
        pass
    drift = sub.add_parser(
        "drift", help="compare this run's fingerprint with a baseline; exit 4 on drift, alert a webhook if configured"
    )
    docs = sub.add_parser("docs-check", help="check that every claim's quote still appears in the vendor's doc")
    try:
        from conformance.drift import cli as drift_cli

        drift_cli.add_arguments(drift, "drift")
        drift_cli.add_arguments(docs, "docs-check")
        add_specs_arg(drift)
        add_specs_arg(docs)
    except ImportError:  # pragma: no cover
        pass
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    signals.install()
    try:
        return _dispatch(args)
    except BrokenPipeError:
        # `conformance claims | head`: the reader left; say nothing more, and keep the interpreter's final
        # flush of stdout from raising again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


def _dispatch(args: argparse.Namespace) -> int:
    try:
        if getattr(args, "specs", None):
            specs.use_dirs(args.specs)
        if args.command == "run":
            return cmd_run(args)
        if args.command == "claims":
            return cmd_claims(args)
        if args.command == "new-vendor":
            from conformance import scaffold

            return scaffold.run(args)
        if args.command == "mock":
            from conformance.mock import cli as mock_cli

            return mock_cli.run(args)
        if args.command == "report":
            from conformance.report import cli as report_cli

            return report_cli.run(args)
        if args.command in ("drift", "docs-check"):
            from conformance.drift import cli as drift_cli

            return drift_cli.run(args)
    except (SuiteConfigError, specs.SpecError) as exc:
        print(f"conformance: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("conformance: interrupted", file=sys.stderr)
        return signals.exit_code(exitcodes.INTERRUPTED)
    return EXIT_USAGE


def _validate_run(args: argparse.Namespace) -> dict[str, str]:
    """Check the whole invocation before any test runs; return each selected vendor's base URL for the metadata."""
    vendors = config.select_vendors(args.vendor)
    for option in config.LIMIT_OPTIONS:
        config.check_option(option, getattr(args, option.lstrip("-").replace("-", "_")))
    for v in vendors:
        specs.load_profile(v)
        specs.load_claims(v)
        specs.load_openapi(v)
    if args.target == "mock":
        from conformance.mock.faults import FAULTS, applies

        if args.config:
            # The mock ignores targets, but a file the user named must exist and be valid wherever it is named.
            config.load_config(Path(args.config))

        for spec in args.mock_fault:
            fault = FAULTS.get(spec.split("=")[0])
            if fault is None:
                raise SuiteConfigError(f"unknown fault {spec!r}: `conformance mock --list-faults` prints the catalogue")
            if not any(applies(fault, v) for v in vendors):
                raise SuiteConfigError(f"fault {fault.name!r} applies only to {', '.join(fault.vendors)}")
        from conformance.mock.faults import READINGS

        for name in args.mock_reading:
            reading = READINGS.get(name)
            if reading is None:
                raise SuiteConfigError(f"unknown reading {name!r} (known: {', '.join(READINGS)})")
            if not set(reading.vendors) & set(vendors):
                raise SuiteConfigError(f"reading {name!r} applies only to {', '.join(reading.vendors)}")
        if args.mock_lifetime is not None and args.mock_lifetime <= 0:
            raise SuiteConfigError(f"--mock-lifetime must be a positive number of seconds, got {args.mock_lifetime}")
        if args.real_wait and args.mock_lifetime is None:
            # The mock moves its clock; really waiting would cost each vendor's documented lifetime (an hour).
            raise SuiteConfigError(
                "--real-wait on the mock would wait out the documented lifetimes (up to an hour): the mock moves "
                "its clock without it; to try real waits, add --mock-lifetime SECONDS"
            )
        if args.real_wait:
            print(
                f"conformance: --real-wait on the mock: its clock runs in real time and tokens live "
                f"{args.mock_lifetime} s, so expiry tests wait about that long"
            )
    else:
        if args.mock_fault or args.mock_reading or args.mock_lifetime:
            raise SuiteConfigError("--mock-fault, --mock-reading and --mock-lifetime apply only to --target mock")
        target = config.load_remote_target(args.target, vendors, Path(args.config) if args.config else None)
        return {v: t.base_url for v, t in target.vendors.items()}
    return {v: "embedded mock (loopback)" for v in vendors}


def pytest_args_for(args: argparse.Namespace, reports: Path) -> list[str]:
    paths = [str(PACKAGE_DIR / "scenarios")]
    if not args.no_contract and (PACKAGE_DIR / "contract").joinpath("test_contract.py").exists():
        paths.append(str(PACKAGE_DIR / "contract"))
    out = [
        *paths,
        "-p",
        "conformance.plugin",
        "-p",
        "no:cacheprovider",
        # Scenarios report through named checks, never bare asserts; rewriting would re-parse every module of
        # every pytest plugin on each run wherever bytecode is not cached (seconds of start-up).
        "--assert=plain",
        "--rootdir",
        str(PROJECT_ROOT),
        # No ini file from wherever the package is installed (a user's project above the environment, say).
        "-c",
        os.devnull,
        "--target",
        args.target,
        "--alluredir",
        str(reports / "allure-results"),
        "--junitxml",
        str(reports / "junit.xml"),
        "--outcomes",
        str(reports / "outcomes.json"),
        "-o",
        "junit_family=xunit2",
        "-o",
        "console_output_style=count",
        "-q",
        "-rfE",
    ]
    for v in args.vendor:
        out += ["--vendor", v]
    if args.config:
        out += ["--config", args.config]
    if args.real_wait:
        out.append("--real-wait")
    for option in config.LIMIT_OPTIONS:
        value = getattr(args, option.lstrip("-").replace("-", "_"))
        if value is not None:
            out += [option, str(value)]
    for f in args.mock_fault:
        out += ["--mock-fault", f]
    for r in args.mock_reading:
        out += ["--mock-reading", r]
    if args.mock_lifetime:
        out += ["--mock-lifetime", str(args.mock_lifetime)]
    out += ["--budget", args.budget]
    if args.seed is not None:
        out += ["--seed", str(args.seed)]
    if args.workers:
        out += ["-n", str(args.workers)]
    if len(paths) == 1:
        # Without the contract tests, Schemathesis's and Hypothesis's pytest plugins only cost start-up time.
        out += ["-p", "no:schemathesis", "-p", "no:hypothesispytest"]
    extra = [a for a in args.pytest_args if a != "--"]
    return out + extra


def exit_code_from(outcomes: list[dict]) -> int:
    return exitcodes.for_outcomes(o["outcome"] for o in outcomes)


def vendor_problems(outcomes: list[dict]) -> list[str]:
    """One console line per vendor whose tests were stopped or broken, with the first cause (not one per test)."""
    lines = []
    for kind, what in (("config", "not judged"), ("broken", "broken")):
        first: dict[str, tuple[str, int]] = {}
        for o in outcomes:
            if o["outcome"] == kind:
                message, n = first.get(o.get("vendor") or "-", (o.get("message", ""), 0))
                first[o.get("vendor") or "-"] = (message, n + 1)
        for vendor, (message, n) in sorted(first.items()):
            lines.append(f"conformance: {vendor}: {n} test(s) {what}: {message}")
    errors = sum(1 for o in outcomes if o["outcome"] == "error")
    if errors:
        lines.append(
            f"conformance: {errors} test(s) hit a suite error (a defect of the suite, not the vendor): "
            "see summary.md and the report"
        )
    return lines


def cmd_run(args: argparse.Namespace) -> int:
    import pytest

    from conformance.report.stale import clear_previous_run
    from conformance.runwatch import RunWatch

    reports = Path(args.reports)
    # Before anything can fail: a stale verdict beside a run that stopped early would be read as this run's.
    clear_previous_run(reports)
    base_urls = _validate_run(args)
    results = reports / "allure-results"
    results.mkdir(parents=True, exist_ok=True)
    watch = RunWatch()
    code = pytest.main(pytest_args_for(args, reports), plugins=[watch])
    outcomes_path = reports / "outcomes.json"
    if watch.interrupted:
        # Ctrl-C, SIGTERM or SIGHUP: the tests that ran still get their JUnit, summary and report.
        print("conformance: interrupted; reporting the tests that ran", file=sys.stderr)
        if outcomes_path.exists():
            _align_junit(reports)
            _write_metadata(args, results, base_urls)
            _build_reports(args, reports)
        return signals.exit_code(exitcodes.INTERRUPTED)
    stopped = watch.exit_code(code)
    if stopped is not None:
        why = watch.reason() or f"pytest exit {int(code)}"
        print(f"conformance: the run did not complete ({why}) -> exit {stopped}", file=sys.stderr)
        return stopped
    if code == pytest.ExitCode.NO_TESTS_COLLECTED or not outcomes_path.exists():
        print("conformance: error: no tests ran (check --vendor and the target)", file=sys.stderr)
        return EXIT_USAGE
    run_data = json.loads(outcomes_path.read_text(encoding="utf-8"))
    outcomes = run_data["results"]
    _align_junit(reports)
    _write_metadata(args, results, base_urls)
    _write_fingerprint(reports)
    report_code = _build_reports(args, reports)
    result = exit_code_from(outcomes)
    counts = {
        k: sum(1 for o in outcomes if o["outcome"] == k)
        for k in ("passed", "failed", "warning", "broken", "config", "error", "skipped", "deviation")
    }
    for line in vendor_problems(outcomes):
        print(line)
    for vendor, t in sorted(run_data.get("traffic", {}).items()):
        print(
            f"conformance: {vendor}: {t['requests']} requests sent ({t['token_requests']} to the token endpoint, "
            f"{t['retries']} retries)"
        )
    final = result if report_code == EXIT_OK else max(result, report_code)
    because = f" (the report step failed with exit {report_code})" if final != result else ""
    print("conformance: " + ", ".join(f"{n} {k}" for k, n in counts.items() if n) + f" -> exit {final}{because}")
    return final


def _align_junit(reports: Path) -> None:
    """junit.xml says what the verdict says: outages and suite errors are errors, warnings are not failures."""
    try:
        from conformance.report.junit import align_junit
    except ImportError:  # pragma: no cover
        return
    align_junit(reports / "junit.xml")


def _write_metadata(args: argparse.Namespace, results: Path, base_urls: dict[str, str]) -> None:
    try:
        from conformance.report.environment import write_environment
    except ImportError:
        return
    vendors = list(base_urls)
    props = write_environment(
        results,
        target=args.target,
        vendors=vendors,
        base_urls=base_urls,
        suite_version=__version__,
        spec_hashes={v: specs.spec_hash(v) for v in vendors},
    )
    if args.target == "mock" and args.mock_fault:
        # A mock with faults is another server: its history must not mix with the faithful mock's.
        from conformance.report.environment import ENVIRONMENT_FILE, write_properties

        key = "+".join(["mock", *sorted(f.split("=")[0] for f in args.mock_fault)])
        write_properties(results / ENVIRONMENT_FILE, {**props, "history_key": key})


def _write_fingerprint(reports: Path) -> None:
    """reports/fingerprint.json for `conformance drift`; after the metadata, whose target it records."""
    try:
        from conformance.drift.fingerprint import write_fingerprint
    except ImportError:  # pragma: no cover
        return
    write_fingerprint(reports)


def _build_reports(args: argparse.Namespace, reports: Path) -> int:
    try:
        from conformance.report import cli as report_cli
    except ImportError:
        return EXIT_OK
    ns = argparse.Namespace(
        results=str(reports / "allure-results"),
        out=str(reports / "allure-report"),
        history=None,  # per target: reports/history/<target>/history.jsonl
        no_html=args.no_html,
        summary=str(reports / "summary.md"),
    )
    return report_cli.run(ns)


def cmd_claims(args: argparse.Namespace) -> int:
    from conformance.checks import CHECKS
    from conformance.contract.budgets import RESPONSE_CHECKS, STATEFUL_CHECKS

    known = {*CHECKS, *RESPONSE_CHECKS, *STATEFUL_CHECKS}  # a claim may name the contract part's checks

    vendors = config.select_vendors(args.vendor)
    last: dict[tuple[str | None, str], list[str]] = {}
    path = Path(args.outcomes or "reports/outcomes.json")
    if args.outcomes and not path.is_file():
        raise SuiteConfigError(f"--outcomes {args.outcomes}: no such file (a run writes reports/outcomes.json)")
    if path.is_file():
        try:
            recorded = json.loads(path.read_text(encoding="utf-8"))["results"]
        except (OSError, ValueError, KeyError, TypeError):
            raise SuiteConfigError(f"{path} is not the outcomes.json of a run") from None
        for o in recorded:
            for cid in o.get("claims", []):
                last.setdefault((o.get("vendor"), cid), []).append(o["outcome"])
    rows = []
    for v in vendors:
        for c in [*specs.load_claims(v), *specs.load_claims(specs.RFC)]:
            missing = [ch for ch in c.checks if ch not in known]
            results = last.get((v, c.id), [])
            verdict = (
                "failed"
                if "failed" in results
                else "warning"
                if "warning" in results
                else "broken"
                if "broken" in results
                else "passed"
                if "passed" in results
                else "not run"
            )
            rows.append(
                (
                    v,
                    c.id,
                    c.kind,
                    ",".join(c.checks) + (f" (MISSING {missing})" if missing else ""),
                    str(len(results)),
                    verdict,
                )
            )
    widths = [max(len(r[i]) for r in rows + [("vendor", "claim", "kind", "checks", "tests", "last")]) for i in range(6)]
    header = ("vendor", "claim", "kind", "checks", "tests", "last")
    for r in [header, *rows]:
        print("  ".join(col.ljust(w) for col, w in zip(r, widths, strict=True)).rstrip())
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
