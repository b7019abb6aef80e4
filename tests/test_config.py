"""Configuration and targets: every kind of bad input gives one actionable line and exit code 2."""

from __future__ import annotations

import json
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
    ("bad-url", GOOD.replace("https://klavi.example", "klavi.example"), "base_url: is not an http(s) URL"),
    ("timeout-nan", GOOD.replace("lifetimes =", "timeout = nan\nlifetimes ="), "klavi.timeout: must be a finite"),
    ("timeout-inf", GOOD.replace("lifetimes =", "timeout = inf\nlifetimes ="), "klavi.timeout: must be a finite"),
    ("timeout-absurd", GOOD.replace("request_budget = 200", "timeout = 1e300"), "staging.timeout: must be a finite"),
    ("retry-wait-nan", GOOD.replace("request_budget = 200", "max_retry_wait = nan"), "max_retry_wait: must"),
    ("deadline-inf", GOOD.replace("request_budget = 200", "deadline = inf"), "staging.deadline: must be a finite"),
    ("response-cap-zero", GOOD.replace("request_budget = 200", "max_response_bytes = 0"), "max_response_bytes: must"),
    ("real-wait-nan", GOOD.replace("request_budget = 200", "max_real_wait = -nan"), "max_real_wait: must be a finite"),
    ("budget-absurd", GOOD.replace("request_budget = 200", "request_budget = 10_000_000_000_000"), "between 1 and"),
    ("lifetime-absurd", GOOD.replace("access = 60", "access = 315360000"), "lifetimes.access: must be a whole number"),
    ("probe-method-unknown", GOOD.replace('method = "GET"', 'method = "FETCH"'), "probe.method: must be one of GET"),
    ("probe-method-lower", GOOD.replace('method = "GET"', 'method = "get"'), "probe.method: must be one of GET"),
    ("probe-extra-key", GOOD.replace('method = "GET",', 'method = "GET", body = "x",'), "probe: unknown key 'body'"),
    ("nested-deeply", "[targets.staging]\nx = " + "[" * 3000 + "]" * 3000 + "\n", "nested too deeply"),
    ("nested-table", GOOD.replace("lifetimes = { access = 60 }", "lifetimes = { access = { a = {} } }"), "access"),
    ("credential-not-ref", GOOD.replace('{ env = "K_SECRET" }', '{ value = "K_SECRET" }'), "secret_key: must be { env"),
    ("negative-lifetime", GOOD.replace("access = 60", "access = -5"), "between 1 and"),
    ("lifetime-not-number", GOOD.replace("access = 60", 'access = "1h"'), "whole number"),
    ("bad-probe", GOOD.replace('path = "/monitor/v1/reports"', 'path = "reports"'), "probe"),
    (
        "verify-off-undocumented",
        GOOD.replace("lifetimes =", "verify = false\nlifetimes ="),
        "only where the vendor documents",
    ),
    ("missing-ca-bundle", GOOD.replace("lifetimes =", 'verify = "no/such/ca.pem"\nlifetimes ='), "CA bundle"),
    ("ca-bundle-not-pem", GOOD.replace("lifetimes =", 'verify = "NOT_PEM"\nlifetimes ='), "not a loadable CA bundle"),
    ("bad-budget", GOOD.replace("request_budget = 200", "request_budget = 0"), "between 1 and"),
    ("unknown-target", GOOD, "unknown target 'prod'"),
    ("targets-not-table", "targets = 3\n", "must be a table"),
]


@pytest.mark.parametrize("case,text,message", BAD, ids=[b[0] for b in BAD])
def test_bad_config_is_one_line(tmp_path: Path, case: str, text: str | None, message: str) -> None:
    if text is not None and "NOT_PEM" in text:
        (tmp_path / "junk.pem").write_text("this is not a certificate\n", encoding="utf-8")
        text = text.replace("NOT_PEM", str(tmp_path / "junk.pem"))
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
        (["run", "--config", "does-not-exist.toml"], "config file not found"),
        (["run", "--config", "does-not-exist.toml", "--target", "mock", "--vendor", "klavi"], "config file not found"),
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


