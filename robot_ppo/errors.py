"""User-facing errors.

Raise `UserError` for anything the user can fix (bad flag, missing file, wrong
robot). The CLI prints its message without a traceback and exits with status 2.
"""


class UserError(Exception):
    """A mistake in the user's input; the message says what is wrong and what to do."""


def require(checks: list[tuple[bool, str]]) -> None:
    """Raise UserError with the message of the first (holds, message) pair that does not hold:
    the option checks of every command, declared as such a list."""
    for ok, message in checks:
        if not ok:
            raise UserError(message)
