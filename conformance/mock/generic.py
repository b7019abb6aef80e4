"""The mock of a vendor made only of data: its operations built from its profile and its OpenAPI spec."""

from __future__ import annotations

import hmac
import re
from collections.abc import Callable
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from starlette.responses import Response

from conformance import specs
from conformance.mock.app import Ctx, Handler, MockError
from conformance.mock.bodies import Reject, strings
from conformance.mock.core import ApiKey, User
from conformance.mock.tokens import InvalidToken, new_api_key

UNDOCUMENTED_ERROR = {"error": "invalid_client", "error_description": "Authentication failed"}
KEY_PREFIX_LENGTH = 12
_PARAM = re.compile(r"\{([^}/]+)\}")


def module_for(vendor: str) -> SimpleNamespace:
    """What a vendor module offers the app (`users`, `ROUTES`), made from the vendor's data."""
    return GenericVendor(vendor).module()


class GenericVendor:
    """The routes of one data-only vendor: issuance, refresh, keys, sign-out, and every other operation of its spec."""

    def __init__(self, vendor: str) -> None:
        self.vendor = vendor
        self.profile = specs.load_profile(vendor).data
        self.spec = specs.load_openapi(vendor)
        self.user_id = f"usr_{vendor}_mock"
        unsupported = {"sso", "forbidden_403"} & set(self.profile["capabilities"])
        if unsupported:
            raise MockError(
                f"the generated mock of {vendor} cannot serve {', '.join(sorted(unsupported))} yet: "
                "test it against its sandbox, or drop the capability for mock runs"
            )

    def module(self) -> SimpleNamespace:
        return SimpleNamespace(users=self.users, ROUTES=self.routes())

    def users(self, credentials: dict[str, str]) -> list[User]:
        email = next((v for v in credentials.values() if "@" in v), f"mock-user@{self.vendor}.test")
        return [User(self.user_id, email)]

    # --- routes -------------------------------------------------------------------------------------------------

    def routes(self) -> list[tuple[str, list[str], Handler]]:
        p = self.profile
        served: list[tuple[str, list[str], Handler]] = [(p["issue"]["path"], [p["issue"]["method"]], self.issue)]
        if "refresh" in p:
            served.append((p["refresh"]["path"], [p["refresh"]["method"]], self.refresh))
        if "keys" in p["capabilities"] and "keys" in p:
            keys = p["keys"]
            served += [
                (keys["create"]["path"], [keys["create"]["method"]], self.create_key),
                (keys["list"]["path"], [keys["list"]["method"]], self.list_keys),
                (keys["delete"]["path"], [keys["delete"]["method"]], self.delete_key),
            ]
            if "get" in self.spec.get("paths", {}).get(keys["delete"]["path"], {}):
                served.append((keys["delete"]["path"], ["GET"], self.get_key))
        if "signout" in p["capabilities"] and "signout" in p:
            served.append((p["signout"]["path"], [p["signout"]["method"]], self.sign_out))
        taken = {(path, m) for path, methods, _ in served for m in methods}
        # Every other operation of the spec: authenticated as it declares, answered with its documented example.
        for path, item in self.spec.get("paths", {}).items():
            for method, op in item.items():
                if method.upper() in ("GET", "POST", "PUT", "PATCH", "DELETE") and (path, method.upper()) not in taken:
                    served.append((path, [method.upper()], self.documented(op)))
        return served

    # --- handlers -----------------------------------------------------------------------------------------------

    async def _body(self, ctx: Ctx, encoding: str) -> dict[str, Any]:
        return await (ctx.form() if encoding == "form" else ctx.json())

    async def issue(self, ctx: Ctx) -> Response:
        spec = self.profile["issue"]
        data = await self._body(ctx, spec["encoding"])
        if ctx.policy.check_credentials:
            fields = spec["fields"]
            values = strings(data, tuple(fields), min_length=1)
            creds = ctx.state.credentials
            # Every field compared, in constant time each: no early exit tells which one was wrong.
            same = [
                hmac.compare_digest(v.encode(), creds[c].encode()) for v, c in zip(values, fields.values(), strict=True)
            ]
            if not ctx.credentials_ok(all(same)):
                raise self._bad_credentials(ctx)
        access, lifetime = ctx.issue_access(self.user_id)
        body: dict[str, Any] = {spec["token_field"]: access}
        if spec.get("lifetime_field"):
            body[spec["lifetime_field"]] = ctx.advertised(lifetime)
        if spec.get("refresh_field") and "refresh" in self.profile and ctx.policy.issue_refresh_token:
            refresh = ctx.issue_refresh(self.user_id)
            body[spec["refresh_field"]] = refresh
            issued = ctx.mock.minter.claims_of(access)
            ctx.state.sessions[ctx.mock.minter.claims_of(refresh)["jti"]] = (issued["iat"], issued["exp"])
        return ctx.ok(ctx.issuance(self._complete(body, spec["method"], spec["path"])))

    def _bad_credentials(self, ctx: Ctx) -> Reject:
        spec = self.profile["issue"]
        statuses = spec.get("bad_credentials_status") or [401]
        status = 401 if 401 in statuses else statuses[0]
        documented = spec.get("bad_credentials_body")
        body = None
        if documented is not None:
            body = documented if ctx.policy.documented_401_body else UNDOCUMENTED_ERROR
        return Reject(status, "invalid_client", "Invalid credentials", cause="credentials", body=body)

    async def refresh(self, ctx: Ctx) -> Response:
        spec = self.profile["refresh"]
        if spec["send"] == "bearer_access_token":
            principal = ctx.authenticate()
            claims = principal.claims
            if not ctx.policy.refresh_resets_expiry and claims:
                access, _ = ctx.issue_access(principal.sub, iat=claims["iat"], exp=claims["exp"])
            else:
                access, _ = ctx.issue_access(principal.sub)
        else:
            data = await self._body(ctx, spec.get("encoding", "json"))
            (refresh,) = strings(data, (spec["field"],), min_length=1)
            ctx.presented = refresh
            try:
                principal = ctx.mock.minter.verify(refresh, ctx.policy, typ="refresh", check_expiry=True)
            except InvalidToken as exc:
                raise Reject(401, "invalid_grant", f"Refresh token is invalid ({exc})", cause="refresh") from None
            session = ctx.state.sessions.get(principal.jti or "")
            if not ctx.policy.refresh_resets_expiry and session:
                access, _ = ctx.issue_access(principal.sub, iat=session[0], exp=session[1])
            else:
                access, _ = ctx.issue_access(principal.sub)
        return ctx.ok(self._complete({spec["token_field"]: access}, spec["method"], spec["path"]))

    async def sign_out(self, ctx: Ctx) -> Response:
        principal = ctx.authenticate()
        if ctx.policy.signout_needs_body:
            raise Reject(400, "invalid_request", "refresh_token is required", cause="body")
        if ctx.policy.signout_revokes:
            if principal.jti:
                ctx.state.revoked.add(principal.jti)
            elif principal.key_id:
                ctx.state.api_keys[principal.key_id].deleted = True
        return Response(status_code=204)

    # --- API keys -----------------------------------------------------------------------------------------------

    def _summary(self, ctx: Ctx, key: ApiKey) -> dict[str, Any]:
        keys = self.profile["keys"]
        item = {keys["id_field"]: key.id, "name": key.name, "created_at": _rfc3339(key.created)}
        item["prefix"] = key.secret[:KEY_PREFIX_LENGTH]
        if ctx.policy.list_full_keys:
            item[keys["key_field"]] = key.secret
        return item

    async def create_key(self, ctx: Ctx) -> Response:
        user = ctx.require_permission(ctx.authenticate())
        data = await ctx.json()
        (name,) = strings(data, ("name",), min_length=1)
        key = new_api_key(ctx.state, name, user.id)
        keys = self.profile["keys"]
        body = {keys["id_field"]: key.id, "name": key.name, "created_at": _rfc3339(key.created)}
        if ctx.policy.return_key_on_create:
            body[keys["key_field"]] = key.secret
        status = 201 if 201 in keys["create"].get("status", [201]) else keys["create"]["status"][0]
        return ctx.ok(body, status=status)

    async def list_keys(self, ctx: Ctx) -> Response:
        user = ctx.require_permission(ctx.authenticate())
        if not ctx.policy.list_keys_allowed:
            raise Reject(403, "insufficient_scope", "Listing API keys is not allowed", cause="forbidden")
        mine = [k for k in ctx.state.api_keys.values() if k.owner == user.id and not k.deleted]
        if not ctx.policy.list_created_keys:
            mine = []
        return ctx.ok({self.profile["keys"]["items_field"]: [self._summary(ctx, k) for k in mine]})

    def _key(self, ctx: Ctx, user: User, *, deleted_ok: bool = False) -> ApiKey:
        names = _PARAM.findall(self.profile["keys"]["delete"]["path"])
        key = ctx.state.api_keys.get(ctx.request.path_params.get(names[0], "") if names else "")
        if key is None or key.owner != user.id or (key.deleted and not deleted_ok):
            missing = (self.profile["keys"].get("missing_status") or [404])[0]
            raise Reject(missing, "not_found", "API key not found", cause="not_found")
        return key

    async def get_key(self, ctx: Ctx) -> Response:
        user = ctx.require_permission(ctx.authenticate())
        return ctx.ok(self._summary(ctx, self._key(ctx, user)))

    async def delete_key(self, ctx: Ctx) -> Response:
        user = ctx.require_permission(ctx.authenticate())
        key = self._key(ctx, user, deleted_ok=ctx.policy.double_delete_ok)
        if not ctx.policy.delete_keys_allowed:
            raise Reject(403, "insufficient_scope", "Deleting API keys is not allowed", cause="forbidden")
        key.deleted = True
        return Response(status_code=204)

    # --- the rest of the spec -----------------------------------------------------------------------------------

    def documented(self, op: dict[str, Any]) -> Handler:
        """A handler for an operation the profile says nothing about: its security, its request body schema, and
        its first documented 2xx response (the example if the spec gives one, else the smallest valid body)."""
        security = op.get("security", self.spec.get("security", []))
        status, media = _success(op)
        request_schema = ((op.get("requestBody") or {}).get("content") or {}).get("application/json", {}).get("schema")
        body = self._example(media) if media is not None else None

        async def handler(ctx: Ctx) -> Response:
            if security:
                ctx.authenticate()
            if request_schema is not None and (op.get("requestBody") or {}).get("required"):
                data = await ctx.json()
                error = specs.schema_error(data, {**request_schema, "components": self.spec.get("components", {})})
                if error is not None:
                    raise Reject(400, "invalid_request", "The body does not match the operation", cause="body")
            if body is None:
                return Response(status_code=status)
            return ctx.ok(body, status=status)

        return handler

    def _example(self, media: dict[str, Any]) -> Any:
        if "example" in media:
            return media["example"]
        examples = media.get("examples") or {}
        for example in examples.values():
            if isinstance(example, dict) and "value" in example:
                return example["value"]
        return sample(media.get("schema", {}), self.spec)

    def _complete(self, body: dict[str, Any], method: str, path: str) -> dict[str, Any]:
        """The body plus every other property the spec's success schema requires (e.g. a constant token_type)."""
        op = self.spec.get("paths", {}).get(path, {}).get(method.lower(), {})
        _, media = _success(op)
        schema = _resolve((media or {}).get("schema", {}), self.spec)
        for name in schema.get("required", []):
            if name not in body:
                body[name] = sample(schema.get("properties", {}).get(name, {}), self.spec)
        return body


