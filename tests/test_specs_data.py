"""Lint of the data under specs/: schemas, unique IDs, verbatim quotes, and claims traceable to checks and tests."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from conformance import specs
from conformance.checks import CHECKS
from conformance.contract.budgets import RESPONSE_CHECKS, STATEFUL_CHECKS

ROOT = Path(__file__).resolve().parents[1]
VENDORS = specs.vendors()
CLAIM_FILES = [specs.RFC, *VENDORS]


def test_every_vendor_folder_is_complete() -> None:
    assert VENDORS == ["klavi", "klearstack", "knowledgestack", "opsnow"]
    for v in VENDORS:
        for name in ("openapi.yaml", "claims.yaml", "profile.yaml"):
            assert (specs.SPECS_DIR / v / name).is_file(), f"specs/{v}/{name} missing"


@pytest.mark.parametrize("vendor", CLAIM_FILES)
def test_claims_validate_against_schema(vendor: str) -> None:
    data = yaml.safe_load((specs.SPECS_DIR / vendor / "claims.yaml").read_text(encoding="utf-8"))
    jsonschema.validate(data, json.loads((specs.SPECS_DIR / "schemas" / "claims.schema.json").read_text()))
    assert data["vendor"] == vendor


@pytest.mark.parametrize("vendor", VENDORS)
def test_profile_validates_and_matches_spec(vendor: str) -> None:
    profile = specs.load_profile(vendor)
    api = specs.load_openapi(vendor)
    ops = [("issue", profile["issue"]), ("probe", profile["probe"])]
    ops += [(k, profile[k]) for k in ("refresh", "signout", "sso", "forbidden") if profile.get(k)]
    if profile.get("keys"):
        ops += [(f"keys.{k}", profile["keys"][k]) for k in ("create", "list", "delete")]
    for label, op in ops:
        path = op["path"].replace("{id}", "{api_key_id}")
        assert path in api["paths"], f"{vendor} profile {label}: {op['path']} is not in openapi.yaml"
        assert op["method"].lower() in api["paths"][path], (
            f"{vendor} profile {label}: {op['method']} {path} undocumented"
        )
    for cap in profile["capabilities"]:
        assert any(c.capability == cap for c in specs.load_claims(vendor)) or cap in ("robustness", "json_body", "tls")


def test_a_broken_profile_is_reported_with_its_location(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "schemas").mkdir()
    for f in (specs.SPECS_DIR / "schemas").glob("*.json"):
        (tmp_path / "schemas" / f.name).write_text(f.read_text())
    (tmp_path / "acme").mkdir()
    (tmp_path / "acme" / "profile.yaml").write_text("vendor: acme\ntitle: Acme\ncapabilities: [teleport]\n")
    monkeypatch.setattr(specs, "SPECS_DIR", tmp_path)
    specs.load_profile.cache_clear()
    try:
        with pytest.raises(specs.SpecError, match="acme/profile.yaml at"):
            specs.load_profile("acme")
        (tmp_path / "acme" / "profile.yaml").write_text("vendor: [unclosed\n")
        specs.load_profile.cache_clear()
        with pytest.raises(specs.SpecError, match="not valid YAML"):
            specs.load_profile("acme")
    finally:
        specs.load_profile.cache_clear()


def test_claim_ids_are_unique_across_all_files() -> None:
    ids = [c.id for v in CLAIM_FILES for c in specs.load_claims(v)]
    dupes = {i for i in ids if ids.count(i) > 1}
    assert not dupes, f"duplicate claim IDs: {sorted(dupes)}"


@pytest.mark.parametrize("vendor", VENDORS)
def test_vendor_claim_ids_carry_the_vendor_prefix(vendor: str) -> None:
    prefix = {"knowledgestack": "KSTACK"}.get(vendor, vendor.upper())
    for c in specs.load_claims(vendor):
        assert c.id.startswith(prefix + "-"), c.id


@pytest.mark.parametrize("vendor", VENDORS)
def test_every_quote_appears_verbatim_in_the_vendor_doc(vendor: str, vendor_docs: Path) -> None:
    doc = specs.normalise_doc_text((vendor_docs / f"{vendor}.txt").read_text(encoding="utf-8"))
    missing = [c.id for c in specs.load_claims(vendor) if c.quote not in doc]
    missing += [
        f"not_testable: {n['quote'][:40]}"
        for n in specs.not_testable(vendor)
        if " ".join(n["quote"].split()) not in doc
    ]
    assert not missing, f"quotes not found verbatim in {vendor}.txt: {missing}"


def test_quote_check_can_fail(vendor_docs: Path) -> None:
    doc = specs.normalise_doc_text((vendor_docs / "klavi.txt").read_text(encoding="utf-8"))
    assert '"expirein" 1800' in doc
    assert '"expirein" 3600' not in doc


def test_doc_text_normalisation() -> None:
    assert specs.normalise_doc_text('get\\_access\\_token   and\n\\\\"x\\\\"\\n y') == 'get_access_token and "x" y'


@pytest.mark.parametrize("vendor", VENDORS)
def test_every_doc_sentence_is_a_claim_or_a_note(vendor: str, vendor_docs: Path) -> None:
    """Each prose sentence of the doc is covered by a claim quote or a not-testable note (or is boilerplate)."""
    text = (vendor_docs / f"{vendor}.txt").read_text(encoding="utf-8").split("# Agent Instructions")[0]
    covered = " ".join([c.quote for c in specs.load_claims(vendor)] + [n["quote"] for n in specs.not_testable(vendor)])
    covered = specs.normalise_doc_text(covered)
    # Only English prose sentences: code, tables and widget fields are reached through the quotes above.
    sentences = [
        s.strip()
        for line in specs.normalise_doc_text(text).split(". ")
        for s in [line]
        if len(s.split()) >= 6 and not any(ch in s for ch in "{}|`\\") and s[:1].isupper()
    ]
    uncovered = [s for s in sentences if not any(part in covered for part in _fragments(s))]
    assert not uncovered, f"{vendor}: sentences with no claim or note: {uncovered}"


def _fragments(sentence: str) -> list[str]:
    words = sentence.split()
    return [" ".join(words[i : i + 5]) for i in range(0, max(1, len(words) - 4), 3)]


@pytest.mark.parametrize("vendor", CLAIM_FILES)
def test_every_claim_names_existing_checks(vendor: str) -> None:
    for c in specs.load_claims(vendor):
        unknown = [ch for ch in c.checks if ch not in CHECKS and ch not in CONTRACT_CHECKS]
        assert not unknown, f"{c.id} names unknown checks {unknown}"


def test_every_check_is_used_by_a_scenario_and_verifies_a_claim() -> None:
    used_in_code = _check_names_in_scenarios() | {ch for row in specs.authorization_matrix() for ch in row["checks"]}
    claimed = {ch for v in CLAIM_FILES for c in specs.load_claims(v) for ch in c.checks}
    assert set(CHECKS) - used_in_code == set(), f"checks no scenario runs: {sorted(set(CHECKS) - used_in_code)}"
    assert set(CHECKS) - claimed == set(), f"checks verifying no claim: {sorted(set(CHECKS) - claimed)}"


def test_every_claim_has_a_test() -> None:
    """A claim is covered when at least one of its checks is run by a scenario or the contract part."""
    run = _check_names_in_scenarios() | {ch for row in specs.authorization_matrix() for ch in row["checks"]}
    run |= set(CONTRACT_CHECKS)
    orphans = [c.id for v in CLAIM_FILES for c in specs.load_claims(v) if not set(c.checks) & run]
    assert not orphans, f"claims with no test: {orphans}"


# The contract part's (Schemathesis) checks: a claim may name them (the spec-shape claim does).
CONTRACT_CHECKS = (*RESPONSE_CHECKS, *STATEFUL_CHECKS)


def _check_names_in_scenarios() -> set[str]:
    """Check names the scenario modules mention as string literals (calls, parameter tables)."""
    names: set[str] = set()
    for path in [*(ROOT / "conformance" / "scenarios").glob("test_*.py"), ROOT / "conformance" / "session.py"]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in CHECKS:
                names.add(node.value)
    return names


def test_assumed_claims_say_how_the_suite_reads_them() -> None:
    for v in CLAIM_FILES:
        for c in specs.load_claims(v):
            if c.kind == "assumed":
                assert c.reading, f"{c.id} is assumed but gives no reading"


def test_authorization_matrix_has_the_required_variants() -> None:
    rows = {r["id"]: r for r in specs.authorization_matrix()}
    assert len(rows) >= 20
    for needed in (
        "missing",
        "empty",
        "scheme-alone",
        "basic-scheme",
        "lowercase-scheme",
        "uppercase-scheme",
        "several-spaces",
        "tab-separator",
        "two-tokens",
        "two-headers",
        "truncated",
        "oversized",
        "non-ascii",
        "bare-cr",
        "foreign-jwt",
        "expired",
        "revoked",
    ):
        assert needed in rows, needed
    for r in rows.values():
        assert all(ch in CHECKS for ch in r["checks"]), r["id"]
        assert ("header" in r) != ("headers" in r), f"{r['id']}: exactly one of header/headers"


class _StrictLoader(yaml.SafeLoader):
    """Refuses duplicate mapping keys, which plain YAML loading silently collapses."""


def _no_duplicates(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    keys = [loader.construct_object(k, deep=deep) for k, _ in node.value]
    dupes = {k for k in keys if keys.count(k) > 1}
    if dupes:
        raise yaml.constructor.ConstructorError(
            None, None, f"duplicate keys {sorted(map(str, dupes))}", node.start_mark
        )
    return yaml.SafeLoader.construct_mapping(loader, node, deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _no_duplicates)


@pytest.mark.parametrize(
    "path", sorted(p.relative_to(specs.SPECS_DIR).as_posix() for p in specs.SPECS_DIR.rglob("*.yaml"))
)
def test_no_duplicate_keys_in_spec_data(path: str) -> None:
    yaml.load((specs.SPECS_DIR / path).read_text(encoding="utf-8"), Loader=_StrictLoader)  # noqa: S506


def test_duplicate_key_check_can_fail() -> None:
    with pytest.raises(yaml.constructor.ConstructorError, match="duplicate keys"):
        yaml.load("a: 1\na: 2\n", Loader=_StrictLoader)  # noqa: S506
