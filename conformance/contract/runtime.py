"""One vendor's state during the contract part: where to send, its tokens, counters, outages and created keys."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import requests

from conformance.contract import checks as contract_checks
from conformance.contract import schemas
from conformance.contract.auth import SUITE_TOKEN, THROWAWAY_TOKEN
from conformance.contract.failures import Context
from conformance.contract.options import Options
from conformance.contract.transport import OUTAGE_STATUSES, as_infrastructure, make_session
from conformance.failures import ConformanceFailure, InfrastructureError
from conformance.preflight import ensure_ready
from conformance.redact import SECRET_SHAPES, Redactor, is_secret_field

if TYPE_CHECKING:
    from schemathesis import Case
    from schemathesis.core.transport import Response

    from conformance.session import VendorSession

FRAMING_HEADERS = frozenset(
    {"content-length", "transfer-encoding", "host", "connection", "expect", "te", "trailer", "upgrade", "keep-alive"}
)
# Part of the token's lifetime after which the suite fetches a new one before using it again.
REFRESH_AT = 0.8


@dataclass
class Counter:
    """Calls of one operation that carried the suite's token, and how the target answered them."""

    calls: int = 0
    succeeded: int = 0  # 2xx answers, whoever sent them
    authorized: int = 0
    authorized_2xx: int = 0
    authorized_rejected: int = 0  # 401 or 403 to a call that carried the suite's valid token
    shared_2xx: int = 0  # successes with the token every operation shares (not a sign-out's throwaway one)


