"""The machinery every vendor mock shares: the per-vendor runtime, request context, error rendering, app assembly."""

from __future__ import annotations

import functools
import importlib
import json
from collections.abc import Awaitable, Callable, Iterable, Mapping
from http import HTTPStatus
from typing import Any

from starlette.exceptions import HTTPException
from starlette.middleware.exceptions import ExceptionMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route, Router

from conformance.mock import bodies, control, faults
from conformance.mock.authz import AuthProblem, challenge, parse_authorization
from conformance.mock.bodies import Reject
from conformance.mock.core import Clock, MockState, User
from conformance.mock.faults import Policy
from conformance.mock.middleware import CONTROL_PREFIX, MockApp
from conformance.mock.tokens import API_KEY_PREFIX, InvalidToken, Minter, Principal, verify_api_key
from conformance.specs import load_profile, vendors

Handler = Callable[["Ctx"], Awaitable[Response]]
SESSION_COOKIE = "mock_session"
REFRESH_MARGIN = 3600  # "at least a day": the mock's refresh token lives the minimum plus an hour
_SERVER_ERROR_PAGE = (
    "<html><head><title>500 Internal Server Error</title></head><body><h1>Internal Server Error</h1></body></html>"
)


class MockError(Exception):
    """A mock cannot be built or started as asked (unknown vendor, fault or credential, busy port, ...)."""


class Mock:
    """One vendor's mock at run time: its profile, state, fault policy and token minter."""

    def __init__(
        self,
        vendor: str,
        *,
        fault_specs: Iterable[str] = (),
        lifetime: int | None = None,
        clock: str = "frozen",
        credentials: Mapping[str, str] | None = None,
    ) -> None:
        known = vendors()
        if vendor not in known:
            raise MockError(f"unknown vendor {vendor!r} (known: {', '.join(known)})")
        self.vendor = vendor
        self.profile = load_profile(vendor)
        # The built-in vendors have a module of their own; any other is generated from its profile and spec.
        if vendor in faults.VENDORS:
            self.module = importlib.import_module(f"conformance.mock.{vendor}")
        else:
            self.module = importlib.import_module("conformance.mock.generic").module_for(vendor)
        creds = dict(self.profile["mock"]["credentials"])
        for name, value in (credentials or {}).items():
            if name not in creds:
                raise MockError(f"{vendor} has no credential {name!r} (known: {', '.join(creds)})")
            if not isinstance(value, str) or not value:
                raise MockError(f"credential {name!r} of {vendor} must be a non-empty string")
            creds[name] = value
        lifetimes = self.profile["lifetimes"]
        access = lifetimes["access"]["seconds"]
        if lifetime is not None:
            if type(lifetime) is not int or lifetime < 1:
                raise MockError(f"lifetime must be a positive whole number of seconds, not {lifetime!r}")
            access = lifetime
        spans = {"access": access}
        if "refresh" in lifetimes:
            spans["refresh"] = lifetimes["refresh"]["min_seconds"] + REFRESH_MARGIN
        try:
            active = faults.validate(fault_specs, vendor)
            clock_ = Clock(clock)
        except ValueError as exc:
            raise MockError(str(exc)) from None
        self.state = MockState(vendor, clock_, creds, spans, start_faults=active, faults=active)
        self.state.users = {u.id: u for u in self.module.users(creds)}
        self.minter = Minter(self.state)
        self.secret_names = tuple(n for n, secret in self.profile["credentials"].items() if secret)
        self.tls = bool(self.profile["mock"].get("tls"))

    @property
    def policy(self) -> Policy:
        return _policy(self.state.faults)

    @property
    def default_user(self) -> User:
        return next(iter(self.state.users.values()))

    def reset(self, *, clear_faults: bool = False) -> None:
        self.state.reset(clear_faults=clear_faults)
        self.state.users = {u.id: u for u in self.module.users(self.state.credentials)}

    def set_faults(self, specs: Iterable[str]) -> tuple[str, ...]:
        self.state.faults = faults.validate(specs, self.vendor)
        return self.state.faults

    def secret_values(self) -> list[str]:
        return [self.state.credentials[n] for n in self.secret_names if n in self.state.credentials]

    def render(self, reject: Reject, ctx: Ctx | None = None) -> Response:
        """The decision point for every error response; the error-shaping faults act here."""
        policy = self.policy
        if policy.server_error_on_bad_input and reject.cause in ("body", "credentials", "malformed"):
            return HTMLResponse(_SERVER_ERROR_PAGE, status_code=500)
        status = reject.status
        if policy.validation_status and reject.cause == "body" and status in (400, 422):
            status = policy.validation_status
        if policy.swap_401_403:
            if reject.cause in ("missing", "malformed", "token"):
                status = 403
            elif reject.cause == "forbidden":
                status = 401
        body = dict(reject.body or {"error": reject.error, "error_description": reject.description})
        headers = {}
        if status == 401 and policy.www_authenticate:
            coded = policy.invalid_token_error if reject.presented else policy.error_without_credentials
            headers["WWW-Authenticate"] = challenge(
                self.vendor, "invalid_token" if coded else None, reject.description if coded else None
            )
            if policy.challenge_variant:
                # Another reading of RFC 6750 §3: Basic offered first, the Bearer challenge with a scope, no realm.
                bearer = headers["WWW-Authenticate"].replace(f'Bearer realm="{self.vendor}"', 'Bearer scope="api"')
                headers["WWW-Authenticate"] = f'Basic realm="{self.vendor}", {bearer}'
        if policy.error_body_variant and reject.body is None:
            body = {"statusCode": status, "message": reject.description}
        if not policy.errors_json and reject.body is None:
            return PlainTextResponse(f"{status} {HTTPStatus(status).phrase}", status_code=status, headers=headers)
        if status == 401 and policy.echo_token and ctx is not None and ctx.presented:
            field = "error_description" if "error_description" in body else "message" if "message" in body else "token"
            body[field] = f"{body.get(field, '')} (token: {ctx.presented})".lstrip()
        return JSONResponse(body, status_code=status, headers=headers)


