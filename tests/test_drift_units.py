"""Drift building blocks on small hand-made inputs: shapes, headers, operations, verdicts, comparison, rendering."""

from __future__ import annotations

import json

import pytest

from conformance import specs
from conformance.drift import compare, headers, operations, render, shapes, state
from conformance.drift.fingerprint import claim_verdicts, vendor_status
from conformance.drift.scrub import WITHHELD, scrub

# --- shapes -------------------------------------------------------------------------------------------------


def test_inferred_schema_has_types_and_required_keys_but_no_values() -> None:
    schema = shapes.infer({"accessToken": "[REDACTED]", "expireIn": 1800, "scopes": ["a"], "extra": None})
    assert schema == {
        "type": "object",
        "properties": {
            "accessToken": {"type": "string"},
            "expireIn": {"type": "integer"},
            "extra": {"type": "null"},
            "scopes": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["accessToken", "expireIn", "extra", "scopes"],
    }
    assert "1800" not in json.dumps(schema) and "REDACTED" not in json.dumps(schema)


def test_merging_observations_keeps_every_field_and_requires_only_the_common_ones() -> None:
    merged = shapes.merge(shapes.infer({"a": 1, "b": "x"}), shapes.infer({"a": "1"}))
    assert merged["properties"]["a"] == {"type": ["integer", "string"]}
    assert merged["required"] == ["a"]
    assert shapes.flatten(merged) == {
        "$": ("object", True),
        "$.a": ("integer|string", True),
        "$.b": ("string", False),
    }


def test_id_and_secret_shaped_keys_fold_into_additional_properties() -> None:
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln"
    schema = shapes.infer({"key_01m86m8nwjzrc09vd0rdr5tkaw": {"n": 1}, jwt: 1, "name": "x"})
    assert list(schema["properties"]) == ["name"]
    assert schema["additionalProperties"]["type"] == ["integer", "object"]
    assert jwt not in json.dumps(schema)


def test_flatten_of_a_non_json_body() -> None:
    assert shapes.flatten(None) == {"$": (shapes.NOT_JSON, True)}


# --- headers ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ('Bearer realm="klavi"', "bearer (realm)"),
        (
            'Bearer realm="klavi", error="invalid_token", error_description="The token expired"',
            "bearer (error=invalid_token; error_description, realm)",
        ),
        ('BEARER error="invalid_token", realm="x, y"', "bearer (error=invalid_token; realm)"),
        ('Basic realm="a", Bearer error="insufficient_scope"', "basic (realm) | bearer (error=insufficient_scope)"),
        ("Bearer", "bearer"),
    ],
)
def test_www_authenticate_keeps_scheme_and_error_code_not_texts(raw: str, normalised: str) -> None:
    assert headers.normalise("WWW-Authenticate", raw) == normalised


def test_other_auth_headers_normalise_to_their_stable_part() -> None:
    assert headers.normalise("Content-Type", "application/json; charset=utf-8") == "application/json"
    assert headers.normalise("cache-control", "no-store, max-age=0") == "max-age, no-store"
    assert headers.normalise("retry-after", "30") == "delay-seconds"
    assert headers.normalise("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT") == "http-date"


# --- operations ---------------------------------------------------------------------------------------------


def test_concrete_paths_map_to_spec_templates() -> None:
    assert operations.template_for("knowledgestack", "/v1/api-keys/key_01m86m8nwjzrc09vd0rdr5tkaw") == (
        "/v1/api-keys/{api_key_id}",
        True,
    )
    assert operations.template_for("knowledgestack", "/v1/api-keys") == ("/v1/api-keys", True)
    # A base URL with a path prefix the spec leaves out still maps.
    assert operations.template_for("klearstack", "/api/get_access_token") == ("/get_access_token", True)
    assert operations.template_for("klavi", "/v2/things/0123456789abcdef") == ("/v2/things/{id}", False)
    assert operations.is_documented("klavi", "/monitor/v1/auth", "POST", 401)
    assert not operations.is_documented("klavi", "/monitor/v1/auth", "POST", 500)


# --- claim verdicts -----------------------------------------------------------------------------------------


def _r(outcome: str, claims: list[str], failed: list[str] | None = None, message: str = "") -> dict:
    return {
        "outcome": outcome,
        "vendor": "v",
        "nodeid": "t",
        "claims": claims,
        "failed_claims": failed or [],
        "message": message,
    }


def test_claim_verdicts_take_the_strongest_outcome_across_tests() -> None:
    results = [
        _r("passed", ["A", "B", "C"]),
        _r("failed", ["A", "B"], ["A"]),
        _r("warning", ["D"], ["D"], "ASSUMPTION NOT MET (warning): ..."),
        _r("broken", ["C"]),
        _r("deviation", ["E"], ["E"]),
        _r("warning", ["X-1"], [], "DEVIATION GONE (warning): X-1 now holds (some_check passed) — remove it"),
        _r("skipped", []),
    ]
    assert claim_verdicts(results) == {
        "v": {"A": "failed", "B": "passed", "C": "broken", "D": "warning", "E": "deviation", "X-1": "deviation-gone"}
    }


