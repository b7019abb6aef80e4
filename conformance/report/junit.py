"""Reading the JUnit XML that pytest writes (--junitxml), to confirm it exists and count what it says."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass
from pathlib import Path

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
