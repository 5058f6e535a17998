"""User-facing errors.

Anything the user can fix (a missing folder, a malformed CSV, a corrupt image, missing weights)
is raised as :class:`ReidBenchError` with one sentence that names the file and the fix; the CLI
prints that sentence alone, without a traceback, and exits with status 2.
"""


class ReidBenchError(Exception):
    """An error caused by the user's input or environment, with a one-sentence explanation."""
