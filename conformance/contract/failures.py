"""Schemathesis failures as the suite's outcomes: findings with claims, redacted text and a way to reproduce them."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import requests
from schemathesis.core.errors import AuthenticationError
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.openapi.checks import IgnoredAuth, JsonSchemaError, MissingHeaders, UseAfterFree

from conformance import specs
from conformance.contract import assumptions
from conformance.contract.transport import OUTAGE_STATUSES, as_infrastructure
from conformance.failures import ConformanceFailure, Finding, InfrastructureError

if TYPE_CHECKING:
    from schemathesis import Case
    from schemathesis.core.transport import Response

    from conformance.contract.runtime import VendorContract
    from conformance.contract.schemas import Role

FILTERED = "[Filtered]"
# Header lines and curl -H arguments that carry credentials, wherever they appear in a text.
_AUTH_HEADER = re.compile(r"(?im)\b(authorization|proxy-authorization|cookie|x-api-key)(\s*:\s*)([^'\"\n]*)")
DELETED_KEY_TITLE = "Deleted API key still authenticates"


@dataclass
class Context:
    """The request and response a Schemathesis failure was found with (set on each of its Failure objects)."""

    vendor: str
    case: Case
    response: Response
    base_url: str | None = None
    steps: list[str] | None = None  # the stateful scenario that led to the failing call


def attach_context(group: FailureGroup, context: Context) -> None:
    for failure in group.exceptions:
        failure.contract_context = context  # type: ignore[attr-defined]


def context_of(failure: Failure) -> Context | None:
    return getattr(failure, "contract_context", None)


# --- which claims a Schemathesis check speaks to ---------------------------------------------------------------


def suite_checks(role: Role | None, failure: Failure | None, check: str) -> list[str]:
    """The suite's named checks (and so the claims) that a Schemathesis check verifies for an operation."""
    if role is None:
        return []
    profile = specs.load_profile(role.vendor)
    issue = profile.get("issue") or {}
    message = _message(failure) if failure is not None else ""
    ctx = context_of(failure) if failure is not None else None
    status = ctx.response.status_code if ctx is not None else None
    # A check on an error response speaks to the error's claims, not to the documented success body's.
    error = status is not None and status >= 400
    if check == "not_a_server_error":
        return ["bad_input_no_server_error"]
    if check == "ignored_auth":
        # It fires only on a 2xx without (or with invalid) credentials: the security half of the rejection.
        return ["missing_token_not_accepted"] if role.protected else []
    if check == "content_type_conformance":
        if error:
            return ["error_body_is_json"] if status is not None and status < 500 else []
        if role.issue:
            return ["issuance_content_type_json"]
        return _flow_check(role)
    if check == "response_schema_conformance":
        names = []
        if error:
            documented = status == 401 and role.issue and issue.get("bad_credentials_body")
            return ["bad_credentials_body_documented"] if documented else []
        if role.issue:
            names.append("issuance_body_matches_schema")
            if isinstance(failure, JsonSchemaError):
                path = list(failure.instance_path)
                if issue.get("lifetime_field") and path[:1] == [issue["lifetime_field"]]:
                    names.append("advertised_lifetime_type")
                field = issue.get("refresh_field")
                if field and f'"{field}"' in message.replace("'", '"') and "required" in message:
                    names.append("refresh_token_issued")
        if role.refresh:
            names.append("refresh_issues_new_token")
        return names or _flow_check(role)
    if check == "response_headers_conformance":
        missing = [h.lower() for h in getattr(failure, "missing_headers", [])] if failure is not None else []
        if failure is None or (isinstance(failure, MissingHeaders) and "www-authenticate" in missing):
            return ["www_authenticate_on_401"] if role.protected else []
        return []
    if check == "negative_data_rejection":
        return ["bad_credentials_rejected"] if role.issue else []
    if check == "use_after_free":
        if failure is None or failure.title == DELETED_KEY_TITLE:
            return ["deleted_key_rejected"] if role.key_delete else []
        return []
    if check in ("bearer_token_accepted", "issuance_succeeds"):
        return [check]
    return []


def _flow_check(role: Role) -> list[str]:
    """The suite check of a documented success body that is not the token endpoint's (a created key, SSO's URL)."""
    profile = specs.load_profile(role.vendor)
    if role.key_create:
        return ["key_shown_at_creation"]
    sso = profile.get("sso")
    if sso and sso["method"].lower() == role.method and sso["path"] == role.path:
        return ["sso_registered_redirect_returns_url"]
    return []


