"""`conformance drift` and `conformance docs-check` as a user meets them: exit codes, one-line errors, files."""

from __future__ import annotations

import argparse
import json
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from conformance import specs
from conformance.drift import cli as drift_cli
from conformance.drift import docs_check


def _main(command: str, *argv: str) -> int:
    parser = argparse.ArgumentParser(prog=f"conformance {command}")
    drift_cli.add_arguments(parser, command)
    args = parser.parse_args(list(argv))
    args.command = command
    return drift_cli.run(args)


def _fp(claims: dict[str, str], target: str = "mock", status: str = "ok") -> dict[str, Any]:
    return {
        "format": "conformance-fingerprint/1",
        "suite_version": "0.1.0",
        "target": target,
        "vendors": {
            "klavi": {
                "spec_hash": "abc",
                "status": status,
                "tests": {"passed": 1},
                "claims": claims,
                "responses": {},
                "lifetimes": {},
            }
        },
    }


def _reports(tmp_path: Path, name: str, data: dict[str, Any]) -> Path:
    folder = tmp_path / name
    folder.mkdir(parents=True)
    (folder / "fingerprint.json").write_text(json.dumps(data), encoding="utf-8")
    return folder


def _one_line_error(capsys: pytest.CaptureFixture[str], *fragments: str) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert "Traceback" not in err
    for f in fragments:
        assert f in err, err
    return err


# --- drift ----------------------------------------------------------------------------------------------------


def test_accept_creates_the_baseline_then_an_unchanged_run_is_no_drift(tmp_path: Path, capsys) -> None:
    run = _reports(tmp_path, "reports", _fp({"KLAVI-AUTH-001": "passed"}))
    baseline = tmp_path / "baseline" / "fingerprint.json"
    assert _main("drift", "--baseline", str(baseline), "--reports", str(run), "--accept") == 0
    assert json.loads(baseline.read_text())["vendors"]["klavi"]["claims"] == {"KLAVI-AUTH-001": "passed"}
    assert _main("drift", "--baseline", str(baseline), "--reports", str(run)) == 0
    out = capsys.readouterr().out
    assert "drift: no drift" in out
    assert (run / "drift.md").read_text().startswith("# Vendor drift: none")
    assert json.loads((run / "drift.json").read_text())["drift"] is False


def test_drift_exits_4_and_accept_makes_it_the_new_baseline(tmp_path: Path, capsys) -> None:
    baseline = _reports(tmp_path, "baseline", _fp({"KLAVI-AUTH-001": "passed"})) / "fingerprint.json"
    run = _reports(tmp_path, "reports", _fp({"KLAVI-AUTH-001": "failed"}))
    assert _main("drift", "--baseline", str(baseline), "--reports", str(run), "--no-alert") == 4
    out = capsys.readouterr().out
    assert "  klavi: new-failure KLAVI-AUTH-001: passed -> failed" in out
    assert "drift: 1 change(s) in klavi (1 new-failure)" in out
    assert _main("drift", "--baseline", str(baseline), "--reports", str(run), "--accept") == 0
    assert _main("drift", "--baseline", str(baseline), "--reports", str(run)) == 0


def test_previous_compares_with_an_earlier_reports_folder(tmp_path: Path) -> None:
    previous = _reports(tmp_path, "last-night", _fp({"KLAVI-AUTH-001": "failed"}))
    run = _reports(tmp_path, "reports", _fp({"KLAVI-AUTH-001": "passed"}))
    assert _main("drift", "--previous", str(previous), "--reports", str(run), "--no-alert") == 4
    data = json.loads((run / "drift.json").read_text())
    assert [(c["kind"], c["subject"]) for c in data["changes"]] == [("fixed", "KLAVI-AUTH-001")]
    # The state file lives beside the baseline it belongs to.
    assert (previous / "drift-state.json").is_file()


def test_fingerprint_is_built_from_outcomes_when_the_run_wrote_none(tmp_path: Path) -> None:
    run = tmp_path / "reports"
    run.mkdir()
    outcome = {
        "outcome": "failed",
        "vendor": "klavi",
        "nodeid": "t",
        "claims": ["KLAVI-AUTH-001"],
        "failed_claims": ["KLAVI-AUTH-001"],
        "message": "x",
    }
    (run / "outcomes.json").write_text(json.dumps({"results": [outcome]}), encoding="utf-8")
    baseline = _reports(tmp_path, "b", _fp({"KLAVI-AUTH-001": "passed"}, target=None)) / "fingerprint.json"
    assert _main("drift", "--baseline", str(baseline), "--reports", str(run), "--no-alert") == 4


