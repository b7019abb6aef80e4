"""The pytest plugin: options, targets (mocks started once per session), vendor parametrization, outcomes, Allure."""

from __future__ import annotations

import json
import os
import time
import warnings
from pathlib import Path
from typing import Any

import allure
import pytest
import urllib3

from conformance import config as suite_config
from conformance import leakguard, signals, specs
from conformance.failures import (
    ConformanceFailure,
    InfrastructureError,
    SuiteConfigError,
    SuiteDefect,
    VendorConfigError,
)
from conformance.http import redirect_note
from conformance.preflight import ensure_ready
from conformance.report.conventions import LABEL_FAILED_CLAIM, OUTCOME_PROPERTY
from conformance.report.merge import job_parameter
from conformance.session import VendorSession

SEVERITY = {s: getattr(allure.severity_level, s.upper()) for s in ("blocker", "critical", "normal", "minor", "trivial")}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("conformance", "authentication conformance suite")
    group.addoption("--target", default="mock", help="mock (default), sandbox, or a target of conformance.toml")
    group.addoption(
        "--vendor", action="append", default=[], help="vendor(s) to test (repeat or comma-separate; default all)"
    )
    group.addoption("--config", default=None, help="path of the TOML config (default ./conformance.toml if present)")
    group.addoption(
        "--real-wait", action="store_true", help="on targets without a movable clock, wait out real expiries"
    )
    group.addoption(
        "--mock-fault", action="append", default=[], help="(mock target) switch on a named fault; repeatable"
    )
    group.addoption(
        "--mock-reading",
        action="append",
        default=[],
        help="(mock target) let the mocks take another plausible reading of a guess; repeatable",
    )
    group.addoption(
        "--mock-lifetime", type=int, default=None, help="(mock target) override every access-token lifetime (s)"
    )
    group.addoption("--outcomes", default=None, help="write per-test outcomes (JSON) here")
    group.addoption("--budget", default="dev", choices=["dev", "ci", "nightly"], help="Schemathesis example budget")
    group.addoption("--seed", type=int, default=None, help="Schemathesis seed, to reproduce a run exactly")
    group.addoption(
        "--request-deadline", type=float, default=None, help="seconds for a whole request (overrides deadline)"
    )
    group.addoption(
        "--max-response-bytes", type=int, default=None, help="largest response body read (overrides the config)"
    )
    group.addoption(
        "--max-real-wait", type=float, default=None, help="longest real wait of --real-wait, seconds (overrides)"
    )
    group.addoption(
        "--operation", default=None, metavar="'METHOD /path'", help="contract tests of this one operation only"
    )


def pytest_configure(config: pytest.Config) -> None:
    # SIGTERM and SIGHUP end the session like Ctrl-C, in xdist workers too: fixtures torn down (mocks stopped, TLS
    # material removed, created keys deleted), outcomes and JUnit written for what ran.
    signals.install()
    # Verification is off only where a profile documents it, and the TLS scenario reports that as a finding.
    warnings.filterwarnings("ignore", category=urllib3.exceptions.InsecureRequestWarning)
    config.addinivalue_line("markers", "capability(name): the scenario needs this profile capability")
    config.addinivalue_line("markers", "clock: the scenario needs a movable clock, or --real-wait on real targets")
    # Before any test runs: every report, console line and Allure file of the run goes through its redactor.
    leakguard.run_redactor(config)


# --- targets -------------------------------------------------------------------------------------------------


