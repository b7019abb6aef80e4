"""Targets and configuration: the built-in mock and sandbox targets, conformance.toml, and their validation."""

from __future__ import annotations

import copy
import functools
import math
import os
import ssl
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema

from conformance import specs
from conformance.failures import SuiteConfigError
from conformance.redact import Secret

DEFAULT_CONFIG = Path("conformance.toml")
BUILTIN_TARGETS = ("mock", "sandbox")


def _schema_default(name: str) -> Any:
    return specs._schema("config")["$defs"][name]["default"]


@dataclass
class VendorTarget:
    """Where and how to reach one vendor on one target, and the limits every request to it obeys."""

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
    deadline: float = field(default_factory=lambda: float(_schema_default("deadline")))
    max_response_bytes: int = field(default_factory=lambda: int(_schema_default("max_response_bytes")))
    max_real_wait: float = field(default_factory=lambda: float(_schema_default("max_real_wait")))
    # Where each credential came from ("environment variable X", "conformance.toml"), for messages that tell the
    # user what to check; empty on mocks.
    credential_sources: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Secret credentials travel as Secret: a traceback's arguments and locals show them as [REDACTED].
        profile = specs.load_profile(self.vendor)
        self.credentials = {
            k: Secret(v) if profile["credentials"].get(k, True) and isinstance(v, str) else v
            for k, v in self.credentials.items()
        }

    @property
    def secrets(self) -> list[str]:
        return [v for v in self.credentials.values() if isinstance(v, Secret)]


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
    except IsADirectoryError:
        raise SuiteConfigError(f"{path}: is a folder, not a config file") from None
    except tomllib.TOMLDecodeError as exc:
        raise SuiteConfigError(f"{path}: not valid TOML: {exc}") from None
    except RecursionError:
        raise SuiteConfigError(f"{path}: not valid TOML: arrays or tables nested too deeply") from None
    except UnicodeDecodeError:
        raise SuiteConfigError(f"{path}: not valid TOML: the file is not UTF-8 text") from None
    except OSError as exc:
        raise SuiteConfigError(f"{path}: cannot read: {exc.strerror}") from None


def _is_finite_number(checker: Any, instance: Any) -> bool:
    # TOML has nan and inf; JSON Schema's bounds do not catch nan (every comparison with it is false).
    return isinstance(instance, int | float) and not isinstance(instance, bool) and math.isfinite(instance)


_TYPES = jsonschema.Draft202012Validator.TYPE_CHECKER.redefine("number", _is_finite_number)
_Validator = jsonschema.validators.extend(jsonschema.Draft202012Validator, type_checker=_TYPES)


@functools.cache
def _validator() -> Any:
    """The config schema, with the vendor names of specs/ allowed as keys of a target table."""
    schema = copy.deepcopy(specs._schema("config"))
    target = schema["$defs"]["target"]
    keys = sorted(target["properties"])
    target["propertyNames"] = {
        "enum": [*keys, *specs.vendors()],
        "x-error": f"unknown key or vendor {{key}} (keys: {', '.join(keys)}; vendors: {', '.join(specs.vendors())})",
    }
    _Validator.check_schema(schema)
    return _Validator(schema)


def _message(error: jsonschema.ValidationError) -> tuple[str, str]:
    """Where (a dotted key path) and what, in words from the schema; only numbers are ever echoed back."""
    where = ".".join(str(p) for p in error.absolute_path) or "top level"
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = sorted(error.schema.get("properties", {}))
        extra = sorted(k for k in error.instance if k not in allowed)
        also = f" (allowed: {', '.join(allowed)})" if allowed else ""
        return where, f"unknown key {extra[0]!r}{also}"
    if error.validator == "required" and error.validator_value:
        missing = [k for k in error.validator_value if k not in (error.instance or {})]
        if missing and "x-error" not in error.schema:
            return where, f"{missing[0]} is required"
    text = error.schema.get("x-error") or error.message.split("\n")[0][:200]
    if "propertyNames" in error.schema_path:
        return where, text.replace("{key}", repr(str(error.instance)[:60]))
    value = error.instance
    # Only values the schema wants as numbers are echoed: anything else may be a secret written in the wrong place.
    if error.schema.get("type") in ("number", "integer") and isinstance(value, int | float) and value is not True:
        text += f", got {value!r}"
    return where, text


def validate(data: dict[str, Any], path: Path | None) -> None:
    """Check a whole config file against specs/schemas/config.schema.json; the first error as one line."""
    error = jsonschema.exceptions.best_match(_validator().iter_errors(data))
    if error is not None:
        where, message = _message(error)
        raise _err(path, where, message)


# Command-line options that override a config key for every vendor of the run: option -> key of the schema.
LIMIT_OPTIONS = {
    "--request-deadline": "deadline",
    "--max-response-bytes": "max_response_bytes",
    "--max-real-wait": "max_real_wait",
}


def check_option(option: str, value: Any) -> Any:
    """An option's value checked against the same schema entry as its config key (None: not given)."""
    if value is None:
        return None
    key = LIMIT_OPTIONS[option]
    sub = _Validator(specs._schema("config")["$defs"][key])
    error = jsonschema.exceptions.best_match(sub.iter_errors(value))
    if error is not None:
        raise SuiteConfigError(f"{option}: {error.schema.get('x-error', error.message)}, got {value!r}")
    return value


