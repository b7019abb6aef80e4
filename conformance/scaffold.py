"""`conformance new-vendor NAME`: the three data files of a new vendor, each saying what to fill in from its docs."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from conformance import specs
from conformance.failures import SuiteConfigError

PROFILE = """\
# {title}: what differs between vendors, as data (schema: the suite's profile.schema.json).
# Fill in from the vendor's authentication page; every value below is a placeholder that runs against the
# generated mock, so `conformance run --specs {folder} --vendor {name}` works before you change anything.
vendor: {name}
title: {title}                 # the vendor's name as the report shows it
# What the docs describe. Drop what the vendor lacks; add refresh, keys, revocation, signout, form_body, tls...
# only with the profile sections they need (see the built-in vendors' profiles for each one).
capabilities: [issuance, bearer, jwt, expiry, json_body, robustness]
# Every credential the token request needs -> true if it is a secret (secrets are redacted everywhere).
credentials: {{client_id: false, client_secret: true}}
token: {{format: jwt, scheme: Bearer}}   # format: opaque if the docs do not promise a JWT
issue:                          # the documented token request
  method: POST
  path: /oauth/token            # the path the docs give for getting a token
  status: [200]
  encoding: json                # json or form, as the docs' example sends it
  fields: {{clientId: client_id, clientSecret: client_secret}}   # body field -> credential name above
  token_field: access_token     # the response field holding the token
  lifetime_field: expires_in    # the response field advertising the lifetime, if any (else delete the line)
  lifetime_types: [integer]
  bad_credentials_status: [401] # what the docs say wrong credentials get
lifetimes:
  # The documented lifetime; kind: assumed (with the common 3600 s) when the docs are silent.
  access: {{seconds: 3600, kind: assumed, note: "TODO: the docs' token lifetime"}}
probe:                          # a protected endpoint that answers 200 to a valid token
  method: GET
  path: /me
  status: [200]
  assumed: "TODO: name a protected endpoint of the docs (or configure `probe` in conformance.toml)"
sandbox:
  base_url: null                # the sandbox host the docs give, e.g. https://sandbox.example.com
  note: "TODO: the docs' sandbox host; until then set base_url in conformance.toml"
mock:                           # credentials of the generated mock (made up; never real ones)
  credentials: {{client_id: mock-{name}-client, client_secret: mock-{name}-secret}}
  tls: false
"""

CLAIMS = """\
# Every testable statement of {title}'s docs, quoted verbatim, with a stable ID (schema: claims.schema.json).
# For each sentence of the auth page: a claim (quote, source section, kind, the checks that verify it) or a
# not_testable entry saying why. kind: documented (the page says it), rfc, or assumed (the page is silent and the
# suite takes the common convention: then `reading` says which). Checks are named in conformance/checks.py;
# the RFC claims every vendor shares (WWW-Authenticate, scheme case, ...) come with the suite.
vendor: {name}
doc:
  title: "TODO: the title of the vendor's authentication page"
  url: https://docs.example.com/{name}/authentication   # TODO: the page's address
claims:
  - id: {prefix}-AUTH-001
    title: The token request with valid credentials issues a token
    quote: "TODO: paste the sentence that documents the token request"
    source: "TODO: section of the page"
    kind: assumed
    reading: Until the quote is pasted, the suite assumes the request above returns a token.
    severity: blocker
    capability: issuance
    checks: [issuance_succeeds, issuance_body_matches_schema, json_body_accepted, issuance_content_type_json]
  - id: {prefix}-AUTH-002
    title: Wrong credentials get no token
    quote: "TODO: paste what the page says about wrong credentials"
    source: "TODO: section of the page"
    kind: assumed
    reading: The common convention, a 4xx (401) and no token for wrong, empty or missing credentials.
    severity: blocker
    capability: issuance
    security: true
    baseline: BASELINE-NO-TOKEN-FOR-WRONG-CREDENTIALS   # a token for wrong credentials fails whatever the kind
    checks: [bad_credentials_rejected, wrong_credentials_get_no_token]
  - id: {prefix}-AUTH-003
    title: The token is a JWT whose lifetime is the documented one
    quote: "TODO: paste the sentence giving the token's format and lifetime"
    source: "TODO: section of the page"
    kind: assumed
    reading: A JWT whose exp - iat and advertised lifetime equal profile.yaml's lifetimes.access.
    severity: critical
    capability: expiry
    checks: [token_is_jwt, advertised_lifetime_matches, advertised_lifetime_type, jwt_lifetime_matches]
  - id: {prefix}-AUTH-004
    title: The token works until it expires, and not after
    quote: "TODO: paste the sentence giving the token's lifetime"
    source: "TODO: section of the page"
    kind: assumed
    reading: Accepted one second before the lifetime ends, rejected one second after.
    severity: critical
    capability: expiry
    checks: [token_accepted_before_expiry, expired_token_rejected]
  - id: {prefix}-AUTH-005
    title: API calls send the token as a Bearer token
    quote: "TODO: paste how the page says to send the token"
    source: "TODO: section of the page"
    kind: assumed
    reading: "Authorization: Bearer <token>; the bare token or another scheme is refused."
    severity: blocker
    capability: bearer
    checks: [bearer_token_accepted, token_without_scheme_rejected, other_scheme_rejected]
  - id: {prefix}-AUTH-006
    title: Calls without a valid token are refused
    quote: "TODO: paste what the page says about unauthenticated calls"
    source: "TODO: section of the page"
    kind: assumed
    reading: >-
      Every endpoint other than the token request answers 401 without a valid token, and never 2xx without an
      Authorization credential (no header, or only a cookie the API itself set).
    severity: blocker
    capability: bearer
    security: true
    baseline: BASELINE-PROTECTED-NEEDS-BEARER   # getting in without the credential fails whatever the kind
    checks: [missing_token_rejected, missing_token_not_accepted, cookie_not_accepted_as_credential]
