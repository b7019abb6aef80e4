"""The Klavi mock: JSON accessKey/secretKey for a 1800 s JWT, the documented 401 body, a protected probe."""

from __future__ import annotations

import hmac

from starlette.responses import Response

from conformance.mock.app import Ctx
from conformance.mock.bodies import Reject, strings
from conformance.mock.core import User

APP_ID = "app_klavi_mock"
# The doc's 401 example, exactly (casing reconstructed from the lower-cased page).
DOCUMENTED_401 = {"statusCode": 401, "error": "Unauthorized", "message": "Invalid accessKey or secretKey"}
UNDOCUMENTED_401 = {"statusCode": 401, "error": "Unauthorized", "message": "Authentication failed"}


def users(credentials: dict[str, str]) -> list[User]:
    return [User(APP_ID, "partner-app@klavi.test")]


async def auth(ctx: Ctx) -> Response:
    data = await ctx.json()
    creds = ctx.state.credentials
    if ctx.policy.check_credentials:
        access_key, secret_key = strings(data, ("accessKey", "secretKey"))
        matches = hmac.compare_digest(access_key.encode(), creds["access_key"].encode()) and hmac.compare_digest(
            secret_key.encode(), creds["secret_key"].encode()
        )
        if not ctx.credentials_ok(matches):
            body = DOCUMENTED_401 if ctx.policy.documented_401_body else UNDOCUMENTED_401
            raise Reject(401, "Unauthorized", body["message"], cause="credentials", body=body)
    token, lifetime = ctx.issue_access(APP_ID)
    return ctx.ok(ctx.issuance({"accessToken": token, "expireIn": ctx.advertised(lifetime)}))


async def reports(ctx: Ctx) -> Response:
    ctx.authenticate()
    return ctx.ok({"reports": []})


ROUTES = [
    ("/monitor/v1/auth", ["POST"], auth),
    ("/monitor/v1/reports", ["GET"], reports),
]