def _success(op: dict[str, Any]) -> tuple[int, dict[str, Any] | None]:
    for code, response in sorted((op.get("responses") or {}).items()):
        if str(code).startswith("2"):
            content = (response or {}).get("content") or {}
            return int(code), content.get("application/json")
    return 200, None


def _resolve(schema: Any, spec: dict[str, Any], depth: int = 0) -> dict[str, Any]:
    while isinstance(schema, dict) and "$ref" in schema and depth < 20:
        node: Any = spec
        for part in schema["$ref"].lstrip("#/").split("/"):
            node = node.get(part, {}) if isinstance(node, dict) else {}
        schema, depth = node, depth + 1
    return schema if isinstance(schema, dict) else {}


def sample(schema: Any, spec: dict[str, Any], depth: int = 0) -> Any:
    """The smallest value a JSON Schema accepts, preferring the values it names (const, examples, enum)."""
    schema = _resolve(schema, spec)
    if depth > 10:
        return None
    for key in ("const", "default", "example"):
        if key in schema:
            return schema[key]
    if schema.get("examples"):
        return schema["examples"][0]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("oneOf", "anyOf"):
        if schema.get(key):
            return sample(schema[key][0], spec, depth + 1)
    if schema.get("allOf"):
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            value = sample(part, spec, depth + 1)
            if isinstance(value, dict):
                merged.update(value)
        return merged
    kind = schema.get("type", "object" if "properties" in schema else None)
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    makers: dict[str | None, Callable[[], Any]] = {
        "object": lambda: {
            name: sample(schema.get("properties", {}).get(name, {}), spec, depth + 1)
            for name in schema.get("required", [])
        },
        "array": lambda: [sample(schema.get("items", {}), spec, depth + 1)] * int(schema.get("minItems", 0)),
        "string": lambda: _string(schema),
        "integer": lambda: int(schema.get("minimum", 0)),
        "number": lambda: schema.get("minimum", 0),
        "boolean": lambda: False,
        "null": lambda: None,
    }
    return makers.get(kind, lambda: None)()


def _string(schema: dict[str, Any]) -> str:
    if schema.get("format") == "date-time":
        return _rfc3339(0)
    return "x" * int(schema.get("minLength", 0))


def _rfc3339(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
