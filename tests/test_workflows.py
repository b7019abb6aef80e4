"""The CI workflows parse, are shaped as the design says, and every command they run exists with those options."""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from conformance import config, specs
from conformance.cli import build_parser
from conformance.report.conventions import JOB_ENV

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = ROOT / ".github" / "workflows"
FILES = ("nightly.yml", "release-gate.yml")
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
# Shell built-ins and coreutils the scripts use around the suite's own commands.
SHELL_WORDS = {"set", "true", "echo", "cat", "printf", "if", "then", "fi", "case", "esac", "for", "do", "done"}
SHELL_WORDS |= {"exit", "["}
PROGRAMS = {"conformance", "pytest", "pip"} | SHELL_WORDS


def _load(name: str) -> dict[str, Any]:
    data = yaml.safe_load((WORKFLOWS / name).read_text(encoding="utf-8"))
    # YAML 1.1 reads the bare key `on` as true; GitHub reads it as "on".
    if True in data:
        data["on"] = data.pop(True)
    return data


def _steps(workflow: dict[str, Any]) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    return [(job_id, job, step) for job_id, job in workflow["jobs"].items() for step in job["steps"]]


def _commands(script: str) -> list[list[str]]:
    """Simple commands of a run script: continuations joined, split on ; && || and newlines, case arms dropped."""
    script = script.replace("\\\n", " ")
    out = []
    for line in script.splitlines():
        line = line.split(" #")[0].strip()
        if not line or line.startswith("#"):
            continue
        for part in re.split(r";;|;|&&|\|\||(?<![|])\|(?![|])", line):
            part = re.sub(r"^\s*[\w|*-]+\)\s*", "", part).strip()  # `0|3) ...` case arms
            part = re.sub(r"\s*(>>?|2>)\s*\S+", "", part)  # redirections
            if part:
                words = shlex.split(EXPRESSION.sub("EXPR", part))
                if words:
                    out.append(words)
    return out


def _conformance_commands() -> list[tuple[str, list[str]]]:
    found = []
    for name in FILES:
        for _, _, step in _steps(_load(name)):
            for words in _commands(step.get("run", "")):
                if words[0] == "conformance":
                    found.append((name, words[1:]))
    return found


@pytest.mark.parametrize("name", FILES)
def test_workflow_parses_and_every_step_runs_or_uses(name: str) -> None:
    wf = _load(name)
    assert wf["name"] and wf["on"] and wf["jobs"]
    assert wf["permissions"]["contents"] == "read"
    for job_id, job in wf["jobs"].items():
        assert job["runs-on"] == "ubuntu-latest", job_id
        for step in job["steps"]:
            assert ("run" in step) != ("uses" in step), step
            if "uses" in step:
                assert re.fullmatch(r"[\w.-]+/[\w./-]+@v\d+", step["uses"]), step["uses"]


@pytest.mark.parametrize("name", FILES)
def test_only_known_programs_are_run(name: str) -> None:
    for job_id, _, step in _steps(_load(name)):
        for words in _commands(step.get("run", "")):
            program = words[0]
            if "=" in program and program.split("=")[0].isidentifier():
                continue  # a shell assignment
            assert program in PROGRAMS, f"{name} {job_id}: {program!r} in {step.get('name')}"


def test_every_conformance_command_exists_with_those_options() -> None:
    """Each `conformance ...` line parses with the real CLI: a missing subcommand or option fails here."""
    commands = _conformance_commands()
    assert {c[0] for _, c in commands} >= {"run", "drift", "report"}
    parser = build_parser()
    for name, argv in commands:
        try:
            args = parser.parse_args(argv)
        except SystemExit:
            pytest.fail(f"{name}: `conformance {' '.join(argv)}` is not a valid command of this suite")
        assert args.command == argv[0]


def test_pytest_and_pip_lines_match_the_project() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    extras = set(pyproject["project"]["optional-dependencies"])
    for name in FILES:
        for _, _, step in _steps(_load(name)):
            for words in _commands(step.get("run", "")):
                if words[0] == "pip":
                    assert words[1:3] == ["install", "-e"], words
                    extra = re.fullmatch(r"\.\[(\w+)\]", words[3])
                    assert extra and extra.group(1) in extras, words
                if words[0] == "pytest":
                    # The project's tests come from pyproject's testpaths; only built-in options are added.
                    assert all(not w.startswith("-") or w == "--junitxml" for w in words[1:]), words


def _setup_versions(wf: dict[str, Any], action: str, key: str) -> set[str]:
    return {str(step["with"][key]) for _, _, step in _steps(wf) if step.get("uses", "").startswith(action)}


