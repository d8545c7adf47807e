"""Errors of the build, worded for the user (what happened and what to do)."""
from __future__ import annotations


class BuildError(Exception):
    """A build cannot go on; the message says what to do."""


class BuildCancelled(BuildError):
    """The user cancelled; the last checkpoint was written and the build can be resumed."""