def test_vendor_status_separates_infrastructure_from_verdicts() -> None:
    assert vendor_status({"passed": 3}) == "ok"
    assert vendor_status({"passed": 3, "broken": 1}) == "degraded"
    assert vendor_status({"broken": 5, "skipped": 2}) == "unreachable"


# --- comparison ---------------------------------------------------------------------------------------------


def _fp(claims=None, responses=None, lifetimes=None, status="ok", tests=None, **extra) -> dict:
    vendor = {
        "spec_hash": "abc",
        "status": status,
        "tests": tests or {"passed": 1},
        "claims": claims or {},
        "responses": responses or {},
        "lifetimes": lifetimes or {},
    }
    return {
        "format": "conformance-fingerprint/1",
        "suite_version": "1",
        "target": "mock",
        "vendors": {"v": vendor},
        **extra,
    }


def _kinds(result: compare.DriftResult) -> list[tuple[str, str, str]]:
    return [(c.kind, c.subject, c.field) for c in result.changes]


@pytest.mark.parametrize(
    ("before", "after", "kind"),
    [
        ("passed", "failed", "new-failure"),
        (None, "failed", "new-failure"),
        ("passed", "warning", "new-failure"),
        ("failed", "passed", "fixed"),
        ("warning", "passed", "fixed"),
        ("failed", "warning", "failure-changed"),
        ("deviation", "deviation-gone", "deviation-gone"),
        ("deviation", "passed", "deviation-gone"),
        ("passed", "deviation", "new-failure"),
        ("failed", "deviation", "now-known-deviation"),
        ("passed", None, "claim-untested"),
        (None, "passed", "claim-newly-tested"),
        ("passed", "broken", None),
        ("broken", "passed", None),
        ("passed", "passed", None),
    ],
)
def test_claim_transitions(before: str | None, after: str | None, kind: str | None) -> None:
    b = _fp(claims={"X-1": before} if before else {})
    a = _fp(claims={"X-1": after} if after else {})
    result = compare.compare(b, a)
    assert [c.kind for c in result.changes] == ([kind] if kind else [])
    assert result.has_drift == (kind in compare.DRIFT_KINDS)


def _resp(schema, heads=None, in_spec=True) -> dict:
    return {
        "operation": "POST /t",
        "status": 200,
        "in_spec": in_spec,
        "observations": 1,
        "schema": schema,
        "headers": heads or {},
    }


def test_shape_changes_are_classified_and_only_the_topmost_field_is_reported() -> None:
    before = shapes.infer({"token": "x", "expires_in": 3600, "user": {"id": "u", "roles": ["a"]}, "opt": 1})
    before = shapes.merge(before, shapes.infer({"token": "x", "expires_in": 3600, "user": {"id": "u", "roles": []}}))
    after = shapes.infer({"token": "x", "expires_in": "3600", "scope": "read", "opt": 1})
    result = compare.compare(
        _fp(responses={"POST /t 200": _resp(before)}), _fp(responses={"POST /t 200": _resp(after)})
    )
    assert _kinds(result) == [
        ("field-added", "POST /t 200", "$.scope"),
        ("field-removed", "POST /t 200", "$.user"),
        ("field-type-changed", "POST /t 200", "$.expires_in"),
        ("field-presence-changed", "POST /t 200", "$.opt"),
    ]
    typed = result.changes[2]
    assert (typed.before, typed.after) == ("integer", "string")


def test_header_lifetime_and_response_changes() -> None:
    b = _fp(
        responses={"GET /r 401": _resp(None, {"www-authenticate": ["bearer (realm)"]}), "GET /r 200": _resp(None)},
        lifetimes={"access": {"advertised": [1800], "jwt_exp_minus_iat": [1800]}},
    )
    a = _fp(
        responses={"GET /r 401": _resp(None, {}), "GET /r 500": _resp(None, in_spec=False)},
        lifetimes={"access": {"advertised": [900]}},
    )
    assert _kinds(compare.compare(b, a)) == [
        ("response-added", "GET /r 500", ""),
        ("response-gone", "GET /r 200", ""),
        ("header-changed", "GET /r 401", "www-authenticate"),
        ("lifetime-changed", "access token", "advertised"),
        ("lifetime-not-observed", "access token", "jwt_exp_minus_iat"),
    ]


