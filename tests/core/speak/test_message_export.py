"""The person's own messages as a message bank for AAC software (issue 15): file names safe on
every system, every clip equally loud and never clipped, only usable takes, an index CSV, and a
full disk or a folder that cannot be written leaves nothing half-written."""
from __future__ import annotations

import csv
import errno
import io
import os
import unicodedata

import numpy as np
import pyloudnorm
import pytest
import soundfile as sf

import core.speak.aac_export as aac
from core.bank.store import Bank, BankError
from core.diskspace import DiskFullError
from core.speak.aac_export import (INDEX_COLUMNS, INDEX_NAME, TARGET_LUFS, export_folder_in,
                                   export_messages)
from core.speak.aac_names import MAX_NAME_BYTES, MAX_NAME_CHARS, message_file_names, safe_stem
from tests.diskfull import full_disk
from tests.testsignals import speech_like

RATE = 48000
FORBIDDEN = set('<>:"/\\|?*')


def record(speaker, message, samples, grade="green", clean=None):
    """A take of `message` with `grade` (None: not checked yet); `clean`: a cleaned copy."""
    writer = speaker.begin_take(message, speaker.start_session("test mic", -65.0, True))
    writer.append(np.asarray(samples, dtype=np.float32))
    take = writer.finish()
    if grade is not None:
        take.quality = {"grade": grade, "problems": [] if grade != "red" else
                        [{"code": "no_speech", "message": "No speech heard"}]}
    if clean is not None:
        sf.write(str(take.clean_path), clean, RATE, subtype="PCM_16")
        take.cleaned = True
    take.save()
    return take


def tone(seconds, freq, amplitude, lead_s=0.0, trail_s=0.0):
    t = np.arange(int(seconds * RATE)) / RATE
    body = amplitude * np.sin(2 * np.pi * freq * t)
    return np.concatenate([np.zeros(int(lead_s * RATE)), body, np.zeros(int(trail_s * RATE))])


def lufs(path):
    data, rate = sf.read(str(path))
    return pyloudnorm.Meter(rate).integrated_loudness(data)


def dominant_hz(path):
    data, rate = sf.read(str(path))
    spectrum = np.abs(np.fft.rfft(data))
    return np.fft.rfftfreq(len(data), 1 / rate)[int(np.argmax(spectrum))]


def read_index(folder):
    with open(folder / INDEX_NAME, encoding="utf-8-sig", newline="") as fh:
        return list(csv.reader(fh))


@pytest.fixture
def speaker(private_bank):
    return Bank().create_speaker("Ada", ["en"])


# -- names ---------------------------------------------------------------------------------
@pytest.mark.parametrize("text, name", [
    ("I love you.", "I love you"),
    ("Where is Tom?", "Where is Tom"),
    ('He said "no" / maybe: later*', "He said 'no' - maybe- later"),
    ("  ...hidden  ", "hidden"),
    ("Tab\there\nnew line", "Tab here new line"),
    ("我爱你。", "我爱你。"),
    ("请给我女儿打电话", "请给我女儿打电话"),
    ("CON", "CON (message)"),
    ("nul.", "nul (message)"),
    ("Com1", "Com1 (message)"),
    ("lpt9.wav", "lpt9.wav (message)"),
    ("Aux and more", "Aux and more"),
    ("???", "message"),
    ("<3 you", "(3 you"),
    ("café", "café"),
])
def test_a_file_name_reads_like_the_message(text, name):
    assert safe_stem(text) == name


def test_names_are_safe_on_every_system():
    odd = ["a" * 300, "我" * 200, "word " * 40, "x\x00y\x1fz", "e\u0301te", "trailing dot. ",
           "zero\u200bwidth", "emoji 😀 ok", "-dash first", "\\\\server\\share", "../../etc/passwd"]
    for text, name in zip(odd, message_file_names(odd)):
        stem = name[:-len(".wav")]
        assert name.endswith(".wav") and stem
        assert not FORBIDDEN & set(stem), name
        assert all(unicodedata.category(ch) != "Cc" for ch in stem)
        assert stem == stem.strip(" .") and not stem.startswith("-")
        assert len(stem) <= MAX_NAME_CHARS and len(stem.encode("utf-8")) <= MAX_NAME_BYTES
        assert stem == unicodedata.normalize("NFC", stem)
    words = message_file_names(["word " * 40])[0]
    assert words.endswith("word.wav")                # cut between words, not inside one
    assert message_file_names(["../../etc/passwd", "\\\\server\\share"]) == ["etc-passwd.wav",
                                                                         "server-share.wav"]


def test_duplicate_names_are_numbered():
    assert message_file_names(["Yes", "yes", "Yes.", "YES!", "e\u0301", "é"],
                              reserved=("index.csv",)) == [
        "Yes.wav", "yes (2).wav", "Yes (3).wav", "YES!.wav", "é.wav", "é (2).wav"]


