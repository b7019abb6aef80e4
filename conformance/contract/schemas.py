"""The vendors' OpenAPI specs as Schemathesis schemas, and the role each operation plays for the suite."""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any

import schemathesis
from schemathesis.schemas import BaseSchema
from schemathesis.specs.openapi.schemas import OpenApiSchema

from conformance import specs
from conformance.contract.budgets import Budget, plan, schemathesis_config
from conformance.contract.options import Options

VENDOR_KEY = "x-conformance-vendor"
METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


@dataclass(frozen=True)
class Role:
    """What one operation is to the suite: protected or not, and which profile flow it implements."""

    vendor: str
    method: str
    path: str
    operation_id: str | None
    protected: bool
    issue: bool = False
    refresh: bool = False
    signout: bool = False
    key_create: bool = False
    key_delete: bool = False

    @property
    def label(self) -> str:
        return f"{self.method.upper()} {self.path}"

    @property
    def token_endpoint(self) -> bool:
        """Issues tokens without a bearer token: never given the suite's token (it answers 401 by design)."""
        return not self.protected

    def destructive_on(self, target_is_mock: bool) -> str | None:
        """Why fuzzing this operation is off on a real target, or None when it may be fuzzed."""
        if target_is_mock:
            return None
        if self.signout:
            return "sign-out would revoke the suite's own token on a real target"
        if self.method == "delete" and "{" in self.path:
            return (
                "DELETE of arbitrary ids is destructive on a real target (the stateful run deletes only its own keys)"
            )
        return None


def _template(path: str) -> str:
    """A path with its parameter names dropped: the profile says {id} where the spec says {api_key_id}."""
    return re.sub(r"\{[^}]*\}", "{}", path)


def _matches(flow: dict[str, Any] | None, method: str, path: str) -> bool:
    return bool(flow) and flow["method"].lower() == method and _template(flow["path"]) == _template(path)


def roles(vendor: str) -> dict[str, Role]:
    """Every operation of the vendor's spec by label ("POST /path"), with its role."""
    spec = specs.load_openapi(vendor)
    profile = specs.load_profile(vendor)
    keys = profile.get("keys") or {}
    out: dict[str, Role] = {}
    for path, item in spec.get("paths", {}).items():
        for method in METHODS:
            op = item.get(method)
            if not isinstance(op, dict):
                continue
            security = op.get("security", spec.get("security", []))
            protected = any(bool(requirement) for requirement in security or [])
            role = Role(
                vendor=vendor,
                method=method,
                path=path,
                operation_id=op.get("operationId"),
                protected=protected,
                issue=_matches(profile.get("issue"), method, path),
                refresh=_matches(profile.get("refresh"), method, path),
                signout=_matches(profile.get("signout"), method, path),
                key_create=_matches(keys.get("create"), method, path),
                key_delete=_matches(keys.get("delete"), method, path),
            )
            out[role.label] = role
    return out


def has_links(vendor: str) -> bool:
    spec = specs.load_openapi(vendor)
    for item in spec.get("paths", {}).values():
        for method in METHODS:
            op = item.get(method)
            if isinstance(op, dict) and any(r.get("links") for r in op.get("responses", {}).values()):
                return True
    return False


class ContractSchema(OpenApiSchema):
    """An OpenAPI schema whose requests all go through the contract transport (budget, retries, Retry-After)."""

    @property
    def transport(self) -> Any:
        from conformance.contract.transport import CONTRACT_TRANSPORT

        return CONTRACT_TRANSPORT


def budget_for(vendor: str, opts: Options) -> Budget:
    """The run's budget level for one vendor, scaled to the target's request budget where it has one."""
    return plan(opts.budget, opts.request_budgets.get(vendor), len(roles(vendor)), has_links(vendor))


def load(vendor: str, budget: Budget, seed: int) -> BaseSchema:
    """A schema of the vendor's spec with an explicit configuration (the base URL is given per call)."""
    raw = copy.deepcopy(specs.load_openapi(vendor))
    raw[VENDOR_KEY] = vendor
    schema = schemathesis.openapi.from_dict(raw, config=schemathesis_config(budget, seed))
    if type(schema) is OpenApiSchema:
        schema.__class__ = ContractSchema  # clones keep the class, so every request of the run is covered
    return schema


def only(schema: BaseSchema, operation: str | None) -> BaseSchema:
    """The schema narrowed to one "METHOD /path" operation (to reproduce one test), or unchanged."""
    if not operation:
        return schema
    method, _, path = operation.strip().partition(" ")
    return schema.include(method=method.upper(), path=path.strip())


def vendor_of(schema: BaseSchema) -> str:
    return schema.raw_schema[VENDOR_KEY]
