"""Targets and configuration: the built-in mock and sandbox targets, conformance.toml, and their validation."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from conformance import specs
from conformance.failures import SuiteConfigError

DEFAULT_CONFIG = Path("conformance.toml")
TARGET_KEYS = {"request_budget", "retry_budget", "max_retry_wait", "timeout"}
VENDOR_KEYS = {"base_url", "credentials", "verify", "lifetimes", "probe", "request_budget", "timeout"}
BUILTIN_TARGETS = ("mock", "sandbox")


@dataclass
class VendorTarget:
    """Where and how to reach one vendor on one target."""

    vendor: str
    base_url: str
    credentials: dict[str, str]
    verify: bool | str = True
    lifetimes: dict[str, int] = field(default_factory=dict)
    probe: dict[str, str] | None = None
    request_budget: int = 100_000
    retry_budget: int = 40
    max_retry_wait: float = 10.0
    timeout: float = 15.0
    control_url: str | None = None  # only mocks have one

    @property
    def secrets(self) -> list[str]:
        profile = specs.load_profile(self.vendor)
        return [v for k, v in self.credentials.items() if profile["credentials"].get(k, True)]


@dataclass
class Target:
    """A named target: which vendors, where, and whether its clock can be moved."""

    name: str
    vendors: dict[str, VendorTarget]
    movable_clock: bool = False

    @property
    def is_mock(self) -> bool:
        return self.name == "mock"


def _err(path: Path | None, where: str, message: str) -> SuiteConfigError:
    prefix = f"{path}: " if path else ""
    return SuiteConfigError(f"{prefix}{where}: {message}")


def select_vendors(requested: list[str] | None) -> list[str]:
    known = specs.vendors()
    if not requested or requested == ["all"]:
        return known
    chosen: list[str] = []
    for item in requested:
        for name in item.split(","):
            name = name.strip()
            if name == "all":
                chosen.extend(v for v in known if v not in chosen)
            elif name not in known:
                raise SuiteConfigError(f"unknown vendor {name!r}: choose from {', '.join(known)} or all")
            elif name not in chosen:
                chosen.append(name)
    return chosen


def read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise SuiteConfigError(f"{path}: config file not found (pass --config PATH or create it; see README)") from None
    except tomllib.TOMLDecodeError as exc:
        raise SuiteConfigError(f"{path}: not valid TOML: {exc}") from None
    except OSError as exc:
        raise SuiteConfigError(f"{path}: cannot read: {exc.strerror}") from None


def load_remote_target(
    name: str, vendors: list[str], config_path: Path | None, environ: dict[str, str] | None = None
) -> Target:
    """Resolve a non-mock target from conformance.toml (or the built-in sandbox defaults)."""
    env = os.environ if environ is None else environ
    data: dict[str, Any] = {}
    path = config_path
    if path is not None:
        data = read_toml(path)
    elif DEFAULT_CONFIG.exists():
        path = DEFAULT_CONFIG
        data = read_toml(path)
    unknown_top = set(data) - {"targets"}
    if unknown_top:
        raise _err(path, "top level", f"unknown key {sorted(unknown_top)[0]!r} (only [targets.<name>] tables)")
    targets = data.get("targets", {})
    if not isinstance(targets, dict):
        raise _err(path, "targets", "must be a table")
    if name not in targets and name != "sandbox":
        known = ", ".join(["mock", "sandbox", *sorted(t for t in targets if t not in BUILTIN_TARGETS)])
        raise SuiteConfigError(f"unknown target {name!r}: choose from {known}")
    tconf = targets.get(name, {})
    if not isinstance(tconf, dict):
        raise _err(path, f"targets.{name}", "must be a table")
    all_vendors = set(specs.vendors())
    for key in tconf:
        if key not in TARGET_KEYS and key not in all_vendors:
            raise _err(path, f"targets.{name}", f"unknown key or vendor {key!r}")
    resolved = {v: _vendor_target(path, name, v, tconf, env) for v in vendors}
    return Target(name=name, vendors=resolved, movable_clock=False)


def _number(path: Path | None, where: str, value: Any, *, minimum: float = 0, integer: bool = False) -> Any:
    ok = isinstance(value, int) if integer else isinstance(value, int | float)
    if isinstance(value, bool) or not ok or value <= minimum:
        kind = "a whole number" if integer else "a number"
        raise _err(path, where, f"must be {kind} greater than {minimum:g}, got {value!r}")
    return value


def _vendor_target(path: Path | None, tname: str, vendor: str, tconf: dict[str, Any], env: Any) -> VendorTarget:
    profile = specs.load_profile(vendor)
    vconf = tconf.get(vendor, {})
    where = f"targets.{tname}.{vendor}"
    if not isinstance(vconf, dict):
        raise _err(path, where, "must be a table")
    for key in vconf:
        if key not in VENDOR_KEYS:
            raise _err(path, where, f"unknown key {key!r} (allowed: {', '.join(sorted(VENDOR_KEYS))})")
    base_url = vconf.get("base_url", profile["sandbox"]["base_url"] if tname == "sandbox" else None)
    if not base_url:
        why = profile["sandbox"].get("note", "no base_url configured")
        raise _err(path, where, f"base_url is required ({why})")
    parts = urlsplit(str(base_url))
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _err(path, f"{where}.base_url", f"{base_url!r} is not an http(s) URL")
    credentials = _credentials(path, where, vendor, profile, vconf.get("credentials", {}), env)
    verify = vconf.get("verify", True)
    if isinstance(verify, str):
        if not Path(verify).is_file():
            raise _err(path, f"{where}.verify", f"CA bundle {verify!r} not found")
    elif not isinstance(verify, bool):
        raise _err(path, f"{where}.verify", "must be true, false or a path to a CA bundle")
    if verify is False and not (profile.get("tls") or {}).get("verify_off_documented"):
        raise _err(
            path,
            f"{where}.verify",
            f"TLS verification may be turned off only where the vendor documents it; {vendor} does not",
        )
    lifetimes = vconf.get("lifetimes", {})
    if not isinstance(lifetimes, dict) or set(lifetimes) - {"access", "refresh"}:
        raise _err(path, f"{where}.lifetimes", "must be a table with access and/or refresh seconds")
    for k, val in lifetimes.items():
        _number(path, f"{where}.lifetimes.{k}", val, integer=True)
    probe = vconf.get("probe")
    if probe is not None and (
        not isinstance(probe, dict)
        or set(probe) != {"method", "path"}
        or not str(probe.get("path", "")).startswith("/")
    ):
        raise _err(path, f"{where}.probe", 'must be { method = "GET", path = "/..." }')
    budget = vconf.get("request_budget", tconf.get("request_budget", 500))
    return VendorTarget(
        vendor=vendor,
        base_url=str(base_url).rstrip("/"),
        credentials=credentials,
        verify=verify,
        lifetimes=dict(lifetimes),
        probe=probe,
        request_budget=_number(path, f"{where}.request_budget", budget, integer=True),
        retry_budget=_number(
            path, f"targets.{tname}.retry_budget", tconf.get("retry_budget", 20), minimum=-1, integer=True
        ),
        max_retry_wait=_number(path, f"targets.{tname}.max_retry_wait", tconf.get("max_retry_wait", 30)),
        timeout=_number(path, f"{where}.timeout", vconf.get("timeout", tconf.get("timeout", 15))),
    )


def default_env_name(vendor: str, credential: str) -> str:
    return f"{vendor}_{credential}".upper()


def _credentials(
    path: Path | None, where: str, vendor: str, profile: specs.Profile, conf: Any, env: Any
) -> dict[str, str]:
    if not isinstance(conf, dict):
        raise _err(path, f"{where}.credentials", "must be a table")
    names: dict[str, bool] = profile["credentials"]
    for key in conf:
        if key not in names:
            raise _err(path, f"{where}.credentials", f"unknown credential {key!r} (expected: {', '.join(names)})")
    out: dict[str, str] = {}
    for name, secret in names.items():
        ref = conf.get(name, {"env": default_env_name(vendor, name)})
        if isinstance(ref, str):
            if secret:
                raise _err(
                    path,
                    f"{where}.credentials.{name}",
                    f'secrets are never written in the file: use {{ env = "{default_env_name(vendor, name)}" }}',
                )
            value = ref
        elif isinstance(ref, dict) and set(ref) == {"env"} and isinstance(ref["env"], str):
            value = env.get(ref["env"])
            if value is None:
                raise SuiteConfigError(f"{vendor}: environment variable {ref['env']} (credential {name}) is not set")
        else:
            raise _err(path, f"{where}.credentials.{name}", 'must be { env = "VARIABLE" }')
        if not value.strip():
            raise SuiteConfigError(f"{vendor}: credential {name} is empty")
        out[name] = value
    return out