def test_infrastructure_never_counts_as_drift() -> None:
    b = _fp(claims={"A": "passed"}, responses={"GET /r 200": _resp(None)}, lifetimes={"access": {"advertised": [1]}})
    unreachable = _fp(status="unreachable", tests={"broken": 4})
    result = compare.compare(b, unreachable)
    assert [c.kind for c in result.changes] == ["vendor-unreachable"]
    assert not result.has_drift and result.unreachable_vendors() == ["v"]
    degraded = _fp(claims={"A": "broken"}, status="degraded", tests={"passed": 1, "broken": 3})
    result = compare.compare(b, degraded)
    assert not result.has_drift, _kinds(result)
    assert {c.kind for c in result.changes} == {"infrastructure", "response-not-observed", "lifetime-not-observed"}


def test_changes_are_ordered_by_vendor_kind_subject_field() -> None:
    b = _fp(claims={"B-1": "passed", "A-1": "failed", "C-1": "passed"})
    a = _fp(claims={"B-1": "failed", "A-1": "passed", "C-1": "failed"}, suite_version="2")
    result = compare.compare(b, a)
    assert _kinds(result) == [
        ("suite-changed", "suite version", ""),
        ("new-failure", "B-1", ""),
        ("new-failure", "C-1", ""),
        ("fixed", "A-1", ""),
    ]
    assert result == compare.compare(b, a)


def test_comparing_different_targets_is_refused() -> None:
    with pytest.raises(compare.CompareError, match="target 'mock'.*'sandbox'"):
        compare.check_comparable(_fp(), _fp(target="sandbox"))


def test_accept_keeps_the_last_good_entry_of_an_unreachable_vendor() -> None:
    old = _fp(claims={"A": "passed"})
    old["vendors"]["w"] = {"status": "ok", "claims": {"W": "passed"}}
    new = _fp(status="unreachable", tests={"broken": 2})
    accepted = compare.accept(old, new)
    assert accepted["vendors"]["v"]["claims"] == {"A": "passed"}
    assert accepted["vendors"]["w"] == {"status": "ok", "claims": {"W": "passed"}}
    # An outage never becomes a vendor's first baseline either.
    assert compare.accept(None, new)["vendors"] == {}


def test_an_incomplete_baseline_never_turns_missing_observations_into_drift() -> None:
    degraded = _fp(claims={"A": "broken"}, status="degraded", tests={"passed": 1, "broken": 1})
    full = _fp(claims={"A": "passed"}, responses={"GET /r 200": _resp(None)}, lifetimes={"access": {"advertised": [1]}})
    result = compare.compare(degraded, full)
    assert not result.has_drift
    assert [c.kind for c in result.changes] == ["response-newly-observed", "lifetime-not-observed"]
    unreachable = _fp(status="unreachable", tests={"broken": 3})
    assert [(c.kind, c.before) for c in compare.compare(unreachable, full).changes] == [
        ("not-compared", "unreachable in the baseline")
    ]


# --- rendering and scrubbing --------------------------------------------------------------------------------


def test_reports_carry_titles_pipes_escaped_and_no_secret() -> None:
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"
    b = _fp(claims={"KLAVI-AUTH-005": "passed"}, responses={"GET /r 401": _resp(None, {"x": ["a | b"]})})
    a = _fp(claims={"KLAVI-AUTH-005": "failed"}, responses={"GET /r 401": _resp(None, {"x": [f"Bearer {jwt}"]})})
    result = compare.compare(b, a)
    md = render.markdown(result, "baseline/fingerprint.json")
    assert md.startswith("# Vendor drift: 2 change(s) in v")
    title = specs.claim_index()["KLAVI-AUTH-005"].title
    assert f"| ❌ new failure | KLAVI-AUTH-005 {title} |  | passed | failed |" in md
    assert "a \\| b" in md
    data = render.to_json(result, "b.json")
    text = md + json.dumps(data)
    assert jwt not in text
    assert data["drift"] is True and data["counts"] == {"new-failure": 1, "header-changed": 1}
    assert [c["kind"] for c in data["changes"]] == ["new-failure", "header-changed"]


def test_scrub_masks_secret_shapes_and_secret_env_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOME_VENDOR_API_KEY", "s3cr3t-value-1234")
    out = scrub({"a": "key is s3cr3t-value-1234", "ks_live_abcdef123": ["eyJhbGciOiJub25lIn0.eyJ4IjoxfQ."]})
    text = json.dumps(out)
    assert "s3cr3t-value-1234" not in text and "ks_live_abcdef123" not in text and "eyJhbGci" not in text
    assert out["a"] == WITHHELD


# --- unreachable state --------------------------------------------------------------------------------------


def test_consecutive_unreachable_runs_alert_once_and_reset_after_an_answer(tmp_path) -> None:
    path = tmp_path / state.FILENAME
    due = []
    for status in ["unreachable", "unreachable", "unreachable", "unreachable", "ok", "unreachable"]:
        s = state.load(path)
        due.append(state.record_run(s, {"v": status}, threshold=3))
        state.save(path, s)
    assert due == [[], [], [("v", 3)], [], [], []]
    assert state.load(path)["vendors"]["v"] == {"alerted": False, "consecutive_unreachable": 1}