@pytest.mark.parametrize("name", FILES)
def test_python_311_node_20_and_the_dev_install(name: str) -> None:
    wf = _load(name)
    assert _setup_versions(wf, "actions/setup-python", "python-version") == {"3.11"}
    assert _setup_versions(wf, "actions/setup-node", "node-version") in (set(), {"20"})
    for job_id, job in wf["jobs"].items():
        runs = [s.get("run", "") for s in job["steps"]]
        if any("conformance " in r or "pytest" in r for r in runs):
            assert 'pip install -e ".[dev]"' in runs, job_id


def _matrix_vendors(job: dict[str, Any]) -> list[str]:
    return job["strategy"]["matrix"]["vendor"]


def test_nightly_runs_every_vendor_on_a_schedule_with_its_own_secrets() -> None:
    wf = _load("nightly.yml")
    assert wf["on"]["schedule"][0]["cron"]
    job = wf["jobs"]["sandbox"]
    assert sorted(_matrix_vendors(job)) == specs.vendors()
    assert job["strategy"]["fail-fast"] is False
    assert "${{ matrix.vendor }}" in job["env"][JOB_ENV]
    run = next(s for _, _, s in _steps(wf) if "conformance run" in s.get("run", ""))
    assert "--target sandbox" in run["run"]
    # Every credential the profiles name comes from a secret, each only in its own vendor's job.
    for vendor in specs.vendors():
        for credential in specs.load_profile(vendor)["credentials"]:
            env_name = config.default_env_name(vendor, credential)
            assert run["env"][env_name] == f"${{{{ matrix.vendor == '{vendor}' && secrets.{env_name} || '' }}}}"


def test_nightly_drift_step_alerts_and_keeps_a_baseline() -> None:
    wf = _load("nightly.yml")
    steps = {s.get("name"): s for _, _, s in _steps(wf)}
    drift = steps["Drift against last night"]
    assert "conformance drift --baseline" in drift["run"]
    assert drift["env"]["CONFORMANCE_DRIFT_WEBHOOK"] == "${{ secrets.CONFORMANCE_DRIFT_WEBHOOK }}"
    assert "--accept" in steps["Keep tonight's fingerprint as the next baseline"]["run"]
    caches = [s for _, _, s in _steps(wf) if s.get("uses", "").startswith("actions/cache")]
    paths = {s["with"]["path"] for s in caches}
    assert "reports/history" in paths and ".drift/${{ matrix.vendor }}" in paths
    report = " ".join(s.get("run", "") for s in wf["jobs"]["report"]["steps"])
    assert "conformance report" in report and "--history reports/history/history.jsonl" in report
    uploads = [s["with"]["path"] for _, _, s in _steps(wf) if s.get("uses", "").startswith("actions/upload-artifact")]
    assert "reports/" in uploads


def test_release_gate_uses_exit_codes_mocks_sandboxes_and_publishes_junit() -> None:
    wf = _load("release-gate.yml")
    jobs = wf["jobs"]
    runs = {job_id: " ".join(s.get("run", "") for s in job["steps"]) for job_id, job in jobs.items()}
    assert "conformance run --target mock" in runs["mocks"]
    assert "conformance run --target sandbox" in runs["sandboxes"]
    assert sorted(_matrix_vendors(jobs["sandboxes"])) == specs.vendors()
    # The gate is the exit code: no step of a gate job may swallow it.
    for job_id in ("mocks", "sandboxes", "self-tests"):
        for step in jobs[job_id]["steps"]:
            assert "continue-on-error" not in step and "set +e" not in step.get("run", ""), (job_id, step)
    publishers = [(j, s) for j, _, s in _steps(wf) if s.get("uses", "").startswith("mikepenz/action-junit-report@")]
    assert {j for j, _ in publishers} == {"self-tests", "mocks", "sandboxes"}
    assert all(s["if"] == "always()" for _, s in publishers)
    assert wf["permissions"]["checks"] == "write"
    job_names = {jobs["mocks"]["env"][JOB_ENV], jobs["sandboxes"]["env"][JOB_ENV]}
    assert len(job_names) == 2 and "${{ matrix.vendor }}" in jobs["sandboxes"]["env"][JOB_ENV]
    assert set(jobs["gate"]["needs"]) == {"self-tests", "mocks", "sandboxes"}


@pytest.mark.parametrize("name", FILES)
def test_secrets_never_reach_a_script_directly(name: str) -> None:
    for job_id, _, step in _steps(_load(name)):
        assert "secrets." not in step.get("run", ""), (job_id, step.get("name"))
    text = (WORKFLOWS / name).read_text(encoding="utf-8")
    assert not re.search(r"(?i)(password|secret|api_key|token)\s*[:=]\s*['\"]?[A-Za-z0-9]{12,}", text)
