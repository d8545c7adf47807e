"""The one error of the text front end, in a module of its own: the modules of core.text raise
it, and importing it from the package (which loads the front end lazily) would make a cycle."""
from __future__ import annotations


class TextError(ValueError):
    """Text that cannot be spoken; the message is meant for the user."""
