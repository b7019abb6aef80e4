"""A small profile-driven client for a running mock: sign in, call the probe, send raw headers."""

from __future__ import annotations

import http.client
import ssl
from typing import Any

import jwt
import requests

from conformance.cookies import refuse_cookies
from conformance.mock.server import MockServer
from conformance.specs import load_profile


class MockClient:
    """Talks to one MockServer the way the profile says its vendor is used."""

    def __init__(self, server: MockServer) -> None:
        self.server = server
        self.profile = load_profile(server.vendor)
        # Cookies are sent only where a caller puts them: a probe must carry exactly what it was given.
        self.session = refuse_cookies(requests.Session())
        # Loopback only: no proxies and no CA bundle from the environment overriding the mock's own CA.
        self.session.trust_env = False
        self.verify: str | bool = server.ca_path or True

    def close(self) -> None:
        self.session.close()

    def request(
        self, method: str, path: str, *, token: str | None = None, authorization: str | None = None, **kw: Any
    ) -> requests.Response:
        headers = dict(kw.pop("headers", None) or {})
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        if authorization is not None:
            headers["Authorization"] = authorization
        kw.setdefault("timeout", 10)
        return self.session.request(method, self.server.base_url + path, headers=headers, verify=self.verify, **kw)

    def credential_fields(self, **overrides: Any) -> dict[str, Any]:
        """The issuance body fields filled from the mock's credentials, then `overrides` (None drops a field)."""
        creds = self.server.credentials
        fields: dict[str, Any] = {field: creds[name] for field, name in self.profile["issue"]["fields"].items()}
        fields.update(overrides)
        return {k: v for k, v in fields.items() if v is not None}

    def send_body(self, method: str, path: str, fields: dict[str, Any], encoding: str, **kw: Any) -> requests.Response:
        if encoding == "json":
            return self.request(method, path, json=fields, **kw)
        if encoding == "multipart":
            return self.request(method, path, files={k: (None, str(v)) for k, v in fields.items()}, **kw)
        return self.request(method, path, data=fields, **kw)

    def issue(self, *, encoding: str | None = None, **overrides: Any) -> requests.Response:
        spec = self.profile["issue"]
        return self.send_body(
            spec["method"], spec["path"], self.credential_fields(**overrides), encoding or spec["encoding"]
        )

    def issued(self, **overrides: Any) -> dict[str, Any]:
        response = self.issue(**overrides)
        if response.status_code != 200:
            raise AssertionError(f"issuance answered {response.status_code}: {response.text[:200]}")
        return response.json()

    def token(self) -> str:
        return self.issued()[self.profile["issue"]["token_field"]]

    def probe(self, token: str | None = None, *, authorization: str | None = None, **kw: Any) -> requests.Response:
        spec = self.profile["probe"]
        return self.request(spec["method"], spec["path"], token=token, authorization=authorization, **kw)

    def raw(
        self, method: str, path: str, headers: list[tuple[str, bytes | str]], body: bytes | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        """A request with headers exactly as given (repeated, non-ASCII, tabs), past what requests allows."""
        host = "127.0.0.1" if self.server.host in ("0.0.0.0", "::") else self.server.host
        port = self.server.port
        if self.server.tls:
            context = ssl.create_default_context(cafile=self.server.ca_path)
            conn: http.client.HTTPConnection = http.client.HTTPSConnection(host, port, context=context, timeout=10)
        else:
            conn = http.client.HTTPConnection(host, port, timeout=10)
        try:
            conn.putrequest(method, path, skip_accept_encoding=True)
            for name, value in headers:
                conn.putheader(name, value)
            if body is not None:
                conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body)
            response = conn.getresponse()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
        finally:
            conn.close()


def claims(token: str) -> dict[str, Any]:
    """A JWT's claims, unverified (for reading exp and iat)."""
    return jwt.decode(token, options={"verify_signature": False})
