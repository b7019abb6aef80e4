"""A vendor under test at run time: its profile, target, HTTP client, tokens and (on mocks) its clock."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from conformance import jwtutil
from conformance.config import VendorTarget
from conformance.failures import ConformanceFailure, Finding, InfrastructureError, Mismatch, VendorConfigError
from conformance.http import Budget, HttpClient, Recorder, Response
from conformance.limits import Limits
from conformance.redact import Redactor
from conformance.specs import Profile, claims_for, load_profile


@dataclass
class IssuedToken:
    """A token the suite obtained, with when it was obtained (client clock) and its documented lifetime."""

    # Secrets stay out of repr: tracebacks and assertion rewriting print objects.
    value: str = field(repr=False)
    response: Response = field(repr=False)
    issued_at: float
    refresh_token: str | None = field(default=None, repr=False)
    advertised: Any = None
    # When the answer came back (client clock): the vendor stamped iat before this moment.
    received_at: float = 0.0
    # The token exactly as the vendor sent it (value is stripped of surrounding whitespace).
    raw: str = field(default="", repr=False)

    @property
    def jwt_lifetime(self) -> int | None:
        return jwtutil.lifetime(self.value) if jwtutil.looks_like_jwt(self.value) else None


@dataclass
class VendorSession:
    """Everything a scenario needs to talk to one vendor on one target; checks report through it."""

    target: VendorTarget
    movable_clock: bool
    redactor: Redactor
    recorder: Recorder = field(default_factory=Recorder)
    findings: list[Finding] = field(default_factory=list)
    checks_passed: list[str] = field(default_factory=list)
    security_notes: list[str] = field(default_factory=list)
    lifetimes_seen: list[dict[str, Any]] = field(default_factory=list)
    token_requests: int = 0
    # A mock served from this process resets without an HTTP round trip (one per scenario adds up).
    reset_in_process: Callable[[], None] | None = None
    sessions_opened: list[str] = field(default_factory=list)
    # Set once the preflight (credentials accepted, probe exists) has run in this process.
    ready: bool = False
    _token: IssuedToken | None = None

    def __post_init__(self) -> None:
        self.profile: Profile = load_profile(self.target.vendor)
        for secret in self.target.secrets:
            self.redactor.add(secret)
        self.budget = Budget(
            max_requests=self.target.request_budget,
            max_retries=self.target.retry_budget,
            max_retry_wait=self.target.max_retry_wait,
        )
        self.http = HttpClient(
            self.vendor,
            self.target.base_url,
            verify=self.target.verify,
            timeout=self.target.timeout,
            budget=self.budget,
            redactor=self.redactor,
            recorder=self.recorder,
            limits=Limits(deadline=self.target.deadline, max_response_bytes=self.target.max_response_bytes),
        )
        self.control = (
            HttpClient(
                self.vendor,
                self.target.control_url,
                verify=self.target.verify,
                redactor=self.redactor,
                recorder=Recorder(),
            )
            if self.target.control_url
            else None
        )

    @property
    def vendor(self) -> str:
        return self.target.vendor

    # --- checks -------------------------------------------------------------------------------------------

    def check(self, name: str, *args: Any, **kwargs: Any) -> bool:
        """Run a named check; a mismatch becomes a finding and the scenario goes on. Returns whether it held."""
        from conformance.checks import CHECKS

        fn = CHECKS[name]
        try:
            fn(self, *args, **kwargs)
        except Mismatch as m:
            resp = next((a for a in args if isinstance(a, Response)), None)
            # Checks see raw values: the finding is text for reports, so it passes the redactor first.
            r = self.redactor.text
            self.findings.append(
                Finding(
                    name,
                    claims_for(self.vendor, name),
                    r(str(m.expected)),
                    r(str(m.actual)),
                    resp.exchange if resp is not None else None,
                    r(m.detail),
                )
            )
            return False
        self.checks_passed.append(name)
        return True

    def require(self, name: str, *args: Any, **kwargs: Any) -> None:
        """Run a check the rest of the scenario depends on: stop the scenario if it does not hold."""
        if not self.check(name, *args, **kwargs):
            raise ConformanceFailure(self.findings)

    def finish(self) -> None:
        """Raise the findings collected during a scenario, if any."""
        if self.findings:
            raise ConformanceFailure(self.findings)

    def reset(self) -> None:
        self.findings = []
        self.checks_passed = []
        self.security_notes = []
        self.lifetimes_seen = []
        self.recorder.drain()
        if self.reset_in_process is not None:
            self.reset_in_process()
        elif self.control is not None:
            self.control.request("POST", "/reset", json_body={})

    # --- mock clock -----------------------------------------------------------------------------------------

    def advance_clock(self, seconds: int) -> None:
        if self.control is None:
            raise RuntimeError("this target cannot move its clock")
        self.control.request("POST", "/clock", json_body={"advance": seconds})

    def set_faults(self, faults: list[str]) -> None:
        if self.control is None:
            raise RuntimeError("only mock targets have faults")
        self.control.request("PUT", "/faults", json_body={"faults": faults})

    # --- flows ------------------------------------------------------------------------------------------------

    @property
    def lifetime(self) -> int:
        """The access-token lifetime to expect: a target override, else the profile's."""
        return int(self.target.lifetimes.get("access") or self.profile["lifetimes"]["access"]["seconds"])

    @property
    def lifetime_documented(self) -> bool:
        """The access lifetime is the docs' (or the target's configured) value, not an assumption."""
        return self.profile["lifetimes"]["access"]["kind"] == "documented" or "access" in self.target.lifetimes

    @property
    def refresh_lifetime_min(self) -> int | None:
        spec = self.profile["lifetimes"].get("refresh")
        return int(self.target.lifetimes.get("refresh") or spec["min_seconds"]) if spec else None

    def credential_body(
        self, overrides: dict[str, Any] | None = None, fields: dict[str, str] | None = None
    ) -> dict[str, Any]:
        fields = fields or self.profile["issue"]["fields"]
        body: dict[str, Any] = {f: self.target.credentials[c] for f, c in fields.items()}
        for k, val in (overrides or {}).items():
            if val is DROP:
                body.pop(k, None)
            else:
                body[k] = val
        return body

    def send_body(self, method: str, path: str, body: dict[str, Any], encoding: str, **kw: Any) -> Response:
        if encoding == "json":
            return self.http.request(method, path, json_body=body, **kw)
        if encoding == "multipart":
            return self.http.request(method, path, files={k: (None, str(v)) for k, v in body.items()}, **kw)
        return self.http.request(method, path, data=body, **kw)

    def issue_raw(
        self,
        overrides: dict[str, Any] | None = None,
        *,
        encoding: str | None = None,
        fields: dict[str, str] | None = None,
    ) -> Response:
        spec = self.profile["issue"]
        self.token_requests += 1
        resp = self.send_body(
            spec["method"], spec["path"], self.credential_body(overrides, fields), encoding or spec["encoding"]
        )
        self._track_session(resp, spec["token_field"])
        return resp

    def _track_session(self, resp: Response, field: str) -> None:
        """Remember tokens that opened a session, so they can be signed out when the run ends."""
        body = resp.json_or_none() if 200 <= resp.status < 300 else None
        if self.profile.get("signout") and isinstance(body, dict) and isinstance(body.get(field), str):
            self.sessions_opened.append(body[field])

    def issue(self, *, fields: dict[str, str] | None = None) -> IssuedToken:
        """Obtain a new token with the configured credentials; the issuance itself must succeed."""
        started = time.time()
        resp = self.issue_raw(fields=fields)
        self.require("issuance_succeeds", resp)
        return self.issued(resp, started)

    def issued(self, resp: Response, started: float) -> IssuedToken:
        """The token of a successful issuance response, its lifetimes noted for the drift fingerprint."""
        spec = self.profile["issue"]
        body = resp.json()
        refresh = body.get(spec.get("refresh_field", "")) if spec.get("refresh_field") else None
        tok = IssuedToken(
            # Surrounding whitespace cannot travel in a header; token_is_jwt reports it where tokens are JWTs.
            value=body[spec["token_field"]].strip(),
            raw=body[spec["token_field"]],
            response=resp,
            issued_at=started,
            refresh_token=refresh.strip() if isinstance(refresh, str) else refresh,
            advertised=body.get(spec["lifetime_field"]) if spec.get("lifetime_field") else None,
            received_at=time.time(),
        )
        self.lifetimes_seen.append(
            {"token": "access", "advertised": tok.advertised, "jwt_exp_minus_iat": tok.jwt_lifetime}
        )
        if tok.refresh_token and jwtutil.looks_like_jwt(tok.refresh_token):
            self.lifetimes_seen.append({"token": "refresh", "jwt_exp_minus_iat": jwtutil.lifetime(tok.refresh_token)})
        return tok

    def token(self) -> IssuedToken:
        """A token reused across scenarios that only need a valid one (few calls to the token endpoint)."""
        tok = self._token
        if tok is None or time.time() > tok.issued_at + self.lifetime * 0.8:
            tok = self._token = self.issue()
        return tok

    def keep_token(self, tok: IssuedToken) -> None:
        """Reuse `tok` (e.g. the preflight's) as the shared token."""
        self._token = tok

    def close_sessions(self) -> int:
        """Sign out every session the suite opened (where the vendor has sign-out); returns how many succeeded."""
        spec = self.profile.get("signout")
        closed = 0
        if isinstance(self.budget.stopped, VendorConfigError):
            # The host answers; only the verdicts were stopped. What the preflight opened is still closed.
            self.budget.stopped = None
        for value in self.sessions_opened if spec else []:
            try:
                resp = self.http.request(spec["method"], spec["path"], headers=bearer(value))
            except (InfrastructureError, VendorConfigError):
                continue
            # 401: already signed out (or expired) by a scenario; nothing left to close.
            closed += 200 <= resp.status < 300
        self.sessions_opened = []
        return closed

    def close(self) -> None:
        """Close the connections (vendor and mock control): an idle keep-alive would hold up a mock's shutdown."""
        self.http.close()
        if self.control is not None:
            self.control.close()

    def probe(self, authorization: str | None = None, *, headers: dict[str, str] | None = None) -> Response:
        spec = self.target.probe or self.profile["probe"]
        hdrs = dict(headers or {})
        if authorization is not None:
            hdrs["Authorization"] = authorization
        return self.http.request(spec["method"], spec["path"], headers=hdrs)

    def probe_raw(self, header_lines: list[tuple[bytes, bytes]]) -> Response:
        spec = self.target.probe or self.profile["probe"]
        return self.http.raw_request(spec["method"], spec["path"], header_lines)

    def refresh(self, tok: IssuedToken) -> Response:
        spec = self.profile["refresh"]
        if spec["send"] == "bearer_access_token":
            resp = self.http.request(spec["method"], spec["path"], headers=bearer(tok.value))
        else:
            resp = self.send_body(
                spec["method"], spec["path"], {spec["field"]: tok.refresh_token or ""}, spec["encoding"]
            )
        self._track_session(resp, spec["token_field"])
        return resp

    def wait_until(self, deadline: float) -> None:
        """Sleep on the real clock until `deadline` (used only with --real-wait), never past max_real_wait."""
        delay = deadline - time.time()
        if delay > self.target.max_real_wait:
            raise InfrastructureError(
                f"{self.vendor}: a real wait of {delay:.0f} s exceeds max_real_wait ({self.target.max_real_wait:g} s)"
            )
        if delay > 0:
            time.sleep(delay)


class _Drop:
    def __repr__(self) -> str:
        return "<field removed>"


DROP = _Drop()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
