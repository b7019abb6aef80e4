"""Merging several CI jobs' allure-results into one folder, without one job's tests posing as retries.

Allure groups results by historyId, a hash of the test's full name and its parameters: the same test run by
two jobs (two regions, two targets with equal parameters) would show as one test with a retry. So each job
sets CONFORMANCE_JOB to a distinct, stable value (e.g. the matrix entry) and the plugin adds it as the
`job` parameter (see job_parameter()), which makes the historyIds differ. Stable values keep per-test
history across nightly runs. merge_results() checks that no historyId occurs in two sources and stops
with a clear message before copying anything if one does.
"""

from __future__ import annotations

import filecmp
import json
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .conventions import JOB_ENV, JOB_PARAMETER
from .environment import ENVIRONMENT_FILE, EXECUTOR_FILE, read_properties, write_properties
from .errors import ReportError
from .results import RESULT_SUFFIX, read_result

# Metadata files every job writes: merged by content, not copied side by side.
_METADATA = {ENVIRONMENT_FILE, EXECUTOR_FILE, "categories.json"}


@dataclass
class MergeStats:
    """What a merge copied."""

    results: int = 0
    files: int = 0
    sources: int = 0
    empty_sources: list[Path] = field(default_factory=list)


def job_parameter() -> tuple[str, str] | None:
    """("job", value) from CONFORMANCE_JOB for allure.dynamic.parameter(*...), or None when unset."""
    value = " ".join(os.environ.get(JOB_ENV, "").split())[:100]
    return (JOB_PARAMETER, value) if value else None


def _history_ids(folder: Path) -> dict[str, tuple[Path, str]]:
    ids: dict[str, tuple[Path, str]] = {}
    for path in sorted(folder.glob("*" + RESULT_SUFFIX)):
        result = read_result(path)
        history_id = result.get("historyId")
        if history_id:
            # Within one folder a repeated historyId is a genuine retry; keep the first for the message.
            ids.setdefault(str(history_id), (path, str(result.get("fullName") or result.get("name") or path.name)))
    return ids


def _check_collisions(dest: Path, sources: Sequence[Path]) -> None:
    owners: dict[str, tuple[Path, str]] = {}
    origins = [dest, *sources] if dest.is_dir() else list(sources)
    for origin in origins:
        for history_id, (path, name) in _history_ids(origin).items():
            seen = owners.get(history_id)
            if seen is None:
                owners[history_id] = (path, name)
                continue
            if seen[0].name == path.name and seen[0].parent.resolve() == dest.resolve():
                continue  # this very file was merged into dest before
            raise ReportError(
                f"test {name} appears in both {seen[0].parent} and {origin}: their results would merge into "
                f"retries of one test; give each job a distinct {JOB_ENV} (the plugin adds it as a "
                f"'{JOB_PARAMETER}' parameter) and run them again"
            )


def _merge_environment(dest: Path, sources: Sequence[Path]) -> None:
    merged: dict[str, list[str]] = {}
    for folder in [dest, *sources]:
        for key, value in read_properties(folder / ENVIRONMENT_FILE).items():
            values = merged.setdefault(key, [])
            # Merged values are lists joined by ", "; splitting them again keeps re-merges idempotent.
            for part in value.split(", "):
                if part and part not in values:
                    values.append(part)
    if merged:
        write_properties(dest / ENVIRONMENT_FILE, {k: ", ".join(v) for k, v in merged.items()})


def _merge_first(dest: Path, sources: Sequence[Path], name: str) -> None:
    """Keep one copy of a file where only one makes sense (executor.json: the report shows one build)."""
    if (dest / name).exists():
        return
    for folder in sources:
        if (folder / name).is_file():
            try:
                json.loads((folder / name).read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            shutil.copyfile(folder / name, dest / name)
            return


def merge_results(sources: Sequence[Path], dest: Path) -> MergeStats:
    """Copy the allure-results of several jobs into dest (which may already hold results)."""
    dest = Path(dest)
    # The same folder named twice (a shell glob, a retried download) is one source.
    sources = list({Path(s).resolve(): Path(s) for s in sources}.values())
    if not sources:
        raise ReportError("nothing to merge: name at least one allure-results folder")
    for folder in sources:
        if not folder.is_dir():
            raise ReportError(f"cannot merge {folder}: not a folder")
        if folder.resolve() == dest.resolve():
            raise ReportError(f"cannot merge {folder} into itself")
    _check_collisions(dest, sources)
    dest.mkdir(parents=True, exist_ok=True)
    stats = MergeStats(sources=len(sources))
    for folder in sources:
        entries = sorted(p for p in folder.iterdir() if p.is_file() and p.name not in _METADATA)
        if not any(p.name.endswith(RESULT_SUFFIX) for p in entries):
            stats.empty_sources.append(folder)
        for path in entries:
            target = dest / path.name
            if target.exists():
                if filecmp.cmp(path, target, shallow=False):
                    continue
                raise ReportError(f"cannot merge {path}: {target} exists with other content")
            shutil.copyfile(path, target)
            stats.files += 1
            stats.results += path.name.endswith(RESULT_SUFFIX)
    _merge_environment(dest, sources)
    _merge_first(dest, sources, EXECUTOR_FILE)
    _merge_first(dest, sources, "categories.json")
    return stats
