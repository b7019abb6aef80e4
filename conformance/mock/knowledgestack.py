"""The Knowledge Stack mock: password sign-in, UAT refresh, sign-out, SSO initiation, API keys, 401 vs 403."""

from __future__ import annotations

import hmac
import secrets
from datetime import UTC, datetime
from urllib.parse import urlencode

from starlette.responses import Response

from conformance.mock.app import Ctx
from conformance.mock.bodies import Reject, strings
from conformance.mock.core import ApiKey, User
from conformance.mock.tokens import new_api_key

MAIN_ID = "usr_01jmockmain"
RESTRICTED_ID = "usr_01jmockviewer"
IDP_AUTHORIZE = "https://idp.mock.test/authorize"
PREFIX_LENGTH = 12
# Field problems in a well-formed JSON body are 422 in this API (malformed JSON stays 400).
INVALID = 422


def users(credentials: dict[str, str]) -> list[User]:
    return [User(MAIN_ID, credentials["email"]), User(RESTRICTED_ID, credentials["restricted_email"], restricted=True)]


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


async def sign_in(ctx: Ctx) -> Response:
    data = await ctx.json()
    creds = ctx.state.credentials
    user_id = MAIN_ID
    if ctx.policy.check_credentials:
        email, password = strings(data, ("email", "password"), status=INVALID, min_length=1)
        if _same(email, creds["email"]) and _same(password, creds["password"]):
            user_id = MAIN_ID
        elif _same(email, creds["restricted_email"]) and _same(password, creds["restricted_password"]):
            user_id = RESTRICTED_ID
        elif not ctx.credentials_ok(False):
            raise Reject(401, "invalid_grant", "Invalid email or password", cause="credentials")
    token, _ = ctx.issue_access(user_id)
    return ctx.ok(ctx.issuance({"access_token": token, "token_type": "bearer"}))


async def refresh_uat(ctx: Ctx) -> Response:
    principal = ctx.authenticate()
    claims = principal.claims
    if not ctx.policy.refresh_resets_expiry and claims:
        token, _ = ctx.issue_access(principal.sub, iat=claims["iat"], exp=claims["exp"])
    else:
        token, _ = ctx.issue_access(principal.sub)
    return ctx.ok({"access_token": token, "token_type": "bearer"})


async def sign_out(ctx: Ctx) -> Response:
    principal = ctx.authenticate()
    if ctx.policy.signout_needs_body:
        raise Reject(400, "invalid_request", "refresh_token is required", cause="body")
    if ctx.policy.signout_revokes:
        if principal.jti:
            ctx.state.revoked.add(principal.jti)
        elif principal.key_id:
            ctx.state.api_keys[principal.key_id].deleted = True
    return ctx.ok({"signed_out": True}) if ctx.policy.no_content_as_200 else Response(status_code=204)


async def sso_initiate(ctx: Ctx) -> Response:
    data = await ctx.json()
    tenant, redirect_uri = strings(data, ("tenant_id", "redirect_uri"), status=INVALID, min_length=1)
    creds = ctx.state.credentials
    if not ctx.policy.sso_enabled:
        raise Reject(400, "invalid_request", "SSO is not configured for this tenant", cause="sso")
    if not _same(tenant, creds["sso_tenant_id"]):
        raise Reject(
            ctx.policy.sso_unknown_tenant_status,
            "invalid_request",
            "Unknown tenant or no identity provider configured",
            cause="sso",
        )
    if not ctx.policy.sso_any_redirect and not _same(redirect_uri, creds["sso_redirect_uri"]):
        raise Reject(400, "invalid_request", "redirect_uri is not registered for this tenant", cause="sso")
    query = urlencode({"client_id": f"mock-{tenant}", "redirect_uri": redirect_uri, "state": secrets.token_urlsafe(16)})
    return ctx.ok({"redirect_url": f"{IDP_AUTHORIZE}?{query}"})


def _summary(ctx: Ctx, key: ApiKey) -> dict[str, str]:
    item = {"id": key.id, "name": key.name, "created_at": _rfc3339(key.created), "prefix": key.secret[:PREFIX_LENGTH]}
    if ctx.policy.list_full_keys:
        item["key"] = key.secret
    return item


def _rfc3339(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def create_key(ctx: Ctx) -> Response:
    user = ctx.require_permission(ctx.authenticate())
    data = await ctx.json()
    (name,) = strings(data, ("name",), status=INVALID, min_length=1)
    key = new_api_key(ctx.state, name, user.id)
    body = {"id": key.id, "name": key.name, "key": key.secret, "created_at": _rfc3339(key.created)}
    if not ctx.policy.return_key_on_create:
        del body["key"]
    return ctx.ok(body, status=201)


async def list_keys(ctx: Ctx) -> Response:
    user = ctx.require_permission(ctx.authenticate())
    if not ctx.policy.list_keys_allowed:
        raise Reject(403, "insufficient_scope", "Listing API keys needs the keys:read scope", cause="forbidden")
    keys = [k for k in ctx.state.api_keys.values() if k.owner == user.id and not k.deleted]
    if not ctx.policy.list_created_keys:
        keys = []
    items = [_summary(ctx, k) for k in keys]
    return ctx.ok(items if ctx.policy.list_unwrapped else {"data": items})


def _key(ctx: Ctx, user: User, *, deleted_ok: bool = False) -> ApiKey:
    key = ctx.state.api_keys.get(ctx.request.path_params["api_key_id"])
    if key is None or key.owner != user.id or (key.deleted and not deleted_ok):
        raise Reject(404, "not_found", "API key not found", cause="not_found")
    return key


async def get_key(ctx: Ctx) -> Response:
    if not ctx.policy.single_key_read:
        raise Reject(405, "method_not_allowed", "Method Not Allowed", cause="not_found")
    user = ctx.require_permission(ctx.authenticate())
    return ctx.ok(_summary(ctx, _key(ctx, user)))


async def delete_key(ctx: Ctx) -> Response:
    user = ctx.require_permission(ctx.authenticate())
    key = _key(ctx, user, deleted_ok=ctx.policy.double_delete_ok)
    if not ctx.policy.delete_keys_allowed:
        raise Reject(403, "insufficient_scope", "Deleting API keys needs the keys:write scope", cause="forbidden")
    key.deleted = True
    return ctx.ok({"id": key.id, "deleted": True}) if ctx.policy.no_content_as_200 else Response(status_code=204)


async def current_user(ctx: Ctx) -> Response:
    user = ctx.user(ctx.authenticate())
    return ctx.ok({"id": user.id, "email": user.email})


async def documents(ctx: Ctx) -> Response:
    ctx.authenticate()
    return ctx.ok({"data": []})


ROUTES = [
    ("/v1/auth/pw/signin", ["POST"], sign_in),
    ("/v1/auth/uat", ["POST"], refresh_uat),
    ("/v1/auth/signout", ["POST"], sign_out),
    ("/v1/auth/sso/initiate", ["POST"], sso_initiate),
    ("/v1/api-keys", ["POST"], create_key),
    ("/v1/api-keys", ["GET"], list_keys),
    ("/v1/api-keys/{api_key_id}", ["GET"], get_key),
    ("/v1/api-keys/{api_key_id}", ["DELETE"], delete_key),
    ("/v1/users/me", ["GET"], current_user),
    ("/v1/documents", ["GET"], documents),
]
