"""environment.properties and executor.json carry run metadata and never a credential."""

from __future__ import annotations

import json

import pytest

from conformance.report import looks_like_secret, write_environment
from conformance.report.environment import read_properties, sanitize_url

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJjbGllbnQiLCJleHAiOjE3MDAwMDAwMDB9.c2lnbmF0dXJl"
API_KEY = "kS7dQ2xLm9Pz4RtV8wYb3NcJ6hGf1AeU"


def test_metadata_is_written_and_credentials_are_withheld(tmp_path, monkeypatch):
    monkeypatch.setenv("KLAVI_CLIENT_SECRET", "s3cr3t-value-from-ci")
    monkeypatch.setenv("CONFORMANCE_JOB", "nightly-eu")
    with pytest.warns(UserWarning, match="withheld"):
        props = write_environment(
            tmp_path,
            target=f"sandbox {JWT}",
            vendors=["klavi", "opsnow", "klearstack"],
            base_urls={
                "klavi": "https://client:hunter2@sandbox.klavi.example/api?access_token=abc123&x=1#frag",
                "opsnow": "https://api.opsnow.example/v1/s3cr3t-value-from-ci",
                "klearstack": f"https://api.klearstack.example/hooks/{API_KEY}",
            },
            suite_version="0.1.0",
            spec_hashes={"klavi": "sha256:" + "0f" * 32, "opsnow": API_KEY},
        )
    text = (tmp_path / "environment.properties").read_text(encoding="utf-8")
    for secret in ("hunter2", "client:", "abc123", "access_token", "frag", JWT, "s3cr3t", API_KEY):
        assert secret not in text
    assert props["base_url.klavi"] == "https://sandbox.klavi.example/api"
    assert props["spec_hash.klavi"] == "sha256:" + "0f" * 32
    assert props["target"].startswith("[withheld")
    assert props["spec_hash.opsnow"].startswith("[withheld")
    assert props["vendors"] == "klavi, opsnow, klearstack"
    assert props["job"] == "nightly-eu"
    assert read_properties(tmp_path / "environment.properties") == props
    executor = json.loads((tmp_path / "executor.json").read_text())
    assert executor["buildName"].endswith("nightly-eu")
    assert "s3cr3t" not in json.dumps(executor)


def test_plain_metadata_passes_unchanged(tmp_path, monkeypatch):
    monkeypatch.delenv("CONFORMANCE_JOB", raising=False)
    props = write_environment(
        tmp_path,
        target="mock",
        vendors=["klavi"],
        base_urls={"klavi": "https://127.0.0.1:8443/"},
        suite_version="0.1.0",
        spec_hashes={"klavi": "9" * 64},
    )
    assert props["target"] == "mock"
    assert props["base_url.klavi"] == "https://127.0.0.1:8443/"
    assert "job" not in props


@pytest.mark.parametrize(
    "value",
    [JWT, f"Bearer {API_KEY[:20]}", "password=hunter2", "ghp_" + "a1B2" * 9, "AKIAABCDEFGHIJKLMNOP", API_KEY],
)
def test_credential_shapes_are_recognised(value):
    assert looks_like_secret(value)


@pytest.mark.parametrize(
    "value",
    ["mock", "sandbox", "0.1.0", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
     "123e4567-e89b-12d3-a456-426614174000", "https://api.knowledgestack.example/v1/OpenBankingAccounts/list"],
)  # fmt: skip
def test_ordinary_values_are_not_mistaken_for_credentials(value):
    assert not looks_like_secret(value)


def test_sanitize_url_keeps_ipv6_and_port():
    assert sanitize_url("https://u:p@[::1]:8443/x?y=1") == "https://[::1]:8443/x"