class TargetRuntime:
    """The target of this session: vendor sessions created lazily, mocks started once and stopped at the end."""

    def __init__(self, pytest_config: pytest.Config) -> None:
        opt = pytest_config.getoption
        self.real_wait: bool = opt("real_wait")
        self.vendors = suite_config.select_vendors(opt("vendor"))
        self.name: str = opt("target")
        self.redactor = leakguard.run_redactor(pytest_config)
        self.servers: dict[str, Any] = {}
        self.sessions: dict[str, VendorSession] = {}
        self._config_path = Path(opt("config")) if opt("config") else None
        # Readings go through the same composable knobs as faults (mock.faults.parse knows both catalogues).
        self._faults: list[str] = [*opt("mock_fault"), *opt("mock_reading")]
        self._lifetime: int | None = opt("mock_lifetime")
        self._target: suite_config.Target | None = None
        self._options = pytest_config
        self.error: str | None = None

    @property
    def target(self) -> suite_config.Target:
        if self._target is None:
            limits = {o: self._options.getoption(o.lstrip("-").replace("-", "_")) for o in suite_config.LIMIT_OPTIONS}
            for option, value in limits.items():
                suite_config.check_option(option, value)
            target = (
                self._start_mocks()
                if self.name == "mock"
                else suite_config.load_remote_target(self.name, self.vendors, self._config_path)
            )
            self._target = suite_config.apply_options(target, limits)
        return self._target

    def _start_mocks(self) -> suite_config.Target:
        from conformance.mock.server import start_mocks

        if self._config_path is not None:
            suite_config.load_config(self._config_path)  # named, so it must exist and be valid, even for the mock

        clock = "running" if self.real_wait else "frozen"
        self.servers = start_mocks(
            self.vendors,
            faults=self._faults,
            lifetime=self._lifetime,
            clock=clock,
            credentials=_canary_credentials(self.vendors),
        )
        vendors = {}
        for name, server in self.servers.items():
            vendors[name] = suite_config.VendorTarget(
                vendor=name,
                base_url=server.base_url,
                credentials=dict(server.credentials),
                verify=not server.tls,
                lifetimes={"access": self._lifetime} if self._lifetime else {},
                control_url=server.base_url + "/_mock",
                retry_budget=200,
                max_retry_wait=5.0,
                timeout=10.0,
            )
        return suite_config.Target(name="mock", vendors=vendors, movable_clock=not self.real_wait)

    def session(self, vendor: str) -> VendorSession:
        if vendor not in self.sessions:
            server = self.servers.get(vendor)
            self.sessions[vendor] = VendorSession(
                self.target.vendors[vendor],
                self.target.movable_clock,
                self.redactor,
                reset_in_process=server.reset_in_process if server is not None else None,
            )
        return self.sessions[vendor]

    def traffic(self) -> dict[str, dict[str, int]]:
        """Requests sent per vendor (for politeness on real targets), token-endpoint calls among them."""
        return {
            v: {"requests": s.budget.requests, "token_requests": s.token_requests, "retries": s.budget.retries}
            for v, s in self.sessions.items()
        }

    def close(self) -> None:
        for s in self.sessions.values():
            if not self.target.is_mock:
                s.close_sessions()
            s.close()
        dump = os.environ.get("CONFORMANCE_MOCK_ISSUED_DUMP")
        if dump and self.servers:
            # For the secret-leak self-test only: every token and key the mocks issued, kept outside reports/.
            issued = [secret for server in self.servers.values() for secret in server.issued()]
            Path(dump).write_text(json.dumps(issued), encoding="utf-8")
        if self.servers:
            from conformance.mock.server import stop_mocks  # only mock targets need the mock stack loaded

            # The run's last step: the report is written while the mocks' threads wind down.
            stop_mocks(self.servers.values(), wait=False)


def _canary_credentials(vendors: list[str]) -> dict[str, dict[str, str]] | None:
    """CONFORMANCE_MOCK_CREDENTIALS (JSON, vendor -> credential -> value) replaces the mocks' test credentials."""
    raw = os.environ.get("CONFORMANCE_MOCK_CREDENTIALS")
    if not raw:
        return None
    try:
        data = json.loads(raw)
    except ValueError:
        raise SuiteConfigError("CONFORMANCE_MOCK_CREDENTIALS is not valid JSON") from None
    return {v: data[v] for v in vendors if v in data}


