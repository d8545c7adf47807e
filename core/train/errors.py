"""Errors of the build, worded for the user (what happened and what to do)."""
from __future__ import annotations

# The end of every "a base model is missing or damaged" message.
GET_MODELS = ("Install them from the build page, or with `voicebank models download` "
              "(or `voicebank models import FOLDER` for files you already have).")


class BuildError(Exception):
    """A build cannot go on; the message says what to do."""


class BuildCancelled(BuildError):
    """The user cancelled; the last checkpoint was written and the build can be resumed."""