def apply_options(target: Target, options: dict[str, Any]) -> Target:
    """Limits given on the command line replace the configured ones for every vendor."""
    for option, value in options.items():
        if check_option(option, value) is not None:
            for vt in target.vendors.values():
                setattr(vt, LIMIT_OPTIONS[option], value)
    return target


def load_config(path: Path | None) -> tuple[dict[str, Any], Path | None]:
    """The validated config (the named file, else ./conformance.toml if present, else none) and its path."""
    if path is None and DEFAULT_CONFIG.exists():
        path = DEFAULT_CONFIG
    if path is None:
        return {}, None
    data = read_toml(path)
    validate(data, path)
    return data, path


def load_remote_target(
    name: str, vendors: list[str], config_path: Path | None, environ: dict[str, str] | None = None
) -> Target:
    """Resolve a non-mock target from conformance.toml (or the built-in sandbox defaults)."""
    env = os.environ if environ is None else environ
    data, path = load_config(config_path)
    targets = data.get("targets", {})
    if name not in targets and name != "sandbox":
        known = ", ".join(["mock", "sandbox", *sorted(t for t in targets if t not in BUILTIN_TARGETS)])
        raise SuiteConfigError(f"unknown target {name!r}: choose from {known}")
    tconf = targets.get(name, {})
    resolved = {v: _vendor_target(path, name, v, tconf, env) for v in vendors}
    return Target(name=name, vendors=resolved, movable_clock=False)


def _setting(key: str, vconf: dict[str, Any], tconf: dict[str, Any]) -> Any:
    """A vendor's value, else the target's, else the schema's default."""
    return vconf.get(key, tconf.get(key, _schema_default(key)))


def _vendor_target(path: Path | None, tname: str, vendor: str, tconf: dict[str, Any], env: Any) -> VendorTarget:
    profile = specs.load_profile(vendor)
    vconf = tconf.get(vendor, {})
    where = f"targets.{tname}.{vendor}"
    base_url = vconf.get("base_url", profile["sandbox"]["base_url"] if tname == "sandbox" else None)
    if not base_url:
        why = profile["sandbox"].get("note", "no base_url configured")
        raise _err(path, where, f"base_url is required ({why})")
    credentials = _credentials(path, where, vendor, profile, vconf.get("credentials", {}), env)
    verify = vconf.get("verify", True)
    if isinstance(verify, str):
        _check_ca_bundle(path, f"{where}.verify", verify)
    if verify is False and not (profile.get("tls") or {}).get("verify_off_documented"):
        raise _err(
            path,
            f"{where}.verify",
            f"TLS verification may be turned off only where the vendor documents it; {vendor} does not",
        )
    return VendorTarget(
        vendor=vendor,
        base_url=str(base_url).rstrip("/"),
        credentials=credentials,
        verify=verify,
        lifetimes=dict(vconf.get("lifetimes", {})),
        probe=vconf.get("probe"),
        request_budget=_setting("request_budget", vconf, tconf),
        retry_budget=_setting("retry_budget", {}, tconf),
        max_retry_wait=float(_setting("max_retry_wait", {}, tconf)),
        timeout=float(_setting("timeout", vconf, tconf)),
        deadline=float(_setting("deadline", vconf, tconf)),
        max_response_bytes=_setting("max_response_bytes", vconf, tconf),
        max_real_wait=float(_setting("max_real_wait", {}, tconf)),
        credential_sources=_credential_sources(vendor, profile, vconf.get("credentials", {})),
    )


def _credential_sources(vendor: str, profile: specs.Profile, conf: dict[str, Any]) -> dict[str, str]:
    """Per credential, the environment variable it was read from, or the config file for inline values."""
    out = {}
    for name in profile["credentials"]:
        ref = conf.get(name, {"env": default_env_name(vendor, name)})
        out[name] = ref["env"] if isinstance(ref, dict) else f"credentials.{name} in the config file"
    return out


def _check_ca_bundle(path: Path | None, where: str, bundle: str) -> None:
    """A CA bundle that does not load is a configuration error, not a TLS failure of every request later."""
    if not Path(bundle).is_file():
        raise _err(path, where, f"CA bundle {bundle!r} not found")
    try:
        ssl.create_default_context(cafile=bundle)
    except (ssl.SSLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or type(exc).__name__
        why = f"{bundle!r} is not a loadable CA bundle (PEM certificates expected; {reason})"
        raise _err(path, where, why) from None


def default_env_name(vendor: str, credential: str) -> str:
    return f"{vendor}_{credential}".upper()


def _credentials(
    path: Path | None, where: str, vendor: str, profile: specs.Profile, conf: Any, env: Any
) -> dict[str, str]:
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
        else:  # { env = "VARIABLE" }, as the schema requires
            value = env.get(ref["env"])
            if value is None:
                raise SuiteConfigError(f"{vendor}: environment variable {ref['env']} (credential {name}) is not set")
        if not value.strip():
            raise SuiteConfigError(f"{vendor}: credential {name} is empty")
        out[name] = value
    return out