@pytest.fixture(scope="session")
def conformance_runtime(request: pytest.FixtureRequest) -> Any:
    runtime = TargetRuntime(request.config)
    request.config.stash[RUNTIME_KEY] = runtime
    try:
        runtime.target  # noqa: B018 - start mocks / resolve config up front so errors surface once
    except (SuiteConfigError, specs.SpecError) as exc:
        pytest.exit(f"configuration error: {exc}", returncode=pytest.ExitCode.USAGE_ERROR)
    except Exception as exc:
        from conformance.mock.server import MockError

        if not isinstance(exc, MockError):
            raise
        pytest.exit(f"mock error: {exc}", returncode=pytest.ExitCode.USAGE_ERROR)
    yield runtime
    runtime.close()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "vendor_under_test" in metafunc.fixturenames:
        try:
            vendors = suite_config.select_vendors(metafunc.config.getoption("vendor"))
        except SuiteConfigError as exc:
            raise pytest.UsageError(str(exc)) from None
        metafunc.parametrize("vendor_under_test", vendors, scope="function")


VENDOR_KEY = pytest.StashKey[str]()  # the vendor of items that know it from collection, not a fixture (contract)


def label_vendor(vendor: str, target: str) -> None:
    """What every result of a vendor carries, whatever ends it: its vendor, target and CI job.

    Set before any fixture runs, so results skipped or broken in setup are labelled too; the job parameter
    makes the historyId unique per test and job, so several jobs' results merge without posing as retries.
    """
    try:
        title = specs.load_profile(vendor).title
    except specs.SpecError:
        title = vendor
    allure.dynamic.epic(title)
    allure.dynamic.label("vendor", vendor)
    allure.dynamic.parameter("vendor", vendor)
    allure.dynamic.parameter("target", target)
    job = job_parameter()
    if job:
        allure.dynamic.parameter(*job)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    callspec = getattr(item, "callspec", None)
    vendor = item.stash.get(VENDOR_KEY, None) or (callspec.params.get("vendor_under_test") if callspec else None)
    if vendor:
        label_vendor(vendor, item.config.getoption("target"))


@pytest.fixture
def v(vendor_under_test: str, conformance_runtime: TargetRuntime, request: pytest.FixtureRequest) -> Any:
    """The vendor under test for one scenario: state reset, labels set, exchanges attached afterwards."""
    vendor = vendor_under_test
    session = conformance_runtime.session(vendor)
    profile = session.profile
    cap = request.node.get_closest_marker("capability")
    if cap is not None:
        allure.dynamic.feature(cap.args[0])
        if not profile.has(cap.args[0]):
            pytest.skip(f"{vendor}: not applicable, its profile has no {cap.args[0]!r} capability")
    if request.node.get_closest_marker("clock") and not session.movable_clock and not conformance_runtime.real_wait:
        pytest.skip(f"{vendor}: target {conformance_runtime.name!r} cannot move its clock; run with --real-wait")
    ensure_ready(session)
    session.reset()
    yield session
    leftovers = session.recorder.drain()
    for i, ex in enumerate(leftovers, 1):
        allure.attach(
            ex.render(), name=f"teardown exchange {i}: {ex.title()}", attachment_type=allure.attachment_type.TEXT
        )


def _claims_of(session: VendorSession) -> list[specs.Claim]:
    names = list(dict.fromkeys([*session.checks_passed, *(f.check for f in session.findings)]))
    seen: dict[str, specs.Claim] = {}
    for name in names:
        for claim in specs.claims_for(session.vendor, name):
            seen.setdefault(claim.id, claim)
    return list(seen.values())