# The claim a contract finding names when no suite check speaks to it: the spec's own shape, where the docs are
# silent a guess (an assumed claim, so a warning). Every non-passing contract test thus names a claim.
SPEC_SHAPE_CLAIM = "CONV-SPEC-SHAPE"


def claims_of(role: Role | None, failure: Failure | None, check: str) -> tuple[specs.Claim, ...]:
    if role is None:
        return ()
    seen: dict[str, specs.Claim] = {}
    for name in suite_checks(role, failure, check):
        for claim in specs.claims_for(role.vendor, name):
            seen.setdefault(claim.id, claim)
    return tuple(seen.values())


def finding_claims(role: Role | None, failure: Failure | None, check: str) -> tuple[specs.Claim, ...]:
    """The claims a contract finding names: those of the suite checks it speaks to, else the spec-shape claim."""
    return claims_of(role, failure, check) or (specs.claim_index()[SPEC_SHAPE_CLAIM],)


# Checks of the spec's shapes (statuses, media types, headers, bodies, accepted inputs): only these rest on what the
# spec guessed. The others are about credentials (ignored_auth, a deleted key that works) or 5xx, whatever the shape.
SHAPE_CHECKS = frozenset(
    {
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
        "negative_data_rejection",
    }
)


def assumption_of(role: Role | None, failure: Failure, check: str, ctx: Context | None) -> str:
    if role is None or check not in SHAPE_CHECKS:
        return ""
    status = ctx.response.status_code if ctx is not None else getattr(failure, "status_code", None)
    path = list(getattr(failure, "schema_path", None) or []) if isinstance(failure, JsonSchemaError) else None
    return assumptions.at(role.vendor, role.label, check, status, path)


def verified_claims(role: Role, checks: tuple[str, ...]) -> list[str]:
    """Claim IDs an operation's contract test speaks to when it passes (for the traceability matrix)."""
    ids: dict[str, None] = {}
    for check in checks:
        for claim in claims_of(role, None, check):
            ids[claim.id] = None
    return list(ids)


def check_name(failure: Failure) -> str:
    return type(failure).checks[0] if type(failure).checks else "custom"


def _message(failure: Failure) -> str:
    try:
        return str(failure.message)
    except Exception:  # a lazily rendered message must not hide the failure itself
        return failure.title


# --- the exception pytest sees ---------------------------------------------------------------------------------


class ContractFailure(ConformanceFailure):
    """Schemathesis found the target contradicting its spec; the text is redacted and says how to reproduce it."""

    def __init__(self, findings: list[Finding], headline: str, text: str, example: str) -> None:
        self._headline = headline
        self.text = text
        self.example = example
        super().__init__(findings)

    def headline(self) -> str:
        return self._headline

    def render(self) -> str:
        return f"{self._headline}\n\n{self.text}"


def leaves(exc: BaseException) -> Iterator[BaseException]:
    """The individual problems inside (possibly nested) exception groups and wrapper exceptions."""
    if isinstance(exc, FailureGroup):
        yield from exc.exceptions
    elif isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            yield from leaves(inner)
    elif isinstance(exc, AuthenticationError) and exc.__cause__ is not None:
        yield from leaves(exc.__cause__)
    else:
        yield exc


def outage_status(failure: Failure) -> int | None:
    """The status of a check's own probe when it was an outage (503 after retries): not the vendor's verdict."""
    status = getattr(failure, "status_code", None)
    if status is None and isinstance(failure, IgnoredAuth):
        match = re.search(r"got `(\d{3})", _message(failure))
        status = int(match.group(1)) if match else None
    return status if status in OUTAGE_STATUSES else None


def convert(exc: BaseException, contract: VendorContract, nodeid: str, label: str | None) -> BaseException:
    """What the contract test should raise instead of `exc`: a finding, an infrastructure problem, or `exc`."""
    found = list(leaves(exc))
    infra = [f for f in found if isinstance(f, InfrastructureError)]
    for f in found:
        if isinstance(f, (requests.RequestException, ConnectionError)):
            infra.append(as_infrastructure(contract.vendor, contract.target.base_url, f, contract.session.redactor))
        elif isinstance(f, Failure) and (status := outage_status(f)) is not None:
            infra.append(InfrastructureError(f"{contract.vendor}: a {check_name(f)} probe answered {status}"))
    failures = [f for f in found if isinstance(f, Failure) and outage_status(f) is None]
    if failures:
        return from_failures(failures, contract, nodeid, label, infra)
    conformance = [f for f in found if isinstance(f, ConformanceFailure)]
    if conformance:
        return conformance[0]
    if infra:
        return infra[0]
    return exc


