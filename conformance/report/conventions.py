"""Names shared by the suite's pytest plugin and the report: labels, message prefixes, outcomes, env vars."""

from __future__ import annotations

# Labels the plugin writes on every result (allure-pytest format).
LABEL_EPIC = "epic"  # vendor title
LABEL_VENDOR = "vendor"  # vendor key
LABEL_FEATURE = "feature"  # capability
LABEL_STORY = "story"  # "<CLAIM-ID> <claim title>", one per claim
LABEL_CLAIM = "claim"  # claim ID, one per claim
LABEL_OUTCOME = "outcome"

OUTCOME_WARNING = "warning"
# The JUnit property (pytest user property) holding a test's outcome.
OUTCOME_PROPERTY = "conformance.outcome"
# Labels naming what failed: one per claim a failed (or warning) test contradicted.
LABEL_FAILED_CLAIM = "failed_claim"

INFRASTRUCTURE_PREFIX = "INFRASTRUCTURE"
ASSUMPTION_PREFIX = "ASSUMPTION NOT MET"

# The suite's five outcomes, in the order tables show them.
OUTCOMES = ("passed", "failed", "warning", "broken", "skipped")

# allure-pytest puts "Skipped: " before skip reasons, "XFAIL " before xfail reasons and "module.Type: " before
# exception messages, so the markers the plugin puts first may sit behind such prefixes.
ALLURE_PREFIX_REGEX = r"(?:XFAIL |Skipped: )?(?:[A-Za-z_][\w.]*: )?"
# Allure 3 evaluates these as JavaScript RegExps too: keep them to the syntax both languages share.
ASSUMPTION_MESSAGE_REGEX = "^" + ALLURE_PREFIX_REGEX + ASSUMPTION_PREFIX
INFRASTRUCTURE_MESSAGE_REGEX = "^" + ALLURE_PREFIX_REGEX + INFRASTRUCTURE_PREFIX

# Set to a distinct value in each CI job whose results are merged into one report.
JOB_ENV = "CONFORMANCE_JOB"
JOB_PARAMETER = "job"

# Same shape as the claims schema requires.
CLAIM_ID_REGEX = r"[A-Z][A-Z0-9]*(?:-[A-Z0-9.]+)+"