@functools.lru_cache(maxsize=256)
def _policy(specs: tuple[str, ...]) -> Policy:
    return faults.policy(specs)


class Ctx:
    """One request to a vendor operation, with the shared decision points handlers call."""

    def __init__(self, mock: Mock, request: Request) -> None:
        self.mock = mock
        self.request = request
        self.policy = mock.policy
        self.state = mock.state
        self.presented: str | None = None
        self.cookie: str | None = None  # a session cookie to set (the cookie-only-auth fault)
        self.issuing = False  # the response is a token issuance (the issued-201 reading)

    @property
    def now(self) -> int:
        return self.state.clock.now()

    async def json(self) -> dict[str, Any]:
        return await bodies.json_body(self.request)

    async def form(self) -> dict[str, Any]:
        return await bodies.form_body(self.request, self.policy)

    def authenticate(self) -> Principal:
        """The request's principal from its Bearer token; 401 (as Reject) if it has none that works."""
        try:
            return self._authenticate()
        except Reject:
            if not self.policy.auth_required:
                return Principal(self.mock.default_user.id, "anonymous")
            raise

    def _authenticate(self) -> Principal:
        values = [v.decode("latin-1") for k, v in self.request.scope["headers"] if k.lower() == b"authorization"]
        if not values and self.policy.cookie_auth and self.request.cookies.get(SESSION_COOKIE):
            # The fault: a cookie the API set stands in for the missing Authorization header.
            values = [f"Bearer {self.request.cookies[SESSION_COOKIE]}"]
        try:
            token = parse_authorization(values, self.policy)
        except AuthProblem as problem:
            if values:
                self.presented = values[-1]
            raise Reject(
                401,
                "invalid_token" if problem.presented else "unauthorized",
                problem.description,
                cause="malformed" if problem.malformed else "missing",
                presented=problem.presented,
            ) from None
        self.presented = token
        try:
            if token.startswith(API_KEY_PREFIX) and self.mock.profile.has("keys"):
                if not self.policy.api_keys_as_bearer:
                    raise InvalidToken("API keys are not accepted here")
                principal = verify_api_key(self.state, token, self.policy)
            else:
                principal = self.mock.minter.verify(token, self.policy)
                if not self.policy.accept_valid_tokens and self._is_probe():
                    raise InvalidToken("The token is not valid")
        except InvalidToken as exc:
            raise Reject(401, "invalid_token", str(exc), cause="token") from None
        if principal.sub not in self.state.users:
            raise Reject(401, "invalid_token", "The token's user does not exist", cause="token")
        return principal

    def _is_probe(self) -> bool:
        probe = self.mock.profile["probe"]
        return self.request.method == probe["method"] and self.request.url.path == probe["path"]

    def user(self, principal: Principal) -> User:
        return self.state.users.get(principal.sub) or self.mock.default_user

    def require_permission(self, principal: Principal) -> User:
        user = self.user(principal)
        if user.restricted:
            raise Reject(403, "insufficient_scope", "Not allowed to access this resource", cause="forbidden")
        return user

    def credentials_ok(self, matches: bool) -> bool:
        """The decision point for credential checks (a fault can make every credential pass)."""
        return matches or not self.policy.check_credentials or self.policy.accept_wrong_credentials

    def access_lifetime(self) -> int:
        return max(1, round(self.state.lifetimes["access"] * self.policy.lifetime_factor))

    def issue_access(self, sub: str, *, iat: int | None = None, exp: int | None = None) -> tuple[str, int]:
        """An access token and the lifetime to advertise for it."""
        lifetime = self.access_lifetime()
        token = self.mock.minter.issue(
            sub,
            "access",
            lifetime,
            iat=iat,
            exp=exp,
            opaque=self.policy.opaque_tokens,
            malformed=self.policy.malformed_token,
        )
        return token, lifetime

    def issue_refresh(self, sub: str) -> str:
        lifetime = self.policy.refresh_lifetime or self.state.lifetimes["refresh"]
        return self.mock.minter.issue(sub, "refresh", lifetime)

    def issuance(self, body: dict[str, Any]) -> dict[str, Any]:
        """The issuance response body (a fault renames the documented token field)."""
        field = self.mock.profile["issue"]["token_field"]
        self.issuing = True
        if self.policy.cookie_auth and isinstance(body.get(field), str):
            self.cookie = body[field]
        if not self.policy.rename_token_field:
            return body
        renamed = "access_token" if field == "token" else "token"
        return {(renamed if k == field else k): v for k, v in body.items()}

    def advertised(self, lifetime: int) -> Any:
        """The lifetime as the response field carries it (a fault gives it the wrong type)."""
        if self.policy.lifetime_as_string:
            return str(lifetime)
        if not self.policy.lifetime_wrong_type:
            return lifetime
        # The value stays right (30 minutes, "3600" seconds) so that only the type is wrong.
        if "numeric_string" in self.mock.profile["issue"].get("lifetime_types", ()):
            return f"{lifetime // 60}m"
        return str(lifetime)

    def ok(self, body: Any, status: int = 200) -> Response:
        if self.issuing and status == 200:
            status = self.policy.issue_status
        if self.policy.probe_body_wrapped and self._is_probe():
            body = {"result": body}
        content = json.dumps(body, separators=(",", ":")).encode()
        response = Response(content, status_code=status, media_type=self.policy.success_media_type)
        if self.cookie is not None:
            response.set_cookie(SESSION_COOKIE, self.cookie, path="/", httponly=True, samesite="lax")
        return response


