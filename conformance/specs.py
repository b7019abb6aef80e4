"""Loading and validating the data under specs/: profiles, claims, OpenAPI specs and deviations."""

from __future__ import annotations

import functools
import hashlib
import importlib.resources
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import yaml

# The built-in data: the checkout's specs/ folder, installed as the package conformance._specs.
try:
    SPECS_DIR = Path(str(importlib.resources.files("conformance._specs")))
except ModuleNotFoundError:  # an editable install made before specs/ became package data
    raise ImportError("the built-in specs are not installed: reinstall the package (pip install -e .)") from None
RFC = "_rfc"
# Folders of the same layout whose vendor folders (and `_rfc/`) add to or override the built-in ones, later wins.
SPECS_ENV = "CONFORMANCE_SPECS_DIR"


def extra_dirs() -> list[Path]:
    """The user's spec folders, from CONFORMANCE_SPECS_DIR (os.pathsep-separated; `--specs` sets it)."""
    return [Path(p) for p in os.environ.get(SPECS_ENV, "").split(os.pathsep) if p.strip()]


def use_dirs(dirs: list[str]) -> None:
    """Add spec folders for this process and the test processes it starts; each must be a readable folder."""
    for d in dirs:
        if not Path(d).is_dir():
            raise SpecError(f"--specs {d}: no such folder (it should hold <vendor>/profile.yaml, claims.yaml, ...)")
    joined = os.pathsep.join([*map(str, extra_dirs()), *(str(Path(d).resolve()) for d in dirs)])
    if joined:
        os.environ[SPECS_ENV] = joined
    clear_caches()


def roots() -> list[Path]:
    """Where data is looked up, built-in first; a later folder's vendor overrides an earlier one's."""
    return [SPECS_DIR, *extra_dirs()]


def vendor_dir(vendor: str) -> Path:
    """The folder a vendor's (or `_rfc`'s) files come from: all of them from one place, never mixed."""
    for root in reversed(roots()):
        if (root / vendor).is_dir():
            return root / vendor
    return SPECS_DIR / vendor


class SpecError(Exception):
    """A file under specs/ is missing, unparsable or does not match its schema."""


@dataclass(frozen=True)
class Baseline:
    """A security property that holds whatever a vendor's page says: the RFC/BCP text that makes it one."""

    id: str
    title: str
    cite: str
    url: str
    requirement: str
    consequence: str

    def render(self) -> str:
        return f"{self.cite}: {self.requirement} (else {self.consequence})"


@dataclass(frozen=True)
class Claim:
    """One testable statement, quoted from a vendor doc or an RFC."""

    id: str
    title: str
    quote: str
    source: str
    kind: str  # documented | rfc | assumed
    severity: str
    capability: str
    checks: tuple[str, ...]
    vendor: str
    doc_url: str
    reading: str = ""
    security: bool = False
    baseline: Baseline | None = None

    @property
    def assumed(self) -> bool:
        return self.kind == "assumed"

    @property
    def decisive(self) -> bool:
        """A violation fails the run: the vendor promised it (documented, rfc), or it is a security baseline.

        `kind` says how sure the suite is that the vendor promised the property; a baseline says what a violation
        means (someone let in, a credential exposed), which no wording of a page excuses.
        """
        return not self.assumed or self.baseline is not None


@dataclass(frozen=True)
class Profile:
    """A vendor's profile: capabilities, flows, lifetimes and probe, as plain data."""

    vendor: str
    data: dict[str, Any] = field(hash=False, compare=False)

    def __getitem__(self, key: str) -> Any:
        return self.data[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)

    @property
    def title(self) -> str:
        return self.data["title"]

    def has(self, capability: str) -> bool:
        return capability in self.data["capabilities"]


# libyaml's parser when PyYAML was built with it: the specs are read at every start, ten times faster in C.
_SafeLoader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_SafeLoader):  # type: ignore[misc,valid-type]
    """YAML as plain data: dates stay strings, as the JSON Schemas expect."""


