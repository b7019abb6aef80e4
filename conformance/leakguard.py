"""The one redaction point of a pytest run's text: test reports (tracebacks, captured output) and Allure files.

Everything a run writes passes through the run's Redactor on its way out: pytest's reports are scrubbed when they
are made (before the console, junit.xml, xdist and allure-pytest see them), and the Allure file writer masks every
result, container and attachment it writes, whoever produced it (allure-pytest's status details carry the
exception text, fixtures' errors their own).
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

from conformance.redact import Redactor

# Objects of these packages are walked into (pytest's report parts, Allure's result model); others are left alone.
_WALKED = ("_pytest.", "allure_commons.")


def scrub(obj: Any, redactor: Redactor, _seen: set[int] | None = None, _depth: int = 0) -> Any:
    """Every string inside `obj` (lists, tuples, dicts, pytest report parts, Allure results) redacted in place;
    returns the scrubbed object (a new one for strings and tuples)."""
    if isinstance(obj, str):
        return redactor.text(obj)
    seen = set() if _seen is None else _seen
    if _depth > 30 or id(obj) in seen or obj is None or isinstance(obj, int | float | bytes | Path):
        return obj
    seen.add(id(obj))
    if isinstance(obj, list):
        obj[:] = [scrub(x, redactor, seen, _depth + 1) for x in obj]
    elif isinstance(obj, tuple):
        items = [scrub(x, redactor, seen, _depth + 1) for x in obj]
        return type(obj)(*items) if hasattr(obj, "_fields") else tuple(items)
    elif isinstance(obj, dict):
        for key in list(obj):
            obj[key] = scrub(obj[key], redactor, seen, _depth + 1)
    elif type(obj).__module__.startswith(_WALKED) and hasattr(obj, "__dict__"):
        for key, value in list(vars(obj).items()):
            object.__setattr__(obj, key, scrub(value, redactor, seen, _depth + 1))
    return obj


class LeakGuard:
    """A pytest plugin holding the run's redactor (one per process: the controller and each xdist worker)."""

    def __init__(self, redactor: Redactor) -> None:
        self.redactor = redactor

    @pytest.hookimpl(wrapper=True, trylast=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
        # Innermost wrapper: the report is scrubbed before any other plugin's wrapper (allure-pytest) reads it.
        report = yield
        self.scrub_report(report)
        return report

    @pytest.hookimpl(wrapper=True, trylast=True)
    def pytest_make_collect_report(self, collector: pytest.Collector) -> Generator[None, Any, Any]:
        report = yield
        self.scrub_report(report)
        return report

    def scrub_report(self, report: Any) -> None:
        for name in ("longrepr", "sections", "user_properties", "wasxfail"):
            if hasattr(report, name):
                setattr(report, name, scrub(getattr(report, name), self.redactor))

    @pytest.hookimpl(trylast=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        guard_allure_writer(self.redactor)


def guard_allure_writer(redactor: Redactor) -> None:
    """Route everything allure-pytest's file writer writes (results, containers, attachments) through `redactor`."""
    try:
        import allure_commons
        from allure_commons.logger import AllureFileLogger
    except ImportError:  # pragma: no cover - allure-pytest is a dependency
        return
    manager = allure_commons.plugin_manager
    for writer in [p for p in manager.get_plugins() if isinstance(p, AllureFileLogger)]:
        if getattr(writer, "_conformance_guarded", False):
            continue
        writer._conformance_guarded = True
        original_item = writer._report_item
        writer._report_item = lambda item, _write=original_item: _write(scrub(item, redactor))
        # The hook implementations were bound when allure-pytest registered the writer: wrap them where they live.
        for impl in manager.hook.report_attached_data.get_hookimpls():
            if impl.plugin is writer:
                impl.function = _attached_data(impl.function, redactor)
        for impl in manager.hook.report_attached_file.get_hookimpls():
            if impl.plugin is writer:
                impl.function = _attached_file(writer, redactor)


def _attached_data(write: Any, redactor: Redactor) -> Any:
    def report_attached_data(body: Any, file_name: str) -> None:
        if isinstance(body, bytes):
            # Binary attachments (screenshots) carry no text: written as they are.
            with contextlib.suppress(UnicodeDecodeError):
                body = redactor.text(body.decode("utf-8")).encode("utf-8")
        elif isinstance(body, str):
            body = redactor.text(body)
        write(body=body, file_name=file_name)

    return report_attached_data


def _attached_file(writer: Any, redactor: Redactor) -> Any:
    def report_attached_file(source: str, file_name: str) -> None:
        destination = Path(writer._report_dir) / file_name
        try:
            text = Path(source).read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            shutil.copy2(source, destination)
            return
        destination.write_text(redactor.text(text), encoding="utf-8")

    return report_attached_file


REDACTOR_KEY = pytest.StashKey[Redactor]()


def run_redactor(config: pytest.Config) -> Redactor:
    """The run's redactor (one per process), with the guard that routes the run's text through it installed."""
    if REDACTOR_KEY not in config.stash:
        redactor = config.stash[REDACTOR_KEY] = Redactor()
        config.pluginmanager.register(LeakGuard(redactor), "conformance-leakguard")
    return config.stash[REDACTOR_KEY]