not_testable:
  - quote: "TODO: a sentence of the page that cannot be tested"
    why: TODO say why (a UI instruction, a client code sample, ...), or delete this entry.
"""

OPENAPI = """\
# What {title}'s API looks like, written by hand from its docs (OpenAPI 3.1). Schemathesis tests every operation
# here; the generated mock serves them (issuance and probe from profile.yaml, the others with their examples).
# Mark every guess (a name, a status, an error body the docs do not show) with `x-assumption: why`.
openapi: 3.1.0
info:
  title: {title} API (authentication subset)
  version: 0.1.0
servers:
  - url: https://sandbox.example.com   # TODO: the docs' host
paths:
  /oauth/token:                        # TODO: profile.yaml's issue.path
    post:
      operationId: get_token
      security: []
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [clientId, clientSecret]
              properties:
                clientId: {{type: string}}
                clientSecret: {{type: string}}
            examples:
              mock:                    # the generated mock's credentials, so the success path is tested too
                value: {{clientId: mock-{name}-client, clientSecret: mock-{name}-secret}}
      responses:
        '200':
          description: "A token (TODO: the documented response fields)."
          content:
            application/json:
              schema:
                type: object
                required: [access_token]
                properties:
                  access_token: {{type: string}}
                  expires_in: {{type: integer, minimum: 0}}
        '400':
          $ref: '#/components/responses/Error'
        '401':
          $ref: '#/components/responses/Error'
        '413':
          $ref: '#/components/responses/Error'
        '415':
          $ref: '#/components/responses/Error'
  /me:                                 # TODO: profile.yaml's probe.path
    get:
      operationId: probe
      x-assumption: TODO a protected endpoint of the docs
      security:
        - bearerAuth: []
      responses:
        '200':
          description: TODO the documented response
          content:
            application/json:
              schema:
                type: object
              examples:
                ok:
                  value: {{}}
        '401':
          description: Missing, invalid or expired token.
          x-assumption: RFC 6750 §3 (401 with WWW-Authenticate) until the docs say otherwise
          headers:
            WWW-Authenticate:
              required: true
              schema: {{type: string, minLength: 1}}
          content:
            application/json:
              schema:
                $ref: '#/components/schemas/Error'
components:
  securitySchemes:
    bearerAuth:
      type: http
      scheme: bearer
  schemas:
    Error:
      type: object
      x-assumption: TODO the docs' error body; the RFC 6749 §5.2 fields until then
      required: [error]
      properties:
        error: {{type: string, minLength: 1}}
        error_description: {{type: string}}
  responses:
    Error:
      description: A client error.
      x-assumption: TODO the docs' error responses
      content:
        application/json:
          schema:
            $ref: '#/components/schemas/Error'
"""

_NAME = re.compile(r"[a-z][a-z0-9]*")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", help="the vendor's name: lower-case letters and digits, e.g. acme")
    parser.add_argument(
        "--dir", default="specs", metavar="DIR", help="folder of your vendors (default ./specs); pass it as --specs"
    )
    parser.add_argument("--title", default=None, help="the vendor's name as reports show it (default: NAME)")


def run(args: argparse.Namespace) -> int:
    """Write DIR/NAME/{profile,claims,openapi}.yaml, check them against the schemas and say what to do next."""
    name = args.name
    if not _NAME.fullmatch(name):
        raise SuiteConfigError(f"vendor name {name!r}: use lower-case letters and digits, starting with a letter")
    folder = Path(args.dir)
    target = folder / name
    files = {"profile.yaml": PROFILE, "claims.yaml": CLAIMS, "openapi.yaml": OPENAPI}
    existing = [str(target / f) for f in files if (target / f).exists()]
    if existing:
        raise SuiteConfigError(f"{existing[0]} exists: choose another name or --dir (nothing was written)")
    values = {"name": name, "title": args.title or name.capitalize(), "prefix": name.upper(), "folder": folder}
    try:
        target.mkdir(parents=True, exist_ok=True)
        for file, template in files.items():
            (target / file).write_text(template.format(**values), encoding="utf-8")
    except OSError as exc:
        raise SuiteConfigError(f"cannot write {target}: {exc.strerror or exc}") from None
    specs.use_dirs([str(folder)])
    specs.load_profile(name)
    specs.load_claims(name)
    specs.load_openapi(name)
    print(f"new-vendor: wrote {target}/profile.yaml, claims.yaml, openapi.yaml (valid; every TODO is yours to fill)")
    print(f"  try it against its generated mock: conformance run --specs {folder} --vendor {name}")
    print(f"  then against its sandbox:          conformance run --specs {folder} --vendor {name} --target sandbox")
    return 0