def test_export_folder_is_new_each_time(tmp_path):
    first = export_folder_in(tmp_path, "Ada: Li?")
    assert first == tmp_path / "Ada- Li - messages"
    first.mkdir()
    assert export_folder_in(tmp_path, "Ada: Li?") == tmp_path / "Ada- Li - messages (2)"


# -- the export ----------------------------------------------------------------------------
def test_usable_messages_are_exported_equally_loud_with_an_index(speaker, tmp_path):
    quiet = speaker.add_message("I love you, Tom.")
    loud = speaker.add_message("我爱你")
    fair = speaker.add_message('Say "hello", please')
    record(speaker, quiet, tone(1.5, 220, 0.02, lead_s=2.0, trail_s=2.0))
    record(speaker, loud, tone(1.0, 330, 0.6))
    record(speaker, fair, speech_like(2.0, RATE, seed=3), grade="amber")
    result = export_messages(speaker, tmp_path / "out")

    folder = tmp_path / "out"
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [INDEX_NAME, "I love you, Tom.wav", "我爱你.wav", "Say 'hello', please.wav"])
    assert [m.file for m in result.exported] == ["I love you, Tom.wav", "我爱你.wav",
                                                 "Say 'hello', please.wav"]
    assert result.left_out == []
    for message in result.exported:
        info = sf.info(str(folder / message.file))
        assert (info.subtype, info.channels, info.samplerate) == ("PCM_16", 1, RATE)
        assert lufs(folder / message.file) == pytest.approx(TARGET_LUFS, abs=0.5)
        data, _ = sf.read(str(folder / message.file))
        assert np.max(np.abs(data)) <= 10 ** (-1 / 20) + 1e-4          # nothing clips
    # the long silence around the quiet one went; a little is kept at each end
    assert result.exported[0].duration_s == pytest.approx(1.5 + 0.2 + 0.3, abs=0.05)

    rows = read_index(folder)
    assert rows[0] == list(INDEX_COLUMNS)
    today = speaker.current_take(quiet.id).created[:10]
    assert rows[1:] == [[m.text, m.file, f"{m.duration_s:.2f}", today] for m in result.exported]
    assert rows[3][0] == 'Say "hello", please'                        # quotes and commas survive
    assert (folder / INDEX_NAME).read_bytes().startswith(b"\xef\xbb\xbf")   # Excel reads it as UTF-8


def test_peaks_are_limited_so_nothing_clips(speaker, tmp_path):
    clicks = np.zeros(RATE)
    clicks[::4800] = 0.9                               # sharp peaks, little loudness
    clicks += tone(1.0, 200, 0.01)
    message = speaker.add_message("Peaky")
    record(speaker, message, clicks)
    result = export_messages(speaker, tmp_path / "out")
    data, _ = sf.read(str(tmp_path / "out" / "Peaky.wav"))
    assert np.max(np.abs(data)) == pytest.approx(10 ** (-1 / 20), abs=2e-4)
    assert result.exported[0].loudness_lufs < TARGET_LUFS - 3          # quieter rather than clipped


def test_only_good_and_fair_takes_go_in_and_the_rest_say_what_to_do(speaker, tmp_path):
    good = speaker.add_message("Good one")
    red = speaker.add_message("I love you")
    never = speaker.add_message("Goodbye")
    unchecked = speaker.add_message("Just now")
    record(speaker, good, tone(1.0, 220, 0.3))
    record(speaker, red, tone(1.0, 220, 0.3), grade="red")
    record(speaker, unchecked, tone(1.0, 220, 0.3), grade=None)
    result = export_messages(speaker, tmp_path / "out")
    assert [m.text for m in result.exported] == ["Good one"]
    assert [m.line() for m in result.left_out] == [
        "not exported: record again: “I love you” (No speech heard)",
        "not exported: record it: “Goodbye” (not recorded yet)",
        "not exported: wait for its check: “Just now” (just recorded: export again in a minute)"]
    missing = aac.MessageRecording(red, speaker.current_take(red.id), "missing", "The recording is missing")
    assert aac.left_out(missing).line() == ("not exported: record again: “I love you” "
                                            "(the recording file is missing)")
    assert "Not exported (3): “I love you” (record again)" in result.describe()
    assert never.text not in [row[0] for row in read_index(tmp_path / "out")]


def test_the_cleaned_copy_is_used_when_there_is_one(speaker, tmp_path):
    cleaned = speaker.add_message("Cleaned")
    raw_only = speaker.add_message("Raw only")
    record(speaker, cleaned, tone(1.0, 200, 0.3), clean=tone(1.0, 500, 0.3))
    record(speaker, raw_only, tone(1.0, 300, 0.3))
    export_messages(speaker, tmp_path / "out")
    assert dominant_hz(tmp_path / "out" / "Cleaned.wav") == pytest.approx(500, abs=5)
    assert dominant_hz(tmp_path / "out" / "Raw only.wav") == pytest.approx(300, abs=5)