@pytest.mark.parametrize(
    "url",
    [
        "https://svc:canary-pw-5150@127.0.0.1:9",
        "https://svc:canary-pw-5150@127.0.0.1:9/base",
        "https://canary-pw-5150@127.0.0.1:9",
        "https://svc:canary%2Dpw-5150@127.0.0.1:9",
        "https://127.0.0.1:9/?token=canary-pw-5150",
    ],
)
def test_user_info_in_base_url_is_exit_2_and_never_printed(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A password in base_url would ride in every attachment and replace the Bearer token with Basic auth."""
    monkeypatch.setenv("K_ACCESS", "ak-123456")
    monkeypatch.setenv("K_SECRET", "sk-abcdef")
    path = write(tmp_path, GOOD.replace("https://klavi.example", url))
    assert main(["run", "--target", "staging", "--vendor", "klavi", "--config", str(path), "--no-html"]) == 2
    out = capsys.readouterr()
    assert "base_url: is not an http(s) URL" in out.err and len(out.err.strip().splitlines()) == 1
    assert "canary" not in out.err + out.out and "5150" not in out.err + out.out


def test_ca_bundle_that_does_not_load_is_exit_2_not_3(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("K_ACCESS", "ak-123456")
    monkeypatch.setenv("K_SECRET", "sk-abcdef")
    junk = tmp_path / "ca.pem"
    junk.write_bytes(b"-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n")
    path = write(tmp_path, GOOD.replace("lifetimes =", f'verify = "{junk}"\nlifetimes ='))
    assert main(["run", "--target", "staging", "--vendor", "klavi", "--config", str(path), "--no-html"]) == 2
    err = capsys.readouterr().err.strip()
    assert "targets.staging.klavi.verify" in err and "not a loadable CA bundle" in err and len(err.splitlines()) == 1


def test_a_real_ca_bundle_loads(tmp_path: Path) -> None:
    import trustme

    bundle = tmp_path / "ca.pem"
    trustme.CA().cert_pem.write_to_path(str(bundle))
    target = config.load_remote_target(
        "staging", ["klavi"], write(tmp_path, GOOD.replace("lifetimes =", f'verify = "{bundle}"\nlifetimes =')), ENV
    )
    assert target.vendors["klavi"].verify == str(bundle)


def test_deeply_nested_toml_is_one_line_on_the_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    path = write(tmp_path, "[targets.staging]\nx = " + "{a = " * 5000 + "1" + "}" * 5000 + "\n")
    assert main(["run", "--config", str(path), "--vendor", "klavi"]) == 2
    err = capsys.readouterr().err.strip()
    assert "nested too deeply" in err and len(err.splitlines()) == 1 and "Traceback" not in err


def test_limits_resolve_vendor_over_target_over_schema_default(tmp_path: Path) -> None:
    text = GOOD.replace("request_budget = 200", "request_budget = 200\ndeadline = 20\nmax_real_wait = 90")
    text = text.replace("lifetimes =", "max_response_bytes = 65536\ntimeout = 2.5\nlifetimes =")
    vt = config.load_remote_target("staging", ["klavi"], write(tmp_path, text), ENV).vendors["klavi"]
    assert (vt.deadline, vt.max_response_bytes, vt.timeout, vt.max_real_wait) == (20.0, 65536, 2.5, 90.0)
    default = config.load_remote_target("staging", ["klavi"], write(tmp_path, GOOD), ENV).vendors["klavi"]
    assert (default.deadline, default.max_response_bytes, default.timeout) == (60.0, 4 * 1024 * 1024, 15.0)


def test_every_schema_key_is_documented_in_the_readme() -> None:
    """The README's configuration table is written from the schema: a key missing there is undocumented."""
    schema = json.loads((config.specs.SPECS_DIR / "schemas" / "config.schema.json").read_text(encoding="utf-8"))
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    keys = [*schema["$defs"]["target"]["properties"], *schema["$defs"]["vendor"]["properties"]]
    assert [k for k in keys if f"`{k}`" not in readme] == []