_Loader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:timestamp"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _read_yaml(path: Path) -> Any:
    try:
        with path.open(encoding="utf-8") as fh:
            return yaml.load(fh, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    except FileNotFoundError:
        raise SpecError(f"{_rel(path)} is missing") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise SpecError(f"{_rel(path)}{where} is not valid YAML: {getattr(exc, 'problem', exc)}") from None


def _rel(path: Path) -> str:
    """A data file's name as its author knows it: specs/... for built-in data, the given path for the user's."""
    try:
        return "specs/" + path.relative_to(SPECS_DIR).as_posix()
    except ValueError:
        return str(path)


@functools.cache
def _schema(name: str) -> dict[str, Any]:
    return json.loads((SPECS_DIR / "schemas" / f"{name}.schema.json").read_text(encoding="utf-8"))


def _validated(path: Path, schema: str) -> dict[str, Any]:
    data = _read_yaml(path)
    error = schema_error(data, _schema(schema))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
        raise SpecError(f"{_rel(path)} at {where}: {error.message}") from None
    return data


_VALIDATORS: dict[str, Any] = {}


def schema_error(
    instance: Any, schema: dict[str, Any], ignore: Callable[[jsonschema.ValidationError], bool] | None = None
) -> jsonschema.ValidationError | None:
    """The most relevant error of `instance` against `schema` (those `ignore` accepts left out), or None.

    Each schema is checked and compiled once.
    """
    key = json.dumps(schema, sort_keys=True, default=str)
    validator = _VALIDATORS.get(key)
    if validator is None:
        # jsonschema.validate re-checks the schema itself on every call, which cost more than the HTTP traffic.
        cls = jsonschema.validators.validator_for(schema)
        cls.check_schema(schema)
        validator = _VALIDATORS[key] = cls(schema, format_checker=jsonschema.FormatChecker())
    return jsonschema.exceptions.best_match(e for e in validator.iter_errors(instance) if not (ignore and ignore(e)))


def vendors() -> list[str]:
    """Every vendor that has a profile, in a stable order."""
    return sorted({p.parent.name for root in roots() for p in root.glob("*/profile.yaml") if p.parent.name[0] != "_"})


@functools.cache
def load_profile(vendor: str) -> Profile:
    path = vendor_dir(vendor) / "profile.yaml"
    data = _validated(path, "profile")
    if data["vendor"] != vendor:
        raise SpecError(f"{_rel(path)} says vendor {data['vendor']!r}, but its folder is named {vendor!r}")
    return Profile(vendor, data)


@functools.cache
def _claims_file(vendor: str) -> dict[str, Any]:
    return _validated(vendor_dir(vendor) / "claims.yaml", "claims")


@functools.cache
def baselines() -> dict[str, Baseline]:
    """The security baselines (declared once, in the RFC claims file), by ID."""
    data = _claims_file(RFC).get("baselines") or {}
    return {key: Baseline(id=key, **value) for key, value in data.items()}


def _baseline(vendor: str, claim: dict[str, Any]) -> Baseline | None:
    key = claim.get("baseline")
    if key is None:
        return None
    try:
        return baselines()[key]
    except KeyError:
        raise SpecError(
            f"specs/{vendor}/claims.yaml: {claim['id']} cites unknown baseline {key!r} "
            f"(known: {', '.join(baselines())})"
        ) from None


@functools.cache
def load_claims(vendor: str) -> tuple[Claim, ...]:
    """The claims of one vendor's doc (or of the RFC file when vendor is `_rfc`)."""
    data = _claims_file(vendor)
    return tuple(
        Claim(
            id=c["id"],
            title=c["title"],
            quote=" ".join(c["quote"].split()),
            source=c["source"],
            kind=c["kind"],
            severity=c["severity"],
            capability=c["capability"],
            checks=tuple(c["checks"]),
            vendor=vendor,
            doc_url=data["doc"]["url"],
            reading=c.get("reading", ""),
            security=c.get("security", False),
            baseline=_baseline(vendor, c),
        )
        for c in data["claims"]
    )


def not_testable(vendor: str) -> list[dict[str, str]]:
    return _claims_file(vendor)["not_testable"]


@functools.cache
def claim_index() -> dict[str, Claim]:
    """Every claim of every vendor and of the RFC file, by ID."""
    return {c.id: c for v in [RFC, *vendors()] for c in load_claims(v)}


@functools.cache
def claims_for(vendor: str, check: str) -> tuple[Claim, ...]:
    """The claims that `check` verifies for `vendor`: the vendor's own first, then the shared RFC ones."""
    return tuple(c for v in (vendor, RFC) for c in load_claims(v) if check in c.checks)


@functools.cache
def load_openapi(vendor: str) -> dict[str, Any]:
    path = vendor_dir(vendor) / "openapi.yaml"
    data = _read_yaml(path)
    if not isinstance(data, dict) or "openapi" not in data:
        raise SpecError(f"{_rel(path)} is not an OpenAPI document")
    return data


def load_deviations(vendor: str) -> list[dict[str, Any]]:
    """Known vendor deviations (expected failures), each with a claim, a check and a reason."""
    return _deviations_file(vendor_dir(vendor) / "deviations.yaml")


@functools.cache
def _deviations_file(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return _validated(path, "deviations").get("deviations") or []


def spec_hash(vendor: str) -> str:
    """Short content hash of a vendor's spec files, for report metadata and drift baselines."""
    digest = hashlib.sha256()
    for path in sorted(vendor_dir(vendor).glob("*.yaml")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


_ESCAPED_NEWLINE = re.compile(r"\\n")


def normalise_doc_text(text: str) -> str:
    """Doc text as quotes are matched against it: escaping backslashes and literal "\\n" removed, spaces folded."""
    text = _ESCAPED_NEWLINE.sub(" ", text).replace("\\", "")
    return " ".join(text.split())


def response_schema(vendor: str, method: str, path: str, status: str = "200") -> dict[str, Any]:
    """The JSON Schema of a documented response, with the spec's components alongside so $refs resolve."""
    spec = load_openapi(vendor)
    try:
        media = spec["paths"][path][method.lower()]["responses"][status]["content"]["application/json"]
    except KeyError:
        where = _rel(vendor_dir(vendor) / "openapi.yaml")
        raise SpecError(f"{where} documents no JSON {status} response for {method} {path}") from None
    return {**media["schema"], "components": spec.get("components", {})}


@functools.cache
def authorization_matrix() -> tuple[dict[str, Any], ...]:
    """The malformed-Authorization matrix: one row per header variant, with the RFC's expected outcome."""
    data = _validated(vendor_dir(RFC) / "authorization-matrix.yaml", "matrix")
    return tuple(data["rows"])


def clear_caches() -> None:
    """Forget every file read so far (the set of spec folders changed)."""
    for fn in (load_profile, _claims_file, load_claims, claim_index, claims_for, load_openapi, _deviations_file):
        fn.cache_clear()
    authorization_matrix.cache_clear()
