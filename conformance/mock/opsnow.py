"""The OpsNow mock: JSON apiKey for a 3600 s JWT (accessToken, expiresIn), a protected probe."""

from __future__ import annotations

import hmac

from starlette.responses import Response

from conformance.mock.app import Ctx
from conformance.mock.bodies import Reject, strings
from conformance.mock.core import User

USER_ID = "usr_opsnow_mock"


def users(credentials: dict[str, str]) -> list[User]:
    return [User(USER_ID, "mock-user@opsnow.test")]


async def issue_token(ctx: Ctx) -> Response:
    data = await ctx.json()
    if ctx.policy.check_credentials:
        (api_key,) = strings(data, ("apiKey",), min_length=1)
        if not ctx.credentials_ok(hmac.compare_digest(api_key.encode(), ctx.state.credentials["api_key"].encode())):
            raise Reject(401, "invalid_client", "Invalid API key", cause="credentials")
    token, lifetime = ctx.issue_access(USER_ID)
    return ctx.ok(ctx.issuance({"accessToken": token, "expiresIn": ctx.advertised(lifetime)}))


async def current_user(ctx: Ctx) -> Response:
    user = ctx.user(ctx.authenticate())
    return ctx.ok({"id": user.id, "email": user.email})


ROUTES = [
    ("/platform/v2/identity/api-keys/token", ["POST"], issue_token),
    ("/platform/v2/identity/users/me", ["GET"], current_user),
]