@pytest.mark.parametrize(
    ("setup", "fragments"),
    [
        ("no-reports", ["--reports", "no such folder"]),
        ("no-baseline", ["no baseline at", "--accept"]),
        ("bad-json", ["is not valid JSON"]),
        ("not-a-fingerprint", ["is not a fingerprint"]),
        ("other-target", ["target 'sandbox'", "'mock'"]),
        ("previous-missing", ["--previous", "not a folder"]),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(tmp_path: Path, capsys, setup: str, fragments: list[str]) -> None:
    run = _reports(tmp_path, "reports", _fp({}))
    baseline = tmp_path / "baseline.json"
    args = ["--baseline", str(baseline), "--reports", str(run)]
    if setup == "no-reports":
        args[3] = str(tmp_path / "nope")
    elif setup == "bad-json":
        baseline.write_text("{not json", encoding="utf-8")
    elif setup == "not-a-fingerprint":
        baseline.write_text('{"results": []}', encoding="utf-8")
    elif setup == "other-target":
        baseline.write_text(json.dumps(_fp({}, target="sandbox")), encoding="utf-8")
    elif setup == "previous-missing":
        args = ["--previous", str(tmp_path / "nope"), "--reports", str(run)]
    assert _main("drift", *args) == 2
    _one_line_error(capsys, "conformance drift: error:", *fragments)


# --- docs-check -----------------------------------------------------------------------------------------------


def _opsnow_doc_changed() -> tuple[str, str, str]:
    """The OpsNow doc text (from its own quotes) with one quote removed and one reworded."""
    claims = specs.load_claims("opsnow")
    gone, changed = claims[0], claims[1]
    text = "\n\n".join(c.quote for c in claims[2:])
    text += "\n\n" + changed.quote.replace("Bearer", "Token") + "\n\nSomething else entirely about billing.\n"
    return text, gone.id, changed.id


@pytest.fixture
def doc_site(tmp_path: Path):
    """A local doc site that serves Markdown twins (`<page>.md`), like the vendors' doc platforms."""
    text, gone, changed = _opsnow_doc_changed()
    (tmp_path / "site" / "guide").mkdir(parents=True)
    (tmp_path / "site" / "guide" / "authentication.md").write_text(text, encoding="utf-8")
    (tmp_path / "site" / "page").mkdir()
    (tmp_path / "site" / "page" / "index.html").write_text(
        "<html><body><p>" + "</p><p>".join(c.quote for c in specs.load_claims("opsnow")) + "</p></body></html>",
        encoding="utf-8",
    )
    handler = partial(SimpleHTTPRequestHandler, directory=str(tmp_path / "site"))
    handler.log_message = lambda *a: None  # type: ignore[method-assign]
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", gone, changed
    server.shutdown()
    server.server_close()


def test_docs_check_reads_the_markdown_twin_and_lists_vanished_and_changed_quotes(doc_site, tmp_path, capsys) -> None:
    base, gone, changed = doc_site
    out_json = tmp_path / "docs.json"
    code = _main("docs-check", "--vendor", "opsnow", f"{base}/guide/authentication", "--json", str(out_json))
    assert code == 1
    out = capsys.readouterr().out
    assert f"(read {base}/guide/authentication.md)" in out
    assert f"CHANGED  {changed} " in out and "Token" in out
    assert f"VANISHED {gone} " in out
    data = json.loads(out_json.read_text())
    assert {q["claim"]: q["status"] for q in data["quotes"] if q["status"] != "found"} == {
        gone: "vanished",
        changed: "changed",
    }


def test_docs_check_passes_on_an_html_page_when_no_markdown_twin_exists(doc_site, capsys) -> None:
    base, _, _ = doc_site
    assert _main("docs-check", "--vendor", "opsnow", f"{base}/page") == 0
    out = capsys.readouterr().out
    assert "0 changed, 0 vanished" in out and f"(read {base}/page)" in out


def test_docs_check_on_the_saved_vendor_docs_finds_every_quote(vendor_docs: Path, capsys) -> None:
    for vendor in specs.vendors():
        assert _main("docs-check", "--vendor", vendor, str(vendor_docs / f"{vendor}.txt")) == 0, vendor
    assert capsys.readouterr().out.count("0 changed, 0 vanished") == len(specs.vendors())


def test_markdown_twin_urls() -> None:
    assert docs_check.markdown_url("https://docs.example/guide/auth") == "https://docs.example/guide/auth.md"
    assert docs_check.markdown_url("https://docs.example/guide/auth.md") == "https://docs.example/guide/auth.md"
    assert docs_check.markdown_url("https://docs.example/") == "https://docs.example/"


@pytest.mark.parametrize(
    ("argv", "code", "fragment"),
    [
        (["--vendor", "nobody", "x.md"], 2, "unknown vendor 'nobody'"),
        (["--vendor", "opsnow", "missing-file.md"], 2, "no such file"),
        (["--vendor", "opsnow", "http://127.0.0.1:9/guide"], 3, "cannot read http://127.0.0.1:9/guide.md"),
    ],
)
def test_docs_check_errors_are_one_line(tmp_path, monkeypatch, capsys, argv, code, fragment) -> None:
    monkeypatch.chdir(tmp_path)
    assert _main("docs-check", *argv, "--timeout", "2") == code
    _one_line_error(capsys, "conformance docs-check: error:", fragment)