def from_failures(
    failures: list[Failure],
    contract: VendorContract,
    nodeid: str,
    label: str | None,
    infra: list[InfrastructureError] | None = None,
) -> ContractFailure:
    opts = contract.options
    redact = Redaction(contract)
    findings: list[Finding] = []
    blocks: list[str] = []
    examples: dict[int, tuple[Context, list[str]]] = {}
    seen: set[tuple[str, str]] = set()
    # Schemathesis collects a response's failures in a set: order them, so one seed gives one text.
    for failure in sorted(failures, key=lambda f: (f.code, check_name(f), _message(f))):
        ctx = context_of(failure)
        op_label = ctx.case.operation.label if ctx else (failure.operation or label or "")
        role = contract.roles.get(op_label)
        check = check_name(failure)
        key = (type(failure).__name__, op_label + _message(failure))
        if key in seen:
            continue
        seen.add(key)
        claims = finding_claims(role, failure, check)
        assumption = assumption_of(role, failure, check, ctx)
        findings.append(
            Finding(
                check,
                claims,
                f"{check} holds for {op_label}",
                failure.title,
                None,
                redact(_message(failure)),
                assumption=assumption,
            )
        )
        block = [f"- {failure.code} {failure.title} [{check}] on {op_label}"]
        if _message(failure):
            block.append(textwrap.indent(redact(_message(failure)), "    "))
        for claim in claims:
            block.append(f'    {claim.id} ({claim.kind}; {claim.source}): "{claim.quote}"')
            if claim.baseline is not None:
                b = claim.baseline
                block.append(f"    security baseline {b.id} ({b.cite}): {b.requirement}")
        if assumption:
            block.append(
                f"    spec assumption (a guess, so at most a warning unless an RFC rule or baseline): {assumption}"
            )
        blocks.append("\n".join(block))
        if ctx is not None:
            examples.setdefault(id(ctx), (ctx, []))[1].append(check)
    rendered = [redact(example_text(ctx, ", ".join(dict.fromkeys(names)))) for ctx, names in examples.values()]
    checks = ", ".join(dict.fromkeys(f.check for f in findings))
    ids = ", ".join(dict.fromkeys(c.id for f in findings for c in f.claims))
    guesses = list(dict.fromkeys(f.assumption for f in findings if f.assumption))
    headline = f"CONTRACT {contract.vendor} {label or ''}: {checks} failed".replace("  ", " ") + (
        f" ({ids} not met)" if ids else ""
    )
    if guesses:
        headline += f" on a spec assumption: {guesses[0][:120]}"
    lines = [
        f"Vendor: {contract.profile.title} ({contract.vendor}) on target {opts.target}; "
        f"budget {opts.budget}, seed {opts.seed}",
        "",
        "Failures:",
        *blocks,
        "",
        "Minimal failing example" + ("s" if len(rendered) > 1 else "") + ":",
        *(textwrap.indent(e, "  ") for e in rendered),
        "",
        "Reproduce this test:",
        "  " + redact(opts.reproduce(nodeid, contract.vendor)),
    ]
    for problem in infra or []:
        lines += ["", f"Also seen (infrastructure, not a verdict): {redact(str(problem))}"]
    text = "\n".join(lines)
    return ContractFailure(findings, redact(headline), text, "\n\n".join(rendered))


def example_text(ctx: Context, check: str) -> str:
    """The request and response of a failing case, with every credential masked, and its curl line."""
    case, response = ctx.case, ctx.response
    req = response.request
    meta = case.meta
    origin = []
    if meta is not None:
        origin = [f"phase {meta.phase.name.value}", f"{meta.generation.mode.value} data"]
    lines = []
    if ctx.steps:
        lines.append("Scenario: " + "; ".join(f"{i}. {step}" for i, step in enumerate(ctx.steps, 1)))
    lines += [
        f"{case.operation.label} ({', '.join(origin) or 'explicit case'}) -> {response.status_code} [{check}]",
        f"> {req.method} {req.url}",
    ]
    lines += [f"> {k}: {v}" for k, v in req.headers.items() if k.lower() not in _NOISE]
    body = req.body
    if body:
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
        lines.append("> " + text[:2000])
    lines.append(f"< {response.status_code} {response.message}")
    for name, values in response.headers.items():
        if name.lower() in _NOISE:
            continue
        for value in values:
            lines.append(f"< {name}: {value}")
    if response.content:
        lines.append("< " + response.content[:2000].decode("utf-8", "replace"))
    try:
        curl = case.as_curl_command(headers=dict(req.headers), verify=response.verify, base_url=ctx.base_url)
    except Exception:  # the curl line is a convenience; never let it hide the failure
        curl = ""
    if curl:
        lines += ["Reproduce the request:", "  " + curl.splitlines()[0]]
    return "\n".join(lines)


