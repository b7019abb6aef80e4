"""The KlearStack mock: form-data token pair, refresh by form field, a protected probe; served over TLS."""

from __future__ import annotations

import hmac

from starlette.responses import Response

from conformance.mock.app import Ctx
from conformance.mock.bodies import Reject, strings
from conformance.mock.core import User
from conformance.mock.tokens import InvalidToken

USER_ID = "usr_klearstack_mock"
TEMPLATES = [{"id": "tpl_invoice", "name": "Invoice"}, {"id": "tpl_receipt", "name": "Receipt"}]


def users(credentials: dict[str, str]) -> list[User]:
    return [User(USER_ID, credentials["username"])]


async def get_access_token(ctx: Ctx) -> Response:
    form = await ctx.form()
    creds = ctx.state.credentials
    if ctx.policy.check_credentials:
        username, password = strings(form, ("username", "password"), min_length=1)
        matches = hmac.compare_digest(username.encode(), creds["username"].encode()) and hmac.compare_digest(
            password.encode(), creds["password"].encode()
        )
        if not ctx.credentials_ok(matches):
            raise Reject(401, "invalid_grant", "Invalid username or password", cause="credentials")
    access, lifetime = ctx.issue_access(USER_ID)
    body = {"access_token": access}
    if ctx.policy.issue_refresh_token:
        refresh = ctx.issue_refresh(USER_ID)
        body["refresh_token"] = refresh
        issued = ctx.mock.minter.claims_of(access)
        ctx.state.sessions[ctx.mock.minter.claims_of(refresh)["jti"]] = (issued["iat"], issued["exp"])
    return ctx.ok(ctx.issuance(body))


async def refresh_access_token(ctx: Ctx) -> Response:
    form = await ctx.form()
    (refresh,) = strings(form, ("refresh_token",), min_length=1)
    ctx.presented = refresh
    try:
        # never-expire is about access tokens; the refresh token keeps its own expiry.
        principal = ctx.mock.minter.verify(refresh, ctx.policy, typ="refresh", check_expiry=True)
    except InvalidToken as exc:
        raise Reject(401, "invalid_grant", f"Refresh token is invalid or expired ({exc})", cause="refresh") from None
    session = ctx.state.sessions.get(principal.jti or "")
    if not ctx.policy.refresh_resets_expiry and session:
        access, _ = ctx.issue_access(principal.sub, iat=session[0], exp=session[1])
    else:
        access, _ = ctx.issue_access(principal.sub)
    body = {"access_token": access}
    if ctx.policy.refresh_rotates:
        body["refresh_token"] = ctx.issue_refresh(principal.sub)
    return ctx.ok(body)


async def get_templates(ctx: Ctx) -> Response:
    ctx.authenticate()
    return ctx.ok({"templates": TEMPLATES})


ROUTES = [
    ("/get_access_token", ["POST"], get_access_token),
    ("/getaccesstokenfromrefreshtoken", ["POST"], refresh_access_token),
    ("/get_templates", ["POST"], get_templates),
]
