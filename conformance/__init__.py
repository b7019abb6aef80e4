"""Authentication conformance suite: vendor auth docs turned into executable checks.

Module map (each module's docstring says what it owns):
- specs      loading of specs/<vendor>/{openapi,claims,profile,deviations}.yaml
- config     targets (mock, sandbox, TOML-configured) and the typed errors for bad configuration
- http       the one HTTP layer: timeouts, retries within a budget, redaction, recording
- checks     small named checks, one property each, raising ConformanceFailure
- scenarios  hand-written pytest scenarios composed from checks, selected by profile capability
- contract   Schemathesis-driven contract tests generated from the OpenAPI specs
- mock       one stateful ASGI app per vendor, clock, faults, server runner
- report     Allure labels and attachments, report generation, JUnit and summary.md
- drift      fingerprints and comparison with a baseline
- cli        the `conformance` command
"""

__version__ = "0.1.0"