_NOISE = {"user-agent", "accept-encoding", "connection", "content-length", "date", "x-schemathesis-testcaseid"}


class Redaction:
    """Masks every credential and token of the vendor, and every credential-bearing header, in a text."""

    def __init__(self, contract: VendorContract) -> None:
        self.redactors = [contract.redactor()]

    def __call__(self, text: str) -> str:
        text = _AUTH_HEADER.sub(lambda m: f"{m.group(1)}{m.group(2)}{FILTERED}", text)
        for r in self.redactors:
            text = r.text(text)
        return text


def broken_message(exc: InfrastructureError, contract: VendorContract, nodeid: str) -> InfrastructureError:
    """An infrastructure problem with the reproduction command added (and nothing secret in it)."""
    redact = Redaction(contract)
    text = str(exc).removeprefix("INFRASTRUCTURE: ")
    return InfrastructureError(
        f"{redact(text)}\n\nReproduce this test:\n  {redact(contract.options.reproduce(nodeid, contract.vendor))}"
    )


def auth_never_succeeded(
    contract: VendorContract, label: str, nodeid: str, sample: Any, detail: str | None = None
) -> ContractFailure:
    """Every call of a protected operation that carried the suite's token was refused: auth never worked."""
    role = contract.roles.get(label) or next((r for r in contract.roles.values() if r.protected), None)
    claims = claims_of(role, None, "bearer_token_accepted")
    counter = contract.counters.get(label)
    if detail is not None:
        pass
    elif counter is not None and counter.authorized:
        detail = (
            f"all {counter.authorized} call(s) of {label} that carried the token the suite obtained from the "
            "target's credentials were refused with 401/403, none succeeded"
        )
    else:
        calls = counter.calls if counter is not None else 0
        detail = f"none of the {calls} call(s) of {label} carried the suite's token: auth was never applied"
    detail += "; a contract run that never got past authentication tests nothing behind it"
    finding = Finding("bearer_token_accepted", claims, "the suite's token is accepted", "always refused", None, detail)
    redact = Redaction(contract)
    lines = [
        f"Vendor: {contract.profile.title} ({contract.vendor}) on target {contract.options.target}",
        "",
        detail,
    ]
    lines += [f'  {c.id} ({c.kind}; {c.source}): "{c.quote}"' for c in claims]
    example = ""
    if sample is not None:
        example = redact(example_text(sample, "bearer_token_accepted"))
        lines += ["", "Last refused call:", textwrap.indent(example, "  ")]
    lines += ["", "Reproduce this test:", "  " + redact(contract.options.reproduce(nodeid, contract.vendor))]
    headline = f"CONTRACT {contract.vendor} {label}: authentication never succeeded" + (
        f" ({', '.join(c.id for c in claims)} not met)" if claims else ""
    )
    return ContractFailure([finding], headline, "\n".join(lines), example)


def issuance_never_succeeded(contract: VendorContract, label: str, nodeid: str) -> ContractFailure:
    """The token endpoint never answered 2xx, not even to the spec's example with the target's credentials."""
    role = contract.roles.get(label)
    claims = claims_of(role, None, "issuance_succeeds")
    counter = contract.counters[label]
    detail = (
        f"none of the {counter.calls} call(s) of {label} succeeded, not even the spec's example sent with the "
        "target's own credentials: the documented success response was never validated"
    )
    finding = Finding("issuance_succeeds", claims, "a token for valid credentials", "never issued", None, detail)
    redact = Redaction(contract)
    lines = [f"Vendor: {contract.profile.title} ({contract.vendor}) on target {contract.options.target}", "", detail]
    lines += [f'  {c.id} ({c.kind}; {c.source}): "{c.quote}"' for c in claims]
    lines += ["", "Reproduce this test:", "  " + redact(contract.options.reproduce(nodeid, contract.vendor))]
    headline = f"CONTRACT {contract.vendor} {label}: the token endpoint never succeeded" + (
        f" ({', '.join(c.id for c in claims)} not met)" if claims else ""
    )
    return ContractFailure([finding], headline, "\n".join(lines), "")


__all__ = [
    "DELETED_KEY_TITLE",
    "Context",
    "ContractFailure",
    "UseAfterFree",
    "attach_context",
    "auth_never_succeeded",
    "broken_message",
    "convert",
    "issuance_never_succeeded",
    "verified_claims",
]