def operations(mock: Mock, handlers: Mapping[str, Handler]) -> Callable[[Request], Awaitable[Response]]:
    """One endpoint for all methods of a path, so a 405 lists every allowed method."""

    async def endpoint(request: Request) -> Response:
        method = "GET" if request.method == "HEAD" else request.method
        ctx = Ctx(mock, request)
        try:
            return await handlers[method](ctx)
        except Reject as reject:
            return mock.render(reject, ctx)

    return endpoint


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    names = {404: "not_found", 405: "method_not_allowed", 413: "invalid_request"}
    body = {"error": names.get(exc.status_code, "invalid_request"), "error_description": str(exc.detail)}
    return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)


def build_app(
    vendor: str,
    *,
    faults: Iterable[str] = (),
    lifetime: int | None = None,
    clock: str = "frozen",
    credentials: Mapping[str, str] | None = None,
) -> MockApp:
    """The ASGI app of one vendor mock (its operations plus the /_mock/ control API)."""

    mock = Mock(vendor, fault_specs=faults, lifetime=lifetime, clock=clock, credentials=credentials)
    by_path: dict[str, dict[str, Handler]] = {}
    for path, methods, handler in mock.module.ROUTES:
        by_path.setdefault(path, {}).update(dict.fromkeys(methods, handler))
    routes: list[Route | Mount] = [
        Route(path, operations(mock, handlers), methods=list(handlers)) for path, handlers in by_path.items()
    ]
    routes.append(Mount(CONTROL_PREFIX, routes=control.routes(mock)))
    inner = ExceptionMiddleware(Router(routes), handlers={HTTPException: _http_error})
    return MockApp(inner, mock)
