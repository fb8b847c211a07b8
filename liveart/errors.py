"""Errors a user can cause. The CLI prints their message as one sentence and exits 2."""


class UserError(Exception):
    """Bad input from the user (a flag, a file, a value): one clear sentence, exit code 2."""

    exit_code = 2