def _attach(session: VendorSession, item: pytest.Item) -> None:
    claims = _claims_of(session)
    item.stash[CLAIMS_KEY] = [c.id for c in claims]
    for claim in claims:
        allure.dynamic.story(f"{claim.id} {claim.title}")
        allure.dynamic.label("claim", claim.id)
        allure.dynamic.link(claim.doc_url, name=f"{claim.id}: {claim.source}")
        if claim.security:
            allure.dynamic.tag("security")
        if claim.assumed:
            allure.dynamic.tag("assumed")
        if claim.baseline is not None:
            allure.dynamic.tag("security-baseline")
            allure.dynamic.link(claim.baseline.url, name=f"baseline {claim.baseline.id}: {claim.baseline.cite}")
    if claims:
        order = ("blocker", "critical", "normal", "minor", "trivial")
        allure.dynamic.severity(SEVERITY[min((c.severity for c in claims), key=order.index)])
        allure.dynamic.description(
            "\n\n".join(
                f"**{c.id}** ({c.kind}, {c.source}) — {c.title}\n\n> {c.quote}"
                + (f"\n\n_Suite's reading:_ {c.reading}" if c.reading else "")
                + (
                    f"\n\n_Security baseline_ ({c.baseline.cite}): {c.baseline.requirement} A violation means "
                    f"{c.baseline.consequence}: it fails whatever the page says."
                    if c.baseline
                    else ""
                )
                for c in claims
            )
        )
    for note in session.security_notes:
        allure.dynamic.tag("security-finding")
        allure.attach(note, name="security finding", attachment_type=allure.attachment_type.TEXT)
    exchanges = session.recorder.drain()
    for note in filter(None, map(redirect_note, exchanges)):
        allure.dynamic.tag("security-finding")
        allure.attach(note, name="security finding: redirect", attachment_type=allure.attachment_type.TEXT)
    _observe(item, session, exchanges)
    for i, ex in enumerate(exchanges, 1):
        # The curl line travels inside its exchange: one file per exchange, not one more per test.
        allure.attach(
            f"{ex.render()}\n\n# reproduce:\n{ex.curl}",
            name=f"exchange {i}: {ex.title()}",
            attachment_type=allure.attachment_type.TEXT,
        )


def _deviations(vendor: str, target: str) -> list[dict[str, Any]]:
    """Known deviations of a vendor that apply on this target (by default every target but the mock)."""
    return [
        d
        for d in specs.load_deviations(vendor)
        if target in d.get("targets", []) or (not d.get("targets") and target != "mock")
    ]


def _known_deviations(failure: ConformanceFailure, session: Any, target: str) -> list[dict[str, Any]]:
    """The deviations that explain every finding of a failure, or [] when any finding is unexplained."""
    if not isinstance(session, VendorSession):
        return []
    devs = _deviations(session.vendor, target)
    matched = []
    for finding in failure.findings:
        hit = [d for d in devs if d["check"] == finding.check and d["claim"] in {c.id for c in finding.claims}]
        if not hit:
            return []
        matched.extend(h for h in hit if h not in matched)
    return matched


OBSERVED_HEADERS = ("content-type", "www-authenticate", "retry-after", "cache-control")


def _observe(item: pytest.Item, session: VendorSession, exchanges: list[Any]) -> None:
    """Append what the vendor answered (redacted) to observations.jsonl, the raw material of drift fingerprints."""
    path = item.config.getoption("outcomes")
    vendor = session.vendor
    if not path or not (exchanges or session.lifetimes_seen):
        return
    worker = getattr(item.config, "workerinput", {}).get("workerid", "main")
    out = Path(path).parent / "observations" / f"{worker}.jsonl"
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("a", encoding="utf-8") as fh:
        for ex in exchanges:
            if ex.status is None:
                continue
            try:
                body = json.loads(ex.response_body) if ex.response_body else None
            except ValueError:
                body = None
            headers = {k.lower(): v for k, v in ex.response_headers if k.lower() in OBSERVED_HEADERS}
            record = {
                "vendor": vendor,
                "test": item.nodeid,
                "method": ex.method,
                "path": ex.path.split("?")[0],
                "status": ex.status,
                "headers": headers,
                "json": body,
            }
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
        for seen in session.lifetimes_seen:
            fh.write(json.dumps({"vendor": vendor, "test": item.nodeid, "lifetime": seen}) + "\n")


