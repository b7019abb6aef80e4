"""Expiry timing shared by scenarios: lifetimes to expect, and real waits that overlap across vendors."""

from __future__ import annotations

from dataclasses import dataclass

from conformance.http import Response
from conformance.session import IssuedToken, VendorSession


def expected_lifetime(v: VendorSession, tok: IssuedToken) -> int:
    """The documented (or configured) lifetime; where the docs give none, the token's own exp - iat."""
    return v.lifetime if v.lifetime_documented or tok.jwt_lifetime is None else tok.jwt_lifetime


def margin(lifetime: int) -> float:
    """Slack around a real expiry for clock skew and latency: 5 % of the lifetime, between 1 and 5 seconds."""
    return min(5.0, max(1.0, lifetime * 0.05))


@dataclass
class RealWait:
    """A vendor's token for a real-clock expiry test, and the probe made just before it expired.

    A lifetime longer than the target's max_real_wait is not waited for: `before` is None and `not_waited`
    says why (the lifetime is still reported with the token's other observations).
    """

    token: IssuedToken
    lifetime: int
    before: Response | None
    not_waited: str | None = None

    @property
    def after_deadline(self) -> float:
        return self.token.issued_at + self.lifetime + margin(self.lifetime)

    @classmethod
    def start(cls, sessions: list[VendorSession]) -> dict[str, RealWait]:
        """Issue every vendor's token at once, then probe each just before its expiry, earliest first."""
        tokens = {s.vendor: s.issue() for s in sessions}
        lifetimes = {s.vendor: expected_lifetime(s, tokens[s.vendor]) for s in sessions}
        waits: dict[str, RealWait] = {}
        for s in sorted(sessions, key=lambda s: tokens[s.vendor].issued_at + lifetimes[s.vendor]):
            tok, life = tokens[s.vendor], lifetimes[s.vendor]
            cap = s.target.max_real_wait
            if life + margin(life) > cap:
                waits[s.vendor] = cls(
                    tok,
                    life,
                    None,
                    f"{s.vendor}: the token's lifetime of {life} s is longer than the longest real wait of "
                    f"{cap:g} s: not waited (max_real_wait in conformance.toml, or --max-real-wait)",
                )
                continue
            s.wait_until(tok.issued_at + life - margin(life))
            waits[s.vendor] = cls(tok, life, s.probe(f"Bearer {tok.value}"))
        return waits