class VendorContract:
    """The contract part's view of one vendor on the selected target (one per vendor and process)."""

    def __init__(self, session: VendorSession, options: Options) -> None:
        self.session = session
        self.options = options
        self.vendor = session.vendor
        self.target = session.target
        self.profile = session.profile
        self.roles = schemas.roles(self.vendor)
        self.http = make_session(self.vendor, session.budget, session.http.limits)
        # For requests that must carry no credential of the run (Schemathesis's auth probes, deleted-key probes).
        self.probe_http = make_session(self.vendor, session.budget, session.http.limits)
        # Values kept out of failure text: every configured credential (user names and access-key ids too) and
        # secrets seen in responses. JWTs and API keys are masked by their shape; a Redactor is built per failure
        # (recompiling one on every new token is quadratic over a fuzzing run).
        self.secrets: set[str] = set(self.target.credentials.values())
        self.tokens: set[str] = set()
        self.throwaways: set[str] = set()
        self.token_independent: set[str] = set()
        self._token: str | None = None
        self._token_expires = 0.0
        self._lifetime = float(session.lifetime)
        self._token_lock = threading.Lock()
        self.counters: dict[str, Counter] = {}
        self.broken: dict[str, InfrastructureError] = {}
        self.token_failure: BaseException | None = None
        self.created_keys: dict[str, str] = {}
        self.deleted_keys: set[str] = set()
        self.last_rejected: dict[str, Context] = {}
        # Operations whose auth enforcement ignored_auth has confirmed in this run (it probes each once).
        self.auth_enforced: set[str] = set()
        self.checks = contract_checks.response_checks(self)
        self._lock = threading.Lock()

    # --- transport ----------------------------------------------------------------------------------------

    def transport_kwargs(self) -> dict[str, Any]:
        return {
            "base_url": self.target.base_url,
            "session": self.http,
            "verify": self.target.verify,
            "timeout": self.target.timeout,
        }

    def call(self, case: Case, label: str | None = None) -> Response:
        """Send a case with the current token (fetched again once on an unexpected 401); outages raise."""
        label = label or case.operation.label
        if label in self.broken:
            # Hypothesis replays and shrinks a failing example: do not spend more requests on a known outage.
            raise self.broken[label]
        kwargs = self.transport_kwargs()

        def send() -> Response:
            try:
                return case.call(**kwargs)
            except InfrastructureError:
                raise
            except (requests.RequestException, OSError) as exc:
                raise as_infrastructure(self.vendor, self.target.base_url, exc, self.session.redactor) from None

        try:
            self.prepare(case)
            sent = self.authorize(case)
            response = send()
            role = self.roles.get(label)
            if (
                response.status_code == 401
                and sent is not None
                and sent not in self.throwaways
                and role is not None
                and role.protected
                and label not in self.token_independent
            ):
                # The token may have expired or been revoked: fetch a new one once and replay. If the replay is
                # refused too, the 401 is not about the token's age (no re-fetch storm on every later 401).
                fresh = self.renew(sent)
                if fresh != sent:
                    _set_bearer(case, fresh)
                    response = send()
                if response.status_code == 401:
                    self.token_independent.add(label)
            if response.status_code in OUTAGE_STATUSES:
                raise InfrastructureError(
                    f"{self.vendor}: {label} answered {response.status_code} after the retries the budget allows "
                    "(outage or rate limit, not a conformance verdict)"
                )
        except InfrastructureError as exc:
            self.broken[label] = exc
            raise
        self.observe(case, response)
        return response

    # --- tokens -------------------------------------------------------------------------------------------

    def authorize(self, case: Case) -> str | None:
        """Put a real token where the auth provider left its placeholder (or an earlier token); return it."""
        headers = case.headers or {}
        header = next((v for k, v in headers.items() if k.lower() == "authorization"), None)
        if not isinstance(header, str):
            return None
        scheme, _, value = header.partition(" ")
        if scheme != "Bearer":
            return None
        if value == THROWAWAY_TOKEN or value in self.throwaways:
            # Sign-out revokes what it is given: a fresh token each time, never the shared one.
            token = self.issue_throwaway()
        elif value == SUITE_TOKEN or value in self.tokens:
            token = self.current_token()
        else:
            return None
        _set_bearer(case, token)
        return token

    def current_token(self) -> str:
        """The token protected operations share, fetched again at 80 % of its lifetime."""
        with self._token_lock:
            if self._token is None or time.monotonic() >= self._token_expires:
                self._token = self.fetch_token()
                self._token_expires = time.monotonic() + self._lifetime * REFRESH_AT
            return self._token

    def renew(self, stale: str) -> str:
        """A new shared token, unless another call already replaced `stale`."""
        with self._token_lock:
            if self._token == stale:
                self._token = None
        return self.current_token()

    def fetch_token(self) -> str:
        """A new access token from the target's credentials (through the vendor session: budget, redaction)."""
        if self.token_failure is not None:
            raise self.token_failure
        try:
            tok = self.session.issue()
        except (ConformanceFailure, InfrastructureError) as exc:
            # Every operation would fail the same way: report it everywhere, without more requests.
            self.token_failure = exc
            raise
        finally:
            self.session.recorder.drain()
        self.remember_token(tok.value)
        lifetimes = [float(self.session.lifetime)]
        if isinstance(tok.advertised, int) and not isinstance(tok.advertised, bool) and tok.advertised > 0:
            lifetimes.append(float(tok.advertised))
        if tok.jwt_lifetime and tok.jwt_lifetime > 0:
            lifetimes.append(float(tok.jwt_lifetime))
        self._lifetime = min(lifetimes)
        return tok.value

    def issue_throwaway(self) -> str:
        """A one-off token for an operation that revokes it (sign-out), issued like the session issues tokens."""
        spec = self.profile["issue"]
        body = self.session.credential_body()
        if spec["encoding"] == "json":
            payload: dict[str, Any] = {"json": body}
        elif spec["encoding"] == "multipart":
            payload = {"files": {k: (None, str(v)) for k, v in body.items()}}
        else:
            payload = {"data": body}
        try:
            answer = self.http.request(
                spec["method"],
                self.target.base_url + spec["path"],
                verify=self.target.verify,
                timeout=self.target.timeout,
                **payload,
            )
        except (requests.RequestException, OSError) as exc:
            raise as_infrastructure(self.vendor, self.target.base_url, exc, self.session.redactor) from None
        try:
            token = answer.json()[spec["token_field"]] if 200 <= answer.status_code < 300 else None
        except (ValueError, KeyError, TypeError):
            token = None
        # Surrounding whitespace cannot travel in a header: sent stripped, as the session sends its tokens (and as a
        # client would); the token-format check reports the raw value.
        token = token.strip() if isinstance(token, str) else None
        if not token:
            # Let the session's issuance say what is wrong (a finding with claims, or an outage).
            token = self.fetch_token()
        self.remember_token(token)
        with self._lock:
            self.throwaways.add(token)
        return token

    def remember_token(self, value: str) -> None:
        with self._lock:
            self.tokens.add(value)
            if not SECRET_SHAPES.fullmatch(value):
                self.secrets.add(value)
        self.session.redactor.add(value)

    def redactor(self) -> Redactor:
        """The run's redactor, knowing the vendor's credentials, tokens and every secret seen so far."""
        with self._lock:
            pending = sorted(self.secrets)
        for secret in pending:
            self.session.redactor.add(secret)
        return self.session.redactor

    def carries_suite_token(self, response: Response, *, throwaway: bool = False) -> bool:
        """Whether the request carried a token the suite obtained (with `throwaway`: a sign-out's one-off token)."""
        header = response.request.headers.get("Authorization", "")
        scheme, _, value = header.partition(" ")
        return scheme == "Bearer" and value in (self.throwaways if throwaway else self.tokens)

    # --- before and after each call -----------------------------------------------------------------------

    def prepare(self, case: Case) -> None:
        """Adapt a case to the target: its own credentials in the spec's mock example, prefixed key names."""
        if case.headers:
            # Undeclared headers that negative generation may invent: a nonsense Content-Length or Host makes the
            # HTTP server, not the API, refuse the request (an undocumented 400 that says nothing about the API).
            case.headers = {k: v for k, v in case.headers.items() if k.lower() not in FRAMING_HEADERS}
        role = self.roles.get(case.operation.label)
        body = case.body if isinstance(case.body, dict) else None
        if role is None or body is None:
            return
        if role.issue and self._is_mock_example(body):
            fields = self.profile["issue"]["fields"]
            # Plain strings: Schemathesis validates bodies with a validator that knows only built-in types.
            case.body = {**body, **{f: str(self.target.credentials[c]) for f, c in fields.items()}}
        if role.key_create and not self.options.is_mock and isinstance(body.get("name"), str):
            prefix = self.profile["keys"].get("name_prefix", "auth-conformance-")
            if not body["name"].startswith(prefix):
                case.body = {**body, "name": prefix + body["name"]}

    def _is_mock_example(self, body: dict[str, Any]) -> bool:
        """The spec's example with the mocks' default credentials: replaced by the target's own credentials."""
        fields = self.profile["issue"]["fields"]
        defaults = self.profile.get("mock", {}).get("credentials", {})
        return all(f in body and body[f] == defaults.get(c) for f, c in fields.items())

    def observe(self, case: Case, response: Response) -> None:
        label = case.operation.label
        role = self.roles.get(label)
        data: Any = None
        content_type = (response.headers.get("content-type", [""])[0] or "").lower()
        if response.content:
            # Secrets are learned from every answer, whatever its media type (the run's redactor masks them).
            headers = [(k, v) for k, values in response.headers.items() for v in values]
            self.session.redactor.learn(response.content.decode("utf-8", "replace"), content_type, headers)
        if response.content and "json" in content_type:
            with contextlib.suppress(ValueError, UnicodeDecodeError):
                data = json.loads(response.content)
        if data is not None:
            self._collect_secrets(data)
        with self._lock:
            counter = self.counters.setdefault(label, Counter())
            counter.calls += 1
            counter.succeeded += 200 <= response.status_code < 300
            if role is not None and role.protected and self.carries_suite_token(response):
                counter.authorized += 1
                if 200 <= response.status_code < 300:
                    counter.authorized_2xx += 1
                    if not self.carries_suite_token(response, throwaway=True):
                        counter.shared_2xx += 1
                elif response.status_code in (401, 403):
                    counter.authorized_rejected += 1
                    self.last_rejected[label] = Context(self.vendor, case, response, self.target.base_url)
            if role is not None and 200 <= response.status_code < 300:
                if role.key_create and isinstance(data, dict):
                    key_id, secret = data.get(self.profile["keys"]["id_field"]), data.get("key")
                    if isinstance(key_id, str):
                        self.created_keys[key_id] = secret if isinstance(secret, str) else ""
                if role.key_delete:
                    key_id = (case.path_parameters or {}).get(_path_param(role.path))
                    if isinstance(key_id, str):
                        self.deleted_keys.add(key_id)

    def _collect_secrets(self, data: Any) -> None:
        if isinstance(data, dict):
            for key, value in data.items():
                if isinstance(value, str) and is_secret_field(str(key)):
                    if value and not SECRET_SHAPES.fullmatch(value):
                        with self._lock:
                            self.secrets.add(value)
                        self.session.redactor.add(value)
                else:
                    self._collect_secrets(value)
        elif isinstance(data, list):
            for item in data:
                self._collect_secrets(item)

    # --- end of run ---------------------------------------------------------------------------------------

    def cleanup(self) -> list[str]:
        """On real targets, delete the keys the suite created and did not delete itself; returns problems."""
        leftovers = [k for k in self.created_keys if k not in self.deleted_keys]
        if self.options.is_mock or not leftovers or "keys" not in self.profile.data:
            return []
        spec = self.profile["keys"]["delete"]
        problems = []
        try:
            token = self.current_token()
        except (ConformanceFailure, InfrastructureError) as exc:
            return [f"{self.vendor}: could not clean up {len(leftovers)} key(s): {str(exc).splitlines()[0]}"]
        for key_id in leftovers:
            path = spec["path"].replace("{" + _path_param(spec["path"]) + "}", key_id)
            try:
                resp = self.session.http.request(spec["method"], path, headers={"Authorization": f"Bearer {token}"})
            except InfrastructureError as exc:
                problems.append(str(exc))
                continue
            if resp.status in spec["status"] or resp.status == 404:
                self.deleted_keys.add(key_id)
            else:
                problems.append(f"{self.vendor}: deleting key {key_id} answered {resp.status}")
        self.session.recorder.drain()
        return problems


def _set_bearer(case: Case, token: str) -> None:
    headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
    case.headers = {**headers, "Authorization": f"Bearer {token}"}


def _path_param(path: str) -> str:
    start = path.find("{")
    return path[start + 1 : path.find("}", start)] if start >= 0 else ""


# --- the vendors of this process ------------------------------------------------------------------------------

ACTIVE: dict[str, VendorContract] = {}


def get(vendor: str) -> VendorContract:
    """The vendor's contract runtime, once its preflight passed (a stopped vendor raises its one-line cause)."""
    try:
        contract = ACTIVE[vendor]
    except KeyError:
        raise RuntimeError(
            f"the contract runtime of {vendor} is not set up (use the contract_runtime fixture)"
        ) from None
    # An outage is reported by the test's own requests (with the seed that reproduces them), not here.
    with contextlib.suppress(InfrastructureError):
        ensure_ready(contract.session)
    return contract
