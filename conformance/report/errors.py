"""The one error type of the report package: a problem a user can fix, told in one line."""


class ReportError(Exception):
    """Building the summary, the HTML report or a merge cannot go on; the CLI exits 2 with this message."""
