"""Clearing the previous run's verdict files at the start of a run, so nothing stale sits beside new results."""

from __future__ import annotations

import shutil
from pathlib import Path

# Written by every `conformance run`; the history (history/) and the drift baseline are kept on purpose.
VERDICT_FILES = ("summary.md", "junit.xml", "outcomes.json", "fingerprint.json")
VERDICT_FOLDERS = ("allure-results", "observations")
REPORT_FOLDER = "allure-report"


def _is_report(folder: Path) -> bool:
    return (folder / "index.html").exists() or (folder / "summary.json").exists()


def clear_previous_run(reports: Path) -> list[Path]:
    """Remove what an earlier run wrote into reports/; return what was removed.

    The HTML report goes too, so `run --no-html` (or a failed HTML step) leaves none from an older run; a
    folder of that name that does not hold an Allure report is left alone.
    """
    reports = Path(reports)
    removed: list[Path] = []
    for name in VERDICT_FILES:
        path = reports / name
        if path.is_file() or path.is_symlink():
            path.unlink()
            removed.append(path)
    for name in VERDICT_FOLDERS:
        path = reports / name
        if path.is_dir():
            shutil.rmtree(path)
            removed.append(path)
    report = reports / REPORT_FOLDER
    if report.is_dir() and _is_report(report):
        shutil.rmtree(report)
        removed.append(report)
    return removed