def test_a_very_short_message_and_a_resampled_export(speaker, tmp_path):
    yes = speaker.add_message("Yes")
    record(speaker, yes, tone(0.25, 440, 0.05))          # under one 400 ms loudness block
    result = export_messages(speaker, tmp_path / "out", sample_rate=22050)
    info = sf.info(str(tmp_path / "out" / "Yes.wav"))
    assert info.samplerate == 22050 and result.exported[0].loudness_lufs == pytest.approx(TARGET_LUFS, abs=0.5)


def test_damaged_take_is_left_out_and_the_others_still_go(speaker, tmp_path):
    good = speaker.add_message("Fine")
    bad = speaker.add_message("Broken")
    record(speaker, good, tone(1.0, 220, 0.3))
    record(speaker, bad, tone(1.0, 220, 0.3)).raw_path.write_bytes(b"RIFF nonsense")
    result = export_messages(speaker, tmp_path / "out")
    assert [m.text for m in result.exported] == ["Fine"]
    assert result.left_out[0].line() == ("not exported: record again: “Broken” "
                                          "(the recording could not be read)")


def test_nothing_to_export_is_said_in_words(speaker, tmp_path):
    with pytest.raises(BankError, match="no messages to export yet"):
        export_messages(speaker, tmp_path / "out")
    red = speaker.add_message("I love you")
    record(speaker, red, np.zeros(RATE), grade="red")
    with pytest.raises(BankError) as caught:
        export_messages(speaker, tmp_path / "out")
    assert "None of your messages has a usable recording yet" in str(caught.value)
    assert "Not exported: record again: “I love you” (No speech heard)." in str(caught.value)
    assert not (tmp_path / "out").exists()


def test_a_folder_with_files_in_it_is_refused(speaker, tmp_path):
    record(speaker, speaker.add_message("Hi there"), tone(1.0, 220, 0.3))
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "precious.txt").write_text("keep me")
    with pytest.raises(BankError, match="not empty"):
        export_messages(speaker, tmp_path / "full")
    (tmp_path / "empty").mkdir()
    assert len(export_messages(speaker, tmp_path / "empty").exported) == 1


# -- when writing fails --------------------------------------------------------------------
def leftovers(folder):
    return [p for p in folder.iterdir() if p.name.startswith(".")]


def three_messages(speaker):
    for i, text in enumerate(("One", "Two", "Three")):
        record(speaker, speaker.add_message(text), tone(1.0, 200 + 50 * i, 0.3))


def test_a_full_disk_leaves_no_half_export(speaker, tmp_path, monkeypatch):
    three_messages(speaker)
    out = tmp_path / "exports"
    out.mkdir()
    full_disk(monkeypatch, room=150_000)                # the first clip fits, the second does not
    monkeypatch.setattr("core.diskspace.free_bytes", lambda path: 10**9)   # filled meanwhile
    with pytest.raises(DiskFullError) as caught:
        export_messages(speaker, out / "messages")
    text = str(caught.value)
    assert text.startswith("The disk is full, so your messages could not be exported to")
    assert "Nothing was exported" in text and "disk space" in text
    assert list(out.iterdir()) == []                    # no folder, no hidden half of one


def test_too_little_space_is_refused_before_writing(speaker, tmp_path, monkeypatch):
    three_messages(speaker)
    monkeypatch.setattr("core.diskspace.free_bytes", lambda path: 1000)
    with pytest.raises(DiskFullError, match="It needs about 1 MB of free disk space"):
        export_messages(speaker, tmp_path / "messages")
    assert not (tmp_path / "messages").exists() and leftovers(tmp_path) == []


def test_a_folder_that_cannot_be_written_is_said_in_words(speaker, tmp_path, monkeypatch):
    three_messages(speaker)

    def refused(path, *args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", str(path))
    monkeypatch.setattr(aac, "write_wav", refused)
    with pytest.raises(BankError) as caught:
        export_messages(speaker, tmp_path / "messages")
    assert str(caught.value).startswith(f"Your messages could not be saved in {tmp_path} "
                                        "(Permission denied). Nothing was exported.")
    assert not (tmp_path / "messages").exists() and leftovers(tmp_path) == []
    if os.name == "posix" and os.geteuid() != 0:       # the real thing, where permissions bind
        monkeypatch.undo()
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        with pytest.raises(BankError, match="could not be saved in .*Permission denied"):
            export_messages(speaker, locked / "messages")


def test_index_is_plain_csv():
    data = aac.index_csv([aac.ExportedMessage("a, \"b\"\nc", "a, 'b' c.wav", 1.234, "2026-01-02", -20.0)])
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows == [list(INDEX_COLUMNS), ['a, "b" c', "a, 'b' c.wav", "1.23", "2026-01-02"]]
