"""Vendor drift: per-run fingerprints, comparison with a baseline, reports, alerts and doc-quote checks.

Module map:
- shapes       JSON Schema inferred from response bodies (types and required keys, never values)
- headers      auth-related response headers reduced to what is stable (scheme, error code, media type)
- operations   concrete request paths mapped to the OpenAPI operations they hit
- fingerprint  reports/ -> reports/fingerprint.json (one entry per vendor)
- compare      two fingerprints -> classified, ordered changes
- render       drift.md (people) and drift.json (machines)
- scrub        last line of defence: nothing credential-shaped leaves in a drift file or an alert
- state        consecutive unreachable runs per vendor, kept next to the baseline
- alert        the webhook message and its delivery
- docs_check   documented claim quotes against the vendor's current doc text
- cli          `conformance drift` and `conformance docs-check`
"""
