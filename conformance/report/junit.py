"""Reading the JUnit XML that pytest writes (--junitxml), to confirm it exists and count what it says."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass
from pathlib import Path

from .conventions import OUTCOME_PROPERTY
from .errors import ReportError


@dataclass(frozen=True)
class JUnitCounts:
    """Test cases in a JUnit XML file by result."""

    tests: int
    failures: int
    errors: int
    skipped: int

    @property
    def passed(self) -> int:
        return self.tests - self.failures - self.errors - self.skipped

    def as_dict(self) -> dict[str, int]:
        return {**asdict(self), "passed": self.passed}


def check_junit(path: Path) -> JUnitCounts:
    """Parse a JUnit XML file and count its test cases; ReportError when it is missing, malformed or empty."""
    path = Path(path)
    if not path.is_file():
        raise ReportError(f"no JUnit XML at {path}: run pytest with --junitxml={path}")
    try:
        # pytest wrote this file on this machine: it is not untrusted input.
        root = ET.parse(path).getroot()
    except (ET.ParseError, OSError) as exc:
        raise ReportError(f"unreadable JUnit XML {path}: {exc}") from None
    if root.tag not in ("testsuites", "testsuite"):
        raise ReportError(f"unreadable JUnit XML {path}: root element is <{root.tag}>, not <testsuites>")
    tests = failures = errors = skipped = 0
    # Counted per test case so each counts once (a failure plus a teardown error counts as one error).
    for case in root.iter("testcase"):
        tests += 1
        kinds = {child.tag for child in case}
        if "error" in kinds:
            errors += 1
        elif "failure" in kinds:
            failures += 1
        elif "skipped" in kinds:
            skipped += 1
    if tests == 0:
        raise ReportError(f"JUnit XML {path} holds no test case")
    return JUnitCounts(tests=tests, failures=failures, errors=errors, skipped=skipped)


# What CI tools should blame: only `failed` is the vendor's non-conformance.
_ERROR_TYPES = {"broken": "infrastructure", "error": "suite-error"}


def align_junit(path: Path) -> JUnitCounts | None:
    """Rewrite pytest's JUnit XML so it agrees with the suite's verdict; None when there is no file.

    pytest reports any exception raised in a test's call as a <failure>. The suite's outcome (the
    `conformance.outcome` property the plugin records) decides instead: broken (infrastructure) and error
    (suite error) become <error>, so CI dashboards do not show an outage as the vendor's non-conformance;
    warnings stay <skipped> and say so in system-out.
    """
    path = Path(path)
    if not path.is_file():
        return None
    try:
        tree = ET.parse(path)
    except (ET.ParseError, OSError) as exc:
        raise ReportError(f"unreadable JUnit XML {path}: {exc}") from None
    root = tree.getroot()
    for case in root.iter("testcase"):
        props = case.find("properties")
        outcome = None
        if props is not None:
            outcome = next((p.get("value") for p in reversed(list(props)) if p.get("name") == OUTCOME_PROPERTY), None)
        if outcome in _ERROR_TYPES:
            for child in case.findall("failure"):
                child.tag = "error"
                child.set("type", _ERROR_TYPES[outcome])
        elif outcome == "warning":
            skipped = case.find("skipped")
            note = skipped.get("message", "") if skipped is not None else ""
            out = case.find("system-out")
            if out is None:
                out = ET.SubElement(case, "system-out")
            out.text = f"WARNING (not a failure): {note}\n" + (out.text or "")
    for suite in root.iter("testsuite"):
        cases = list(suite.iter("testcase"))
        kinds = [{c.tag for c in case} for case in cases]
        suite.set("tests", str(len(cases)))
        suite.set("errors", str(sum(1 for k in kinds if "error" in k)))
        suite.set("failures", str(sum(1 for k in kinds if "failure" in k and "error" not in k)))
        suite.set("skipped", str(sum(1 for k in kinds if "skipped" in k and not k & {"error", "failure"})))
    tree.write(path, encoding="utf-8", xml_declaration=True)
    return check_junit(path)
