"""A saved phrase with a character UTF-8 cannot hold is refused; the list is left as it was."""
from __future__ import annotations

import pytest

from core.speak.phrases import PhraseBook, PhraseError


@pytest.mark.parametrize("text", ["Call my wife \ud83d", "Yes \udcff"])    # half an emoji; a stray byte
def test_a_phrase_that_cannot_be_stored_is_refused_in_plain_words(tmp_path, text):
    book = PhraseBook(tmp_path / "anna")
    book.add("Yes")
    with pytest.raises(PhraseError, match=r"^The phrase “.*\ufffd” has a character the app cannot save"):
        book.add(text)
    assert [p.text for p in book.phrases()] == ["Yes"]
