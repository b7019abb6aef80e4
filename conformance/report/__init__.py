"""Report generation: summary.md, the Allure 3 single-file HTML report, JUnit checks, merging of job results.

Module map:
- conventions  label names, message prefixes and env variables shared with the suite's pytest plugin
- results      reading allure-results into one classified record per test
- summary      summary.md
- environment  environment.properties / executor.json, with credentials withheld
- merge        merging several jobs' allure-results; the `job` parameter that keeps them distinct
- allure3      installing Allure 3 from its shipped pin into the per-user cache, its config, `allure generate`
- junit        counting pytest's JUnit XML
- cli          `conformance report`
"""

from .allure3 import ReportStats, allure_config, build_report, ensure_allure, report_data, tool_dir
from .environment import looks_like_secret, write_environment
from .errors import ReportError
from .junit import JUnitCounts, check_junit
from .merge import MergeStats, job_parameter, merge_results
from .summary import write_summary

__all__ = [
    "JUnitCounts",
    "MergeStats",
    "ReportError",
    "ReportStats",
    "allure_config",
    "build_report",
    "check_junit",
    "ensure_allure",
    "job_parameter",
    "looks_like_secret",
    "merge_results",
    "report_data",
    "tool_dir",
    "write_environment",
    "write_summary",
]
