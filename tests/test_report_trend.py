"""Claim verdicts and the trend since the previous run: a held claim is never red for sharing a failed test."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from conformance.report.claims import (
    FIRST_RUN,
    FIXED,
    NEW_FAILURE,
    STILL_FAILING,
    UNCHANGED,
    previous_outcomes,
    trend,
    verdicts,
    write_claim_results,
)
from conformance.report.history import RUN_KEY, plan, run_key, tag_last_entry
from conformance.report.results import Claim
from conformance.report.results import TestOutcome as Outcome
from conformance.report.summary import render_summary

A, B, C = Claim("KLAVI-AUTH-008", "expires"), Claim("RFC6750-3-WWW-AUTHENTICATE", "challenge"), Claim("X-1", "x")


def outcome(name: str, result: str, claims: tuple[Claim, ...], failed: tuple[str, ...] = ()) -> Outcome:
    status = {"warning": "skipped"}.get(result, result)
    return Outcome(
        history_id=name, name=name, full_name=name, status=status, outcome=result, vendor="klavi",
        vendor_title="Klavi", claims=claims, message="", start=0, stop=0, path=Path(name), failed_claim_ids=failed,
    )  # fmt: skip


def test_only_the_contradicted_claim_fails():
    found = verdicts([outcome("t1", "failed", (A, B), failed=(A.id,)), outcome("t2", "passed", (B, C))])
    assert {cid: v.outcome for (_, cid), v in found.items()} == {A.id: "failed", B.id: "passed", C.id: "passed"}
    assert found[("klavi", B.id)].tests == [("t1", "passed"), ("t2", "passed")]


def test_broken_and_warning_claims():
    found = verdicts([outcome("t1", "broken", (A,)), outcome("t2", "warning", (B, C), failed=(C.id,))])
    assert {cid: v.outcome for (_, cid), v in found.items()} == {A.id: "broken", B.id: "passed", C.id: "warning"}


def test_trend_new_fixed_still_failing():
    before = [
        outcome("t1", "failed", (A,), (A.id,)),
        outcome("t2", "failed", (B,), (B.id,)),
        outcome("t3", "passed", (C,)),
    ]
    now = [
        outcome("t1", "failed", (A,), (A.id,)),
        outcome("t2", "passed", (B,)),
        outcome("t3", "failed", (C,), (C.id,)),
    ]
    t = trend(now, before)
    assert {cid: v.trend for (_, cid), v in t.claims.items()} == {A.id: STILL_FAILING, B.id: FIXED, C.id: NEW_FAILURE}
    assert t.vendor_counts("klavi") == {NEW_FAILURE: 1, FIXED: 1, STILL_FAILING: 1}
    assert t.tests["klavi"] == {NEW_FAILURE: 1, FIXED: 1, STILL_FAILING: 1}
    text = render_summary(now, changes=t)
    section = text.split("## Since the previous run", 1)[1]
    assert "| Klavi | 1 | 1 | 1 |" in section
    assert f"- 🆕 Klavi: {C.id} x — new failure" in section
    assert f"- ✅ Klavi: {B.id} challenge — fixed" in section
    assert f"- ❌ Klavi: {A.id} expires — still failing" in section
    same = trend(now, now)
    assert {v.trend for v in same.claims.values()} == {STILL_FAILING, UNCHANGED}
    first = trend(now, None)
    assert {v.trend for v in first.claims.values()} == {FIRST_RUN} and not first.has_previous


def test_claim_results_have_one_result_per_claim_and_the_claims_status(tmp_path):
    t = trend([outcome("t1", "failed", (A, B), (A.id,)), outcome("t2", "warning", (C,), (C.id,))], None)
    assert write_claim_results(t, tmp_path) == 3
    results = {r["name"].split()[0]: r for r in (json.loads(p.read_text()) for p in tmp_path.glob("*-result.json"))}
    assert {k: r["status"] for k, r in results.items()} == {A.id: "failed", B.id: "passed", C.id: "skipped"}
    assert {"name": "outcome", "value": "warning"} in results[C.id]["labels"]
    assert {"name": "vendor", "value": "klavi"} in results[A.id]["labels"]
    assert len({r["historyId"] for r in results.values()}) == 3


def test_history_entries_read_back_as_outcomes_with_failed_claims():
    entry = {
        "testResults": {
            "h1": {
                "name": "t1",
                "status": "failed",
                "labels": [
                    {"name": "vendor", "value": "klavi"},
                    {"name": "epic", "value": "Klavi"},
                    {"name": "claim", "value": A.id},
                    {"name": "claim", "value": B.id},
                    {"name": "failed_claim", "value": A.id},
                ],
            }
        }
    }
    (test,) = previous_outcomes(entry)
    assert test.history_id == "h1" and [c.id for c in test.failing_claims()] == [A.id]


def test_a_rebuild_is_recognised_by_its_run(tmp_path):
    results = tmp_path / "results"
    results.mkdir()
    (results / "a-result.json").write_text(json.dumps({"uuid": "a", "name": "t"}))
    history = tmp_path / "history.jsonl"
    history.write_text(json.dumps({"uuid": "r0", "testResults": {}}) + "\n" + json.dumps({"uuid": "r1"}) + "\n")
    first = plan(history, results)
    assert not first.rebuild and len(first.prior) == 2
    tag_last_entry(history, first.key)
    again = plan(history, results)
    assert again.rebuild and len(again.prior) == 1 and again.key == run_key(results)
    assert json.loads(history.read_text().splitlines()[-1])[RUN_KEY] == first.key


def _copy_run(src: Path, dest: Path, *, history_key: str, status: str | None = None) -> Path:
    """Another run of the sample's tests: new uuids (a new run), optionally every test with one status."""
    import uuid

    dest.mkdir(parents=True)
    for path in src.iterdir():
        if path.name.endswith("-result.json"):
            data = json.loads(path.read_text())
            data["uuid"] = str(uuid.uuid4())
            if status:
                data["status"], data["statusDetails"] = status, {}
            (dest / f"{data['uuid']}-result.json").write_text(json.dumps(data))
        elif path.name == "environment.properties":
            (dest / path.name).write_text(path.read_text() + f"history_key={history_key}\n")
        else:
            (dest / path.name).write_bytes(path.read_bytes())
    return dest


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed: the HTML report needs it")
def test_a_deterministic_fault_is_not_flaky_across_a_clean_run_in_between(tmp_path):
    from conformance.report import build_report, report_data, write_environment
    from conformance.report.sample import make_results

    sample = make_results(tmp_path / "sample")
    write_environment(sample.results, target="mock", vendors=["klavi"], base_urls={}, suite_version="0", spec_hashes={})
    out = tmp_path / "reports" / "allure-report"
    fault1 = _copy_run(sample.results, tmp_path / "f1", history_key="mock+never-expire")
    clean = _copy_run(sample.results, tmp_path / "c", history_key="mock", status="passed")
    fault2 = _copy_run(sample.results, tmp_path / "f2", history_key="mock+never-expire")
    for results in (fault1, clean, fault2):
        stats = build_report(results, out)
    assert stats.history_path.parent.name == "mock+never-expire" and stats.history_entries == 2
    assert len((tmp_path / "reports" / "history" / "mock" / "history.jsonl").read_text().splitlines()) == 1
    tests = [json.loads(v) for k, v in report_data(stats.index_html).items() if k.startswith("data/test-results/")]
    failed = [t for t in tests if t["status"] == "failed"]
    assert failed and not [t["name"] for t in tests if t.get("flaky")]
    assert all(len(t["history"]) == 1 for t in failed)
    tree = json.loads(report_data(out / "claims.html")["widgets/tree.json"])
    groups = {g["name"] for g in tree["groupsById"].values()}
    assert {"Klavi", "still failing", "unchanged"} <= groups and "new failure" not in groups
