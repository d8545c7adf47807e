"""Names and messages that cannot be stored as UTF-8 (bytes from a terminal in another encoding,
a lone surrogate from a broken paste) are refused in plain words before anything is created."""
from __future__ import annotations

import pytest

from core.bank.store import Bank, BankError

BAD = ["Ann\udcff", "Ann\ud800"]        # surrogate escape of byte 0xff; a lone UTF-16 surrogate


@pytest.mark.parametrize("name", BAD)
def test_a_speaker_name_that_cannot_be_stored_creates_no_folder(tmp_path, name):
    bank = Bank(tmp_path / "bank")
    with pytest.raises(BankError) as caught:
        bank.create_speaker(name, ["en"])
    assert str(caught.value) == ("The name “Ann\ufffd” has a character the app cannot save "
                                 "(shown as \ufffd). Please type it again with the keyboard.")
    assert not (tmp_path / "bank").exists() or not any((tmp_path / "bank").iterdir())
    assert bank.speakers() == []


@pytest.mark.parametrize("text", ["Hello \udcff", "I love you \ud800"])
def test_a_message_that_cannot_be_stored_leaves_the_messages_as_they_were(tmp_path, text):
    speaker = Bank(tmp_path / "bank").create_speaker("Ann", ["en"])
    speaker.add_message("Good morning")
    before = (speaker.folder / "messages.json").read_bytes()
    with pytest.raises(BankError, match=r"^The message “.*\ufffd” has a character the app cannot save"):
        speaker.add_message(text)
    assert (speaker.folder / "messages.json").read_bytes() == before
    assert [m.text for m in speaker.messages()] == ["Good morning"]


def test_names_in_any_script_are_fine(tmp_path):
    bank = Bank(tmp_path / "bank")
    assert bank.create_speaker("李安娜 Zoë", ["zh", "en"]).name == "李安娜 Zoë"