CLAIMS_KEY = pytest.StashKey[list[str]]()


def label_failed_claims(claim_ids: list[str] | tuple[str, ...]) -> None:
    """Name the claims a test contradicted, so the report paints only those red, not every claim it checks."""
    for cid in dict.fromkeys(claim_ids):
        allure.dynamic.label(LABEL_FAILED_CLAIM, cid)


FAILED_CLAIMS_KEY = pytest.StashKey[list[str]]()


# --- outcomes ------------------------------------------------------------------------------------------------


@pytest.hookimpl(wrapper=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> Any:
    """Raise a scenario's collected findings; turn assumption-only findings into warnings."""
    session = pyfuncitem.funcargs.get("v")
    target = pyfuncitem.config.getoption("target")
    try:
        result = yield
        if isinstance(session, VendorSession):
            session.finish()
            gone = [d for d in _deviations(session.vendor, target) if d["check"] in session.checks_passed]
            if gone:
                allure.dynamic.label("outcome", "warning")
                pytest.xfail(
                    "DEVIATION GONE (warning): "
                    + "; ".join(f"{d['claim']} now holds ({d['check']} passed)" for d in gone)
                    + f" — remove it from specs/{session.vendor}/deviations.yaml"
                )
        return result
    except ConformanceFailure as failure:
        if failure.claimless:
            raise suite_defect(failure) from None
        pyfuncitem.stash[FAILED_CLAIMS_KEY] = failure.claim_ids
        label_failed_claims(failure.claim_ids)
        known = _known_deviations(failure, session, target)
        if known:
            pytest.xfail("KNOWN DEVIATION: " + "; ".join(f"{d['claim']} ({d['check']}): {d['reason']}" for d in known))
        if failure.assumed_only:
            allure.dynamic.label("outcome", "warning")
            pytest.xfail(f"ASSUMPTION NOT MET (warning): {failure.render()}")
        raise
    finally:
        if isinstance(session, VendorSession):
            _attach(session, pyfuncitem)


def suite_defect(failure: ConformanceFailure) -> SuiteDefect:
    """A finding without a claim cannot be judged (failed or warning): it is the suite's defect, not the vendor's."""
    return SuiteDefect(
        f"check(s) {', '.join(failure.claimless)} reported a finding that names no claim; every check must be "
        f"listed under a claim of the vendor or of specs/_rfc/claims.yaml\n\n{failure.render()}"
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    outcome = _classify(report, call)
    if outcome is not None:
        vendor = getattr(item, "callspec", None) and item.callspec.params.get("vendor_under_test")
        report.user_properties.append(
            (
                "conformance",
                {
                    "outcome": outcome,
                    "vendor": vendor,
                    "nodeid": item.nodeid,
                    "claims": item.stash.get(CLAIMS_KEY, []),
                    "failed_claims": item.stash.get(FAILED_CLAIMS_KEY, []),
                    # Appended after the report was scrubbed: the message passes the run's redactor itself.
                    "message": leakguard.run_redactor(item.config).text(_message(call))[:500],
                },
            )
        )
        # junit.xml shows it as a property; align_junit() makes the XML agree with it (errors, not failures).
        item.user_properties.append((OUTCOME_PROPERTY, outcome))
    return report


def _classify(report: pytest.TestReport, call: pytest.CallInfo[None]) -> str | None:
    if report.when == "call" or (report.when == "setup" and not report.passed):
        if report.passed:
            return "passed"
        if hasattr(report, "wasxfail"):
            return "deviation" if "KNOWN DEVIATION" in report.wasxfail else "warning"
        if report.skipped:
            return "skipped"
        exc = call.excinfo.value if call.excinfo else None
        if isinstance(exc, ConformanceFailure):
            return "failed"
        if isinstance(exc, InfrastructureError):
            return "broken"
        if isinstance(exc, VendorConfigError):
            return "config"
        return "error"
    return None


# Outcomes whose console entry is one letter, never a traceback: their cause is one line per vendor, printed by the
# CLI at the end of the run (an unreachable vendor must not print thousands of lines).
QUIET_OUTCOMES = {"broken": ("broken", "B", "BROKEN"), "config": ("misconfigured", "C", "CONFIGURATION")}


def pytest_report_teststatus(report: pytest.TestReport, config: pytest.Config) -> tuple[str, str, str] | None:
    if not report.failed:
        return None
    for key, value in getattr(report, "user_properties", ()):
        if key == "conformance" and isinstance(value, dict) and value.get("outcome") in QUIET_OUTCOMES:
            # A contract test's own outage keeps its failure section: it carries the seed to reproduce it.
            contract = "/contract/" in report.nodeid and "circuit open" not in str(value.get("message"))
            if value["outcome"] == "config" or not contract:
                return QUIET_OUTCOMES[value["outcome"]]
    return None


def _message(call: pytest.CallInfo[None]) -> str:
    if call.excinfo is None:
        return ""
    return str(call.excinfo.value).splitlines()[0] if str(call.excinfo.value) else call.excinfo.typename


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    for key, value in report.user_properties:
        if key == "conformance":
            _outcomes.append(value)


_outcomes: list[dict[str, Any]] = []


RUNTIME_KEY = pytest.StashKey[TargetRuntime]()
_traffic: dict[str, dict[str, int]] = {}


def _add_traffic(counts: dict[str, dict[str, int]]) -> None:
    for vendor, c in counts.items():
        mine = _traffic.setdefault(vendor, {"requests": 0, "token_requests": 0, "retries": 0})
        for k, n in c.items():
            mine[k] = mine.get(k, 0) + n


def pytest_testnodeready(node: Any) -> None:
    """(xdist) a SIGTERM or SIGHUP to the run reaches each worker at once (see conformance.signals)."""
    pid = getattr(getattr(getattr(node.gateway, "_io", None), "popen", None), "pid", None)
    if isinstance(pid, int):
        signals.forward_to(pid)


def pytest_testnodedown(node: Any, error: Any) -> None:
    """(xdist) collect the traffic counts of a finished worker."""
    _add_traffic(getattr(node, "workeroutput", {}).get("conformance_traffic", {}))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    runtime = session.config.stash.get(RUNTIME_KEY, None)
    mine = runtime.traffic() if runtime is not None else {}
    if hasattr(session.config, "workerinput"):
        session.config.workeroutput["conformance_traffic"] = mine
        return
    _add_traffic(mine)
    path = session.config.getoption("outcomes")
    if not path:
        return
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    report = {"finished": time.time(), "traffic": _traffic, "results": _outcomes}
    Path(path).write_text(json.dumps(report, indent=1), encoding="utf-8")


@pytest.fixture(scope="session")
def real_wait_tokens(conformance_runtime: TargetRuntime) -> dict[str, Any]:
    """With --real-wait: one token per vendor, all issued together and probed just before their expiries in time
    order, so every vendor's wait overlaps and the run costs the longest lifetime, not the sum."""
    if conformance_runtime.target.movable_clock or not conformance_runtime.real_wait:
        return {}
    from conformance.scenarios.timing import RealWait

    sessions = [conformance_runtime.session(v) for v in conformance_runtime.vendors]
    return RealWait.start([s for s in sessions if s.profile.has("expiry") and _usable(s)])


def _usable(session: VendorSession) -> bool:
    """The vendor passed its preflight (a stopped one reports its cause in its own tests)."""
    try:
        ensure_ready(session)
    except (InfrastructureError, VendorConfigError):
        return False
    return True
