"""What a pytest run ended with beyond its exit code: Ctrl-C, collection errors and whether bad data caused them."""

from __future__ import annotations

from typing import Any

import pytest

from conformance import exitcodes


class RunWatch:
    """A pytest plugin object for one `conformance run`; pytest's exit 2 means both Ctrl-C and collection errors."""

    def __init__(self) -> None:
        self.interrupted = False
        self.collection_errors: list[str] = []
        self.data_errors: list[str] = []

    def pytest_keyboard_interrupt(self, excinfo: pytest.ExceptionInfo[BaseException]) -> None:
        # pytest stops on collection errors by raising Session.Interrupted, a KeyboardInterrupt too; and
        # pytest.exit() comes through here as well. Only a real interrupt is 130.
        if isinstance(excinfo.value, KeyboardInterrupt) and not isinstance(excinfo.value, pytest.Session.Interrupted):
            self.interrupted = True

    @pytest.hookimpl(trylast=True)
    def pytest_exception_interact(self, node: Any, call: pytest.CallInfo[Any], report: Any) -> None:
        if not isinstance(report, pytest.CollectReport) or call.excinfo is None:
            return
        from conformance.failures import SuiteConfigError
        from conformance.specs import SpecError

        line = f"{report.nodeid or node}: {call.excinfo.typename}: {str(call.excinfo.value).splitlines()[0][:300]}"
        # Collection imports the spec-driven contract module: a broken spec is the user's data, not the suite.
        if call.excinfo.errisinstance((SpecError, SuiteConfigError)):
            self.data_errors.append(line)
        else:
            self.collection_errors.append(line)

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        # Errors pytest catches without an interact call (a module that fails to import under --assert=plain).
        if report.failed and not (self.collection_errors or self.data_errors):
            self.collection_errors.append(f"{report.nodeid}: collection failed")

    def exit_code(self, code: int) -> int | None:
        """The documented exit code when the run did not complete, else None (judge the outcomes)."""
        if self.interrupted:
            return exitcodes.INTERRUPTED
        if self.data_errors:
            return exitcodes.USAGE
        if self.collection_errors:
            return exitcodes.SUITE_ERROR
        if code == pytest.ExitCode.USAGE_ERROR:
            return exitcodes.USAGE
        if code == pytest.ExitCode.INTERNAL_ERROR:
            return exitcodes.SUITE_ERROR
        if code == pytest.ExitCode.INTERRUPTED:  # pytest.exit() without a return code, say
            return exitcodes.SUITE_ERROR
        return None

    def reason(self) -> str:
        first = (self.data_errors or self.collection_errors or [""])[0]
        return f"collection error in {first}" if first else ""
