"""Lint of the hand-written OpenAPI 3.1 specs under specs/<vendor>/openapi.yaml.

Every check is a function that returns a list of problems; the tests assert the list is empty for
the real specs, and the mutation tests at the end assert each check does report a broken spec.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jsonschema
import pytest
import schemathesis
import yaml
from hypothesis import HealthCheck, given, settings
from openapi_spec_validator import OpenAPIV31SpecValidator, validate
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SPECS_DIR = Path(__file__).resolve().parents[1] / "specs"
SPEC_URI = "urn:openapi-spec"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
SNAKE_CASE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")

# operationId -> (method, path) for every operation each spec must describe, no more, no less.
EXPECTED_OPERATIONS: dict[str, dict[str, tuple[str, str]]] = {
    "klearstack": {
        "get_access_token": ("post", "/get_access_token"),
        "get_access_token_from_refresh_token": ("post", "/getaccesstokenfromrefreshtoken"),
        "get_templates": ("post", "/get_templates"),
    },
    "klavi": {
        "generate_access_token": ("post", "/monitor/v1/auth"),
        "list_reports": ("get", "/monitor/v1/reports"),
    },
    "opsnow": {
        "issue_access_token": ("post", "/platform/v2/identity/api-keys/token"),
        "get_current_user": ("get", "/platform/v2/identity/users/me"),
    },
    "knowledgestack": {
        "create_api_key": ("post", "/v1/api-keys"),
        "list_api_keys": ("get", "/v1/api-keys"),
        "get_api_key": ("get", "/v1/api-keys/{api_key_id}"),
        "delete_api_key": ("delete", "/v1/api-keys/{api_key_id}"),
        "password_sign_in": ("post", "/v1/auth/pw/signin"),
        "refresh_user_access_token": ("post", "/v1/auth/uat"),
        "sign_out": ("post", "/v1/auth/signout"),
        "initiate_sso": ("post", "/v1/auth/sso/initiate"),
        "get_current_user": ("get", "/v1/users/me"),
        "list_documents": ("get", "/v1/documents"),
    },
}

# Operations the vendor doc itself shows (method and path), with the words that show them.
# Any other operation is an assumption and must say so with `x-assumption`.
DOCUMENTED_OPERATIONS: dict[str, dict[tuple[str, str], str]] = {
    "klearstack": {
        ("post", "/get_access_token"): "perform a POST request to get_access_token",
        (
            "post",
            "/getaccesstokenfromrefreshtoken",
        ): "perform a POST request to getaccesstokenfromrefreshtoken",
    },
    "klavi": {
        ("post", "/monitor/v1/auth"): '"method" "post", "url" "https //api sandbox klavi ai/monitor/v1/auth"',
    },
    "opsnow": {
        (
            "post",
            "/platform/v2/identity/api-keys/token",
        ): 'curl -X POST "https://api.opsnow360.io/platform/v2/identity/api-keys/token"',
    },
    "knowledgestack": {
        ("post", "/v1/api-keys"): "curl -X POST https://api-staging.knowledgestack.ai/v1/api-keys",
        ("get", "/v1/api-keys"): "List all API keys: curl https://api-staging.knowledgestack.ai/v1/api-keys",
        (
            "delete",
            "/v1/api-keys/{api_key_id}",
        ): "curl -X DELETE https://api-staging.knowledgestack.ai/v1/api-keys/<api_key_id>",
        (
            "post",
            "/v1/auth/pw/signin",
        ): "curl -X POST https://api-staging.knowledgestack.ai/v1/auth/pw/signin",
        ("post", "/v1/auth/uat"): "curl -X POST https://api-staging.knowledgestack.ai/v1/auth/uat",
        ("post", "/v1/auth/signout"): "curl -X POST https://api-staging.knowledgestack.ai/v1/auth/signout",
        (
            "post",
            "/v1/auth/sso/initiate",
        ): "curl -X POST https://api-staging.knowledgestack.ai/v1/auth/sso/initiate",
        ("get", "/v1/users/me"): "curl https://api-staging.knowledgestack.ai/v1/users/me",
        ("get", "/v1/documents"): "curl https://api-staging.knowledgestack.ai/v1/documents",
    },
}

# Operations that issue a token (or start a sign-in) from credentials, with the request body that
# works against the suite's mock: every request media type must carry it as an example.
TOKEN_OPERATIONS: dict[str, dict[str, dict[str, str]]] = {
    "klearstack": {
        "get_access_token": {"username": "mock-user@klearstack.test", "password": "mock-klearstack-password"},
    },
    "klavi": {
        "generate_access_token": {"accessKey": "mock-access-key", "secretKey": "mock-secret-key"},
    },
    "opsnow": {
        "issue_access_token": {"apiKey": "mock-opsnow-api-key"},
    },
    "knowledgestack": {
        "password_sign_in": {"email": "user@example.com", "password": "mock-ks-password"},
        "initiate_sso": {"tenant_id": "tenant_01jmock", "redirect_uri": "https://your-app.com/auth/callback"},
        "create_api_key": {"name": "my-service-key"},
    },
}

EXPECTED_SERVERS = {
    "klearstack": "https://{host}",
    "klavi": "https://api-sandbox.klavi.ai",
    "opsnow": "https://api.opsnow360.io",
    "knowledgestack": "https://api-staging.knowledgestack.ai",
}

# Schemas closed with `additionalProperties: false`: only objects the doc shows in full.
STRICT_SCHEMAS = {
    "klearstack": set(),
    "klavi": {"/components/schemas/AuthError"},
    "opsnow": set(),
    "knowledgestack": set(),
}

# Links (the stateful transitions) each spec must declare.
EXPECTED_LINKS = {
    "klearstack": {("get_access_token", "200", "RefreshAccessToken")},
    "klavi": set(),
    "opsnow": set(),
    "knowledgestack": {
        ("create_api_key", "201", "GetApiKey"),
        ("create_api_key", "201", "DeleteApiKey"),
        ("delete_api_key", "204", "GetApiKey"),
    },
}

VENDORS = sorted(EXPECTED_OPERATIONS)


# ---------------------------------------------------------------------------------------------
# helpers


def load_spec(vendor: str) -> dict[str, Any]:
    with (SPECS_DIR / vendor / "openapi.yaml").open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def escape(segment: str) -> str:
    return segment.replace("~", "~0").replace("/", "~1")


def resolve_pointer(spec: dict[str, Any], pointer: str) -> Any:
    node: Any = spec
    for raw in pointer.lstrip("/").split("/") if pointer not in ("", "/") else []:
        segment = raw.replace("~1", "/").replace("~0", "~")
        node = node[int(segment)] if isinstance(node, list) else node[segment]
    return node


def deref(spec: dict[str, Any], node: Any, pointer: str) -> tuple[Any, str]:
    """Follow `$ref` chains; return the target and its JSON pointer."""
    seen = set()
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        if ref in seen:
            raise ValueError(f"$ref cycle at {ref}")
        seen.add(ref)
        pointer = ref[1:]
        node = resolve_pointer(spec, pointer)
    return node, pointer


def walk(node: Any, pointer: str = "") -> Iterator[tuple[str, Any]]:
    """Yield (pointer, node) for every dict and list in the document."""
    yield pointer, node
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(value, dict | list):
                yield from walk(value, f"{pointer}/{escape(str(key))}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            if isinstance(value, dict | list):
                yield from walk(value, f"{pointer}/{index}")


def operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any], str]]:
    """Yield (method, path, operation, pointer) for every operation."""
    for path, item in spec.get("paths", {}).items():
        for method in HTTP_METHODS:
            if method in item:
                yield method, path, item[method], f"/paths/{escape(path)}/{method}"


def is_protected(spec: dict[str, Any], operation: dict[str, Any]) -> bool:
    requirements = operation.get("security", spec.get("security", []))
    return any(requirement for requirement in requirements)


def schema_validator(spec: dict[str, Any], pointer: str) -> jsonschema.Draft202012Validator:
    resource = Resource.from_contents(spec, default_specification=DRAFT202012)
    registry = Registry().with_resource(SPEC_URI, resource)
    fragment = "/".join(quote(part, safe="~") for part in pointer.split("/"))
    return jsonschema.Draft202012Validator(
        {"$ref": f"{SPEC_URI}#{fragment}"},
        registry=registry,
        format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER,
    )


def component_schema(spec: dict[str, Any], name: str) -> jsonschema.Draft202012Validator:
    return schema_validator(spec, f"/components/schemas/{name}")


# ---------------------------------------------------------------------------------------------
# checks: each returns a list of problems


def check_refs(spec: dict[str, Any]) -> list[str]:
    problems = []
    for pointer, node in walk(spec):
        if isinstance(node, dict) and isinstance(node.get("$ref"), str):
            ref = node["$ref"]
            if not ref.startswith("#/"):
                problems.append(f"{pointer}: non-local $ref {ref}")
                continue
            try:
                resolve_pointer(spec, ref[1:])
            except (KeyError, IndexError, ValueError, TypeError):
                problems.append(f"{pointer}: unresolved $ref {ref}")
    return problems


def check_operation_ids(spec: dict[str, Any]) -> list[str]:
    problems, seen = [], {}
    for method, path, operation, _ in operations(spec):
        op_id = operation.get("operationId")
        if not op_id:
            problems.append(f"{method.upper()} {path}: no operationId")
            continue
        if not SNAKE_CASE.match(op_id):
            problems.append(f"{method.upper()} {path}: operationId {op_id!r} is not snake_case")
        if op_id in seen:
            problems.append(f"{method.upper()} {path}: operationId {op_id!r} also used by {seen[op_id]}")
        seen[op_id] = f"{method.upper()} {path}"
    return problems


def check_tags(spec: dict[str, Any]) -> list[str]:
    declared = {tag["name"] for tag in spec.get("tags", [])}
    problems = []
    for method, path, operation, _ in operations(spec):
        tags = operation.get("tags") or []
        if not tags:
            problems.append(f"{method.upper()} {path}: no tags")
        problems += [f"{method.upper()} {path}: tag {tag!r} not declared" for tag in tags if tag not in declared]
    return problems


def check_security(spec: dict[str, Any]) -> list[str]:
    """bearerAuth is an http bearer scheme; protected operations declare 401 with a challenge."""
    problems = []
    schemes = spec.get("components", {}).get("securitySchemes", {})
    bearer = schemes.get("bearerAuth", {})
    if bearer.get("type") != "http" or str(bearer.get("scheme", "")).lower() != "bearer":
        problems.append("components.securitySchemes.bearerAuth is not an http bearer scheme")
    protected = 0
    for method, path, operation, _ in operations(spec):
        label = f"{method.upper()} {path}"
        for requirement in operation.get("security", spec.get("security", [])):
            problems += [f"{label}: unknown security scheme {name}" for name in requirement if name not in schemes]
        if not is_protected(spec, operation):
            continue
        protected += 1
        responses = operation.get("responses", {})
        if "401" not in responses:
            problems.append(f"{label}: protected but declares no 401")
            continue
        response, _ = deref(spec, responses["401"], "")
        headers = {name.lower(): deref(spec, header, "")[0] for name, header in response.get("headers", {}).items()}
        challenge = headers.get("www-authenticate")
        if not challenge or not challenge.get("required") or challenge.get("schema", {}).get("type") != "string":
            problems.append(f"{label}: 401 lacks a required string WWW-Authenticate header")
        schema = response.get("content", {}).get("application/json", {}).get("schema")
        error_schema, _ = deref(spec, schema, "")
        if not error_schema or "error" not in error_schema.get("properties", {}):
            problems.append(f"{label}: 401 body has no `error` property")
    if not protected:
        problems.append("no protected operation at all")
    return problems


def check_assumptions(spec: dict[str, Any]) -> list[str]:
    problems, count = [], 0
    for pointer, node in walk(spec):
        if isinstance(node, dict) and "x-assumption" in node:
            count += 1
            value = node["x-assumption"]
            if not isinstance(value, str) or not value.strip():
                problems.append(f"{pointer}: x-assumption is not a non-empty string")
            elif "\n" in value.strip():
                problems.append(f"{pointer}: x-assumption spans several lines")
    if not count:
        problems.append("no x-assumption anywhere")
    description = spec.get("info", {}).get("description", "")
    if "by hand" not in description or "x-assumption" not in description:
        problems.append("info.description does not say it was written by hand and what x-assumption marks")
    return problems


def check_documented(spec: dict[str, Any], documented: dict[tuple[str, str], str]) -> list[str]:
    problems = []
    for method, path, operation, _ in operations(spec):
        if (method, path) not in documented and not operation.get("x-assumption"):
            problems.append(f"{method.upper()} {path}: not in the vendor doc and carries no x-assumption")
    return problems


def check_responses(spec: dict[str, Any]) -> list[str]:
    """Every response but 204 has an application/json body with a schema; 204 has none."""
    problems = []
    for method, path, operation, _ in operations(spec):
        for status, raw in operation.get("responses", {}).items():
            response, _ = deref(spec, raw, "")
            content = response.get("content", {})
            label = f"{method.upper()} {path} {status}"
            if status == "204":
                if content:
                    problems.append(f"{label}: 204 with a body")
            elif "schema" not in content.get("application/json", {}):
                problems.append(f"{label}: no application/json schema")
    return problems


def check_examples(spec: dict[str, Any]) -> list[str]:
    """Every example (media type, parameter or schema level) validates against its schema."""
    problems = []
    for pointer, node in walk(spec):
        if not isinstance(node, dict):
            continue
        targets: list[tuple[str, Any]] = []
        if isinstance(node.get("examples"), list):  # schema-level examples
            targets += [(pointer, value) for value in node["examples"]]
        if "schema" in node and isinstance(node.get("examples"), dict):  # media type or parameter
            for name, example in node["examples"].items():
                example, _ = deref(spec, example, "")
                if "value" in example:
                    targets.append((f"{pointer}/schema", example["value"]))
                else:
                    problems.append(f"{pointer}/examples/{name}: no value")
        if "schema" in node and "example" in node:
            targets.append((f"{pointer}/schema", node["example"]))
        for schema_pointer, value in targets:
            errors = list(schema_validator(spec, schema_pointer).iter_errors(value))
            problems += [f"{pointer}: example {value!r} invalid: {error.message}" for error in errors]
    return problems


def check_strict_schemas(spec: dict[str, Any], allowed: set[str]) -> list[str]:
    strict = {
        pointer for pointer, node in walk(spec) if isinstance(node, dict) and node.get("additionalProperties") is False
    }
    return [
        f"{pointer}: additionalProperties false, but the doc does not show the whole object"
        for pointer in sorted(strict - allowed)
    ] + [f"{pointer}: expected to be closed with additionalProperties false" for pointer in sorted(allowed - strict)]


def check_token_examples(spec: dict[str, Any], token_operations: dict[str, dict[str, str]]) -> list[str]:
    problems = []
    by_id = {operation.get("operationId"): (operation, pointer) for _, _, operation, pointer in operations(spec)}
    for op_id, credentials in token_operations.items():
        if op_id not in by_id:
            problems.append(f"{op_id}: no such operation")
            continue
        operation, pointer = by_id[op_id]
        body, body_pointer = deref(spec, operation.get("requestBody"), f"{pointer}/requestBody")
        if not body or not body.get("content"):
            problems.append(f"{op_id}: no request body")
            continue
        for media_type, media in body["content"].items():
            values = [deref(spec, example, "")[0].get("value") for example in media.get("examples", {}).values()]
            if credentials not in values:
                problems.append(f"{op_id} {media_type}: no request example with the mock credentials")
            validator = schema_validator(spec, f"{body_pointer}/content/{escape(media_type)}/schema")
            for value in values:
                problems += [
                    f"{op_id} {media_type}: example {value!r}: {e.message}" for e in validator.iter_errors(value)
                ]
    return problems


def check_links(spec: dict[str, Any], expected: set[tuple[str, str, str]]) -> list[str]:
    ids = {operation.get("operationId") for _, _, operation, _ in operations(spec)}
    found, problems = set(), []
    for _, _, operation, _ in operations(spec):
        for status, raw in operation.get("responses", {}).items():
            response, _ = deref(spec, raw, "")
            for name, link in response.get("links", {}).items():
                found.add((operation.get("operationId"), status, name))
                if link.get("operationId") not in ids:
                    problems.append(f"{operation.get('operationId')} {status} {name}: unknown target operation")
    problems += [f"missing link {link}" for link in sorted(expected - found)]
    problems += [f"unexpected link {link}" for link in sorted(found - expected)]
    return problems


# ---------------------------------------------------------------------------------------------
# tests of the real specs


@pytest.fixture(params=VENDORS)
def vendor(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def spec(vendor: str) -> dict[str, Any]:
    return load_spec(vendor)


def test_spec_is_valid_openapi_3_1(spec: dict[str, Any]) -> None:
    assert spec["openapi"] == "3.1.0"
    validate(spec, cls=OpenAPIV31SpecValidator)


def test_every_ref_resolves(spec: dict[str, Any]) -> None:
    assert check_refs(spec) == []


def test_operations_are_the_expected_ones(vendor: str, spec: dict[str, Any]) -> None:
    found = {operation.get("operationId"): (method, path) for method, path, operation, _ in operations(spec)}
    assert found == EXPECTED_OPERATIONS[vendor]


def test_operation_ids_unique_snake_case(spec: dict[str, Any]) -> None:
    assert check_operation_ids(spec) == []


def test_every_operation_tagged(spec: dict[str, Any]) -> None:
    assert check_tags(spec) == []


def test_protected_operations_declare_401(spec: dict[str, Any]) -> None:
    assert check_security(spec) == []


def test_assumptions_are_one_line_strings(spec: dict[str, Any]) -> None:
    assert check_assumptions(spec) == []


def test_undocumented_operations_are_marked(vendor: str, spec: dict[str, Any]) -> None:
    assert check_documented(spec, DOCUMENTED_OPERATIONS[vendor]) == []


def test_responses_have_json_schemas(spec: dict[str, Any]) -> None:
    assert check_responses(spec) == []


def test_examples_validate(spec: dict[str, Any]) -> None:
    assert check_examples(spec) == []


def test_only_fully_documented_objects_are_closed(vendor: str, spec: dict[str, Any]) -> None:
    assert check_strict_schemas(spec, STRICT_SCHEMAS[vendor]) == []


def test_token_operations_carry_mock_credentials(vendor: str, spec: dict[str, Any]) -> None:
    assert check_token_examples(spec, TOKEN_OPERATIONS[vendor]) == []


def test_links(vendor: str, spec: dict[str, Any]) -> None:
    assert check_links(spec, EXPECTED_LINKS[vendor]) == []


def test_servers(vendor: str, spec: dict[str, Any]) -> None:
    servers = spec.get("servers", [])
    assert [server["url"] for server in servers] == [EXPECTED_SERVERS[vendor]]
    for server in servers:
        for name, variable in server.get("variables", {}).items():
            assert variable.get("default") and variable.get("description"), name
            assert server.get("x-assumption"), "a templated host is not documented"


def test_schemathesis_loads_spec(vendor: str, spec: dict[str, Any]) -> None:
    schema = schemathesis.openapi.from_dict(spec)
    labels = {result.ok().label for result in schema.get_all_operations()}
    expected = {f"{method.upper()} {path}" for method, path in EXPECTED_OPERATIONS[vendor].values()}
    assert labels == expected
    assert len(labels) == len(EXPECTED_OPERATIONS[vendor])
    assert schema.statistic.transitions.total == len(EXPECTED_LINKS[vendor])
    schema.as_state_machine()


def test_schemathesis_explicit_examples_use_mock_credentials(vendor: str, spec: dict[str, Any]) -> None:
    schema = schemathesis.openapi.from_dict(spec)
    for op_id, credentials in TOKEN_OPERATIONS[vendor].items():
        operation = schema.find_operation_by_id(op_id)
        bodies = []
        for strategy in schema.get_strategies_from_examples(operation):

            @given(strategy)
            @settings(max_examples=10, database=None, deadline=None, suppress_health_check=list(HealthCheck))
            def collect(case: Any) -> None:
                bodies.append(case.body)  # noqa: B023 - consumed right away

            collect()
        assert credentials in bodies, op_id


# ---------------------------------------------------------------------------------------------
# vendor specifics the generic checks do not cover


def test_klearstack_forms_share_one_schema() -> None:
    spec = load_spec("klearstack")
    for path in ("/get_access_token", "/getaccesstokenfromrefreshtoken"):
        content = spec["paths"][path]["post"]["requestBody"]["content"]
        assert set(content) == {"application/x-www-form-urlencoded", "multipart/form-data"}
        assert len({media["schema"]["$ref"] for media in content.values()}) == 1
        assert {"400", "401", "415"} <= set(spec["paths"][path]["post"]["responses"])


def test_klavi_expire_in_accepts_number_or_digit_string() -> None:
    validator = component_schema(load_spec("klavi"), "AuthResponse")
    token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"
    assert validator.is_valid({"accessToken": token, "expireIn": 1800})
    assert validator.is_valid({"accessToken": token, "expireIn": "1800"})
    assert not validator.is_valid({"accessToken": token, "expireIn": "30m"})
    assert not validator.is_valid({"accessToken": token, "expireIn": -1})
    assert not validator.is_valid({"accessToken": "not a jwt", "expireIn": 1800})


def test_klavi_401_body_is_closed() -> None:
    validator = component_schema(load_spec("klavi"), "AuthError")
    body = {"statusCode": 401, "error": "Unauthorized", "message": "Invalid accessKey or secretKey"}
    assert validator.is_valid(body)
    assert not validator.is_valid({**body, "statusCode": 400})
    assert not validator.is_valid({**body, "extra": 1})


def test_knowledgestack_key_never_listed() -> None:
    spec = load_spec("knowledgestack")
    item = {"id": "key_1", "name": "n", "created_at": "2025-01-15T10:00:00Z", "prefix": "ks_live_"}
    summary, listing = component_schema(spec, "ApiKeySummary"), component_schema(spec, "ApiKeyList")
    assert summary.is_valid(item)
    assert summary.is_valid({**item, "last_used_at": None})  # open to added fields
    assert not summary.is_valid({**item, "key": "ks_live_secret"})
    assert not listing.is_valid({"data": [item, {**item, "key": "ks_live_secret"}]})
    created = component_schema(spec, "ApiKeyCreated")
    # the create response must carry the full key
    assert not created.is_valid({k: v for k, v in item.items() if k != "prefix"})


def test_knowledgestack_delete_links_read_of_same_id() -> None:
    spec = load_spec("knowledgestack")
    item = spec["paths"]["/v1/api-keys/{api_key_id}"]
    link = item["delete"]["responses"]["204"]["links"]["GetApiKey"]
    assert link == {
        **link,
        "operationId": "get_api_key",
        "parameters": {"api_key_id": "$request.path.api_key_id"},
    }
    created = spec["paths"]["/v1/api-keys"]["post"]["responses"]["201"]["links"]
    for name, target in (("GetApiKey", "get_api_key"), ("DeleteApiKey", "delete_api_key")):
        assert created[name]["operationId"] == target
        assert created[name]["parameters"] == {"api_key_id": "$response.body#/id"}


def test_knowledgestack_unauthenticated_operations() -> None:
    spec = load_spec("knowledgestack")
    public = {op["operationId"] for _, _, op, _ in operations(spec) if not is_protected(spec, op)}
    assert public == {"password_sign_in", "initiate_sso"}


# ---------------------------------------------------------------------------------------------
# the checks can fail: each one reports a deliberately broken copy of a real spec


def broken(vendor: str, mutate: Any) -> dict[str, Any]:
    spec = copy.deepcopy(load_spec(vendor))
    mutate(spec)
    return spec


def test_checks_catch_broken_specs() -> None:
    ks = "knowledgestack"
    users_me = ("paths", "/v1/users/me", "get")

    def at(spec: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
        for key in keys:
            spec = spec[key]
        return spec

    assert check_refs(
        broken(
            ks,
            lambda s: at(s, users_me)["responses"].update({"401": {"$ref": "#/components/responses/Nope"}}),
        )
    )
    assert check_operation_ids(broken(ks, lambda s: at(s, users_me).update(operationId="list_documents")))
    assert check_operation_ids(broken(ks, lambda s: at(s, users_me).update(operationId="getMe")))
    assert check_tags(broken(ks, lambda s: at(s, users_me).update(tags=["Nope"])))
    assert check_security(broken(ks, lambda s: at(s, users_me)["responses"].pop("401")))
    assert check_security(broken(ks, lambda s: s["components"]["responses"]["Unauthorized"].pop("headers")))
    assert check_assumptions(broken(ks, lambda s: s["components"]["schemas"]["Error"].update({"x-assumption": " "})))
    assert check_documented(
        broken(ks, lambda s: at(s, ("paths", "/v1/api-keys/{api_key_id}", "get")).pop("x-assumption")),
        DOCUMENTED_OPERATIONS[ks],
    )
    assert check_responses(broken(ks, lambda s: at(s, users_me)["responses"]["200"].pop("content")))
    assert check_examples(
        broken(
            ks,
            lambda s: s["components"]["schemas"]["SignInRequest"].update(examples=[{"email": "user@example.com"}]),
        )
    )
    assert check_examples(
        broken(
            ks,
            lambda s: at(s, ("paths", "/v1/api-keys", "post"))["responses"]["201"]["content"]["application/json"][
                "examples"
            ]["doc"]["value"].update(created_at="yesterday"),
        )
    )
    assert check_strict_schemas(
        broken(ks, lambda s: s["components"]["schemas"]["Error"].update(additionalProperties=False)),
        STRICT_SCHEMAS[ks],
    )
    assert check_token_examples(
        broken(
            ks,
            lambda s: at(s, ("paths", "/v1/auth/pw/signin", "post"))["requestBody"]["content"]["application/json"][
                "examples"
            ].pop("mock"),
        ),
        TOKEN_OPERATIONS[ks],
    )
    assert check_links(
        broken(
            ks,
            lambda s: at(s, ("paths", "/v1/api-keys/{api_key_id}", "delete"))["responses"]["204"].pop("links"),
        ),
        EXPECTED_LINKS[ks],
    )
    assert check_token_examples(
        broken(
            "klearstack",
            lambda s: s["paths"]["/get_access_token"]["post"]["requestBody"]["content"]["multipart/form-data"].pop(
                "examples"
            ),
        ),
        TOKEN_OPERATIONS["klearstack"],
    )
