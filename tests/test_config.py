"""Configuration and targets: every kind of bad input gives one actionable line and exit code 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance import config
from conformance.cli import main
from conformance.failures import SuiteConfigError

GOOD = """
[targets.staging]
request_budget = 200

[targets.staging.klavi]
base_url = "https://klavi.example"
credentials = { access_key = { env = "K_ACCESS" }, secret_key = { env = "K_SECRET" } }
lifetimes = { access = 60 }
probe = { method = "GET", path = "/monitor/v1/reports" }
"""
ENV = {"K_ACCESS": "ak-123456", "K_SECRET": "sk-abcdef"}


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "conformance.toml"
    p.write_text(text, encoding="utf-8")
    return p


def test_good_config_resolves(tmp_path: Path) -> None:
    target = config.load_remote_target("staging", ["klavi"], write(tmp_path, GOOD), ENV)
    vt = target.vendors["klavi"]
    assert vt.base_url == "https://klavi.example"
    assert vt.credentials == {"access_key": "ak-123456", "secret_key": "sk-abcdef"}
    assert vt.lifetimes == {"access": 60} and vt.request_budget == 200 and vt.verify is True
    assert vt.secrets == ["sk-abcdef"]
    assert not target.movable_clock


def test_builtin_sandbox_uses_documented_urls_and_default_env_names() -> None:
    env = {"OPSNOW_API_KEY": "key-0001"}
    target = config.load_remote_target("sandbox", ["opsnow"], None, env)
    assert target.vendors["opsnow"].base_url == "https://api.opsnow360.io"
    assert target.vendors["opsnow"].credentials == {"api_key": "key-0001"}


BAD = [
    ("missing-file", None, "config file not found"),
    ("toml-syntax", "[targets.staging\n", "not valid TOML"),
    ("unknown-top-key", "colour = 1\n", "unknown key 'colour'"),
    ("unknown-target-key", "[targets.staging]\nbudgett = 3\n", "unknown key or vendor 'budgett'"),
    ("unknown-vendor-key", GOOD.replace("lifetimes", "lifetimez"), "unknown key 'lifetimez'"),
    (
        "inline-secret",
        GOOD.replace('secret_key = { env = "K_SECRET" }', 'secret_key = "hunter2"'),
        "never written in the file",
    ),
    ("unknown-credential", GOOD.replace("access_key =", "acess_key ="), "unknown credential 'acess_key'"),
    ("missing-env", GOOD.replace("K_SECRET", "K_NOT_SET"), "environment variable K_NOT_SET"),
    ("bad-url", GOOD.replace("https://klavi.example", "klavi.example"), "is not an http(s) URL"),
    ("negative-lifetime", GOOD.replace("access = 60", "access = -5"), "greater than 0"),
    ("lifetime-not-number", GOOD.replace("access = 60", 'access = "1h"'), "whole number"),
    ("bad-probe", GOOD.replace('path = "/monitor/v1/reports"', 'path = "reports"'), "probe"),
    (
        "verify-off-undocumented",
        GOOD.replace("lifetimes =", "verify = false\nlifetimes ="),
        "only where the vendor documents",
    ),
    ("missing-ca-bundle", GOOD.replace("lifetimes =", 'verify = "no/such/ca.pem"\nlifetimes ='), "CA bundle"),
    ("bad-budget", GOOD.replace("request_budget = 200", "request_budget = 0"), "greater than 0"),
    ("unknown-target", GOOD, "unknown target 'prod'"),
    ("targets-not-table", "targets = 3\n", "must be a table"),
]


@pytest.mark.parametrize("case,text,message", BAD, ids=[b[0] for b in BAD])
def test_bad_config_is_one_line(tmp_path: Path, case: str, text: str | None, message: str) -> None:
    path = tmp_path / "absent.toml" if text is None else write(tmp_path, text)
    name = "prod" if case == "unknown-target" else "staging"
    with pytest.raises(SuiteConfigError) as exc:
        config.load_remote_target(name, ["klavi"], path, ENV)
    assert message in str(exc.value)
    assert "\n" not in str(exc.value)


def test_empty_credential_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(SuiteConfigError, match="credential secret_key is empty"):
        config.load_remote_target("staging", ["klavi"], write(tmp_path, GOOD), {**ENV, "K_SECRET": "  "})


def test_sandbox_without_documented_host_names_the_fix() -> None:
    with pytest.raises(SuiteConfigError, match="base_url is required .*conformance.toml"):
        config.load_remote_target(
            "sandbox", ["klearstack"], None, {"KLEARSTACK_USERNAME": "u", "KLEARSTACK_PASSWORD": "p"}
        )


@pytest.mark.parametrize(
    "argv,message",
    [
        (["run", "--vendor", "acme"], "unknown vendor 'acme'"),
        (["run", "--mock-fault", "no-such-fault"], "unknown fault 'no-such-fault'"),
        (["run", "--mock-lifetime", "-3"], "--mock-lifetime must be a positive"),
        (
            ["run", "--target", "sandbox", "--vendor", "opsnow", "--mock-fault", "never-expire"],
            "apply only to --target mock",
        ),
        (["run", "--target", "sandbox", "--vendor", "opsnow"], "environment variable OPSNOW_API_KEY"),
        (["run", "--config", "does-not-exist.toml", "--target", "x"], "config file not found"),
    ],
)
def test_cli_usage_errors_exit_2_with_one_line(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("OPSNOW_API_KEY", raising=False)
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1 and "Traceback" not in err


def test_vendor_selection() -> None:
    assert config.select_vendors(["klavi,opsnow"]) == ["klavi", "opsnow"]
    assert (
        config.select_vendors([])
        == config.select_vendors(["all"])
        == ["klavi", "klearstack", "knowledgestack", "opsnow"]
    )
