"""Schemathesis contract tests: every operation of every selected vendor's OpenAPI spec, fuzzed against the target."""
