"""The Speak page, driven by the keyboard alone, against a stub worker that answers `speak` with
a chunk per sentence (tests/desktop/stub_speak_worker.py). The sound card is the edge: a fake
player records what it was asked to play."""
from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest
import soundfile as sf
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (QAbstractButton, QAbstractItemView, QAbstractSlider, QAbstractSpinBox,
                               QApplication, QComboBox, QPlainTextEdit, QScrollBar, QWidget)

from core.audio.capture import AudioDeviceError
from core.speak.dictionary import dictionary_path
from desktop.worker_client import WorkerClient
from tests.core.speak import make_voice
from tests.desktop.conftest import OUTPUT
from tests.testsignals import speech_like

STUB = Path(__file__).with_name("stub_speak_worker.py")
WAIT_MS = 15000
CONTROLS = (QAbstractButton, QComboBox, QAbstractSpinBox, QAbstractSlider, QAbstractItemView, QPlainTextEdit)


class FakePlayer:
    """Stands in for the sound card: remembers each clip and its volume."""

    def __init__(self, seconds: float = 0.0, fail: bool = False):
        self.seconds, self.fail = seconds, fail
        self.played: list[tuple[Path, float]] = []
        self.stops = 0

    def play(self, path, volume):
        if self.fail:
            raise AudioDeviceError("no output device")
        self.played.append((Path(path), volume))
        return self.seconds

    def stop(self):
        self.stops += 1

    @property
    def paths(self) -> list[Path]:
        return [p for p, _ in self.played]


def add_voice(speaker) -> Path:
    return make_voice(speaker, "v-20260101")


@pytest.fixture
def speak_window(make_window, qtbot, tmp_path):
    """speak_window(scenario, seconds=0, voice=True, **stub_env) -> (window, page, player) on the Speak page."""
    clients: list[WorkerClient] = []

    def make(scenario: str = "ok", seconds: float = 0.0, voice: bool = True, **env: str):
        window = make_window()
        if voice:
            add_voice(window.context.speaker)
        client = WorkerClient(window, program=sys.executable, arguments=["-u", str(STUB)],
                              environment={"STUB_SCENARIO": scenario, "STUB_LOG": str(tmp_path / "stub.log"),
                                           "STUB_CHUNKS": str(tmp_path / "chunks"), **env})
        clients.append(client)
        page = window.speak_page
        page.set_worker(client)
        player = FakePlayer(seconds)
        page.queue.player = player
        window.activateWindow()
        qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=WAIT_MS)
        qtbot.keyClick(window.nav, Qt.Key_6, Qt.ControlModifier)
        assert window.current_page is page and focused() is page.text_edit
        return window, page, player

    yield make
    for client in clients:
        client.shutdown(wait=True, kill_after_ms=2000)


def sent(tmp_path, cmd: str = "run", kind: str = "speak") -> list[dict]:
    """Commands the worker received (`run`: of that kind of job)."""
    log = tmp_path / "stub.log"
    lines = log.read_text(encoding="utf-8").splitlines() if log.exists() else []
    return [c for c in map(json.loads, lines) if c["cmd"] == cmd and (cmd != "run" or c["kind"] == kind)]


def type_chinese(widget: QWidget, text: str) -> None:
    """Key events carrying Han characters, as an input method sends them (QTest types Latin only)."""
    for char in text:
        for kind in (QEvent.KeyPress, QEvent.KeyRelease):
            QApplication.sendEvent(widget, QKeyEvent(kind, 0, Qt.NoModifier, char))


def focused() -> QWidget:
    return QApplication.focusWidget()


def type_and_speak(qtbot, page, text: str) -> None:
    page.text_edit.setFocus()
    qtbot.keyClick(page.text_edit, Qt.Key_A, Qt.ControlModifier)
    qtbot.keyClick(page.text_edit, Qt.Key_Delete)
    qtbot.keyClicks(page.text_edit, text)
    qtbot.keyClick(page.text_edit, Qt.Key_Return, Qt.ControlModifier)


def test_the_voice_loads_when_the_page_is_shown_not_at_the_first_sentence(speak_window, qtbot, tmp_path):
    window, page, _ = speak_window("ok")
    qtbot.waitUntil(lambda: page.preloader.job is None and page.preloader.loaded is not None, timeout=WAIT_MS)
    (prepare,) = sent(tmp_path, kind="prepare_voice")
    voice = Path(window.context.speaker.folder) / "voices" / "v-20260101"
    assert prepare["params"] == {"gpt": str(voice / "gpt.ckpt"), "sovits": str(voice / "sovits.pth"),
                                 "reference": str(voice / "reference.wav"), "reference_text": "你好"}
    assert page.status_label.text() == "Ready. Type, then press Ctrl+Enter."
    qtbot.keyClick(window.nav, Qt.Key_1, Qt.ControlModifier)      # away and back: already loaded
    qtbot.keyClick(window.nav, Qt.Key_6, Qt.ControlModifier)
    type_and_speak(qtbot, page, "Hello.")
    qtbot.waitUntil(lambda: page.job is None, timeout=WAIT_MS)
    assert len(sent(tmp_path, kind="prepare_voice")) == 1 and len(sent(tmp_path)) == 1


def test_a_voice_that_cannot_load_says_so_before_anything_is_typed(speak_window, qtbot, tmp_path):
    window, page, _ = speak_window("prepare_fail")
    qtbot.waitUntil(lambda: "could not be loaded" in page.banner.text(), timeout=WAIT_MS)
    assert "SoVITS voice model (.pth) is missing" in page.banner.text() and page.banner.kind == "warning"
    assert page.preloader.job is None and page.preloader.loaded is None
    page.speed_spin.setValue(1.2)                  # a setting changes: the same failure is not retried
    assert page.preloader.job is None and len(sent(tmp_path, kind="prepare_voice")) == 1


def test_speed_checks_show_each_fast_paths_figure_from_the_voice_status(speak_window, qtbot):
    """The details view: what the worker reports when the voice loads (`fast_paths`, see
    core/runtime/gates.py), shown with Alt+C; a refused path says OFF and its figure."""
    window, page, _ = speak_window("ok")
    qtbot.waitUntil(lambda: page.preloader.job is None and page.preloader.loaded is not None, timeout=WAIT_MS)
    checks = page.speed_checks
    assert not checks.text.isVisible() and "Not known yet" in checks.text.text()   # the stub reports none
    status = {"cpu": "AMD EPYC 7B13 (x86_64); torch 2.13.0+cpu uses AVX2; int8 kernel adds in int16 (saturating)",
              "cache": "miss", "gate_s": 2.4, "on": ["fold_weight_norm", "chunked_decoder"], "notes": [],
              "gates": {"int8_gpt": {"lever": "int8_gpt", "metric": "agreement", "threshold": 0.95, "value": 0.04,
                                     "passed": False, "seconds": 2.1, "steps": 50, "basis": "int8 GPT"},
                        "bf16_decoder": {"lever": "bf16_decoder", "metric": "snr_db", "threshold": 30.0,
                                         "value": 41.2, "passed": True, "cached": True}}}
    page.preloader.job = "p9"                                   # as if the worker answered prepare_voice
    page.preloader._loading = page.preloader.loaded
    page.preloader._on_result("p9", {"loaded": True, "fast_paths": status})
    page.text_edit.setFocus()
    qtbot.keyClick(page.text_edit, Qt.Key_C, Qt.AltModifier)      # a mnemonic clicks after a moment
    qtbot.waitUntil(lambda: checks.button.isChecked() and checks.text.isVisible(), timeout=WAIT_MS)
    text = checks.text.text()
    assert text.startswith("This computer: AMD EPYC 7B13") and "uses AVX2" in text
    assert "int8 GPT: OFF (agreement 0.04 (2 of 50 greedy tokens), gate >= 0.95" in text
    assert "bf16 decoder: on (41.2 dB SNR, gate >= 30 dB; cached)" in text
    assert "int8 GPT: OFF" in checks.text.accessibleDescription()
    window.resize(1024, 600)
    OUTPUT.mkdir(parents=True, exist_ok=True)
    window.grab().save(str(OUTPUT / "speak_speed_checks.png"))
    qtbot.keyClick(page.text_edit, Qt.Key_C, Qt.AltModifier)
    qtbot.waitUntil(lambda: not checks.text.isVisible(), timeout=WAIT_MS)


def test_no_voice_nothing_to_load(speak_window, tmp_path):
    window, page, _ = speak_window("ok", voice=False)
    assert page.preloader.job is None and sent(tmp_path, kind="prepare_voice") == []


def test_speak_streams_sentences_in_order(speak_window, qtbot, tmp_path):
    window, page, player = speak_window("ok")
    assert page.voice_combo.currentText().startswith("Ada (trained, 2026-01-01")
    type_and_speak(qtbot, page, "Hello there. How are you? Fine.")
    assert page.job is not None and page.status_label.text() == "Making the speech…"
    qtbot.waitUntil(lambda: page.job is None, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: len(player.played) == 3, timeout=WAIT_MS)
    assert [p.name for p in player.paths] == ["sentence-0.wav", "sentence-1.wav", "sentence-2.wav"]
    assert len({p.parent for p in player.paths}) == 1 and all(v == 1.0 for _, v in player.played)
    run = sent(tmp_path)[0]
    assert run["kind"] == "speak"
    params, voice = run["params"], Path(window.context.speaker.folder) / "voices" / "v-20260101"
    assert params["text"] == "Hello there. How are you? Fine." and params["options"] == {"speed": 1.0}
    assert params["gpt"] == str(voice / "gpt.ckpt") and params["reference"] == str(voice / "reference.wav")
    assert params["reference_text"] == "你好" and "userdict" not in params
    said = page.history.entries()
    assert [s.text for s in said] == ["Hello there. How are you? Fine."] and str(said[0].audio) == params["out"]
    assert sf.info(params["out"]).duration == pytest.approx(0.6, abs=0.01)
    assert page.history_box.list.item(0).text().endswith("Hello there. How are you? Fine.")
    assert page.status_label.text().startswith("Said:")

    # quieter and slower, from the keyboard: Alt+O to the volume, Alt+E to the speed
    qtbot.keyClick(page.text_edit, Qt.Key_O, Qt.AltModifier)
    assert focused() is page.volume_slider
    qtbot.keyClick(page.volume_slider, Qt.Key_Left)
    qtbot.keyClick(page.volume_slider, Qt.Key_Left)
    assert page.volume_label.text() == "80%"
    qtbot.keyClick(page.volume_slider, Qt.Key_E, Qt.AltModifier)
    qtbot.keyClick(focused(), Qt.Key_Down)
    type_and_speak(qtbot, page, "Again.")
    qtbot.waitUntil(lambda: page.job is None and len(player.played) == 4, timeout=WAIT_MS)
    assert player.played[-1][1] == pytest.approx(0.8)
    assert sent(tmp_path)[1]["params"]["options"] == {"speed": 0.9}

    # Enter on the history list plays the chosen one again
    qtbot.keyClick(page.text_edit, Qt.Key_S, Qt.AltModifier)
    assert focused() is page.history_box.list
    qtbot.keyClick(page.history_box.list, Qt.Key_Down)
    qtbot.keyClick(page.history_box.list, Qt.Key_Return)
    assert player.paths[-1] == said[0].audio_path and len(sent(tmp_path)) == 2


def test_pieces_of_sentences_play_in_order(speak_window, qtbot):
    window, page, player = speak_window("pieces")
    type_and_speak(qtbot, page, "One. Two.")
    qtbot.waitUntil(lambda: page.job is None and len(player.played) == 4, timeout=WAIT_MS)
    assert [p.name for p in player.paths] == ["sentence-0-0.wav", "sentence-0-1.wav",
                                              "sentence-1-0.wav", "sentence-1-1.wav"]


def test_escape_stops_the_job_and_the_playback(speak_window, qtbot, tmp_path):
    window, page, player = speak_window("slow", seconds=60.0)
    type_and_speak(qtbot, page, "One. Two. Three.")
    qtbot.waitUntil(lambda: len(player.played) == 1, timeout=WAIT_MS)
    assert page.queue.playing and page.status_label.text() == "Saying sentence 1 of 3…"
    qtbot.keyClick(page.text_edit, Qt.Key_Escape)
    assert not page.queue.playing and player.stops >= 1
    qtbot.waitUntil(lambda: page.job is None, timeout=WAIT_MS)
    assert page.status_label.text() == "Stopped." and len(player.played) == 1
    assert len(sent(tmp_path, "cancel")) == 1 and page.history.entries() == []
    assert page.text_edit.toPlainText() == "One. Two. Three."       # the text stays


def test_a_saved_phrase_plays_from_its_cache_the_second_time(speak_window, qtbot, tmp_path):
    window, page, player = speak_window("ok")
    qtbot.keyClicks(page.text_edit, "Please call my wife")
    qtbot.keyClick(page.text_edit, Qt.Key_A, Qt.AltModifier)             # Add text as phrase
    qtbot.waitUntil(lambda: bool(page.phrases_box.phrases), timeout=WAIT_MS)   # a mnemonic clicks after 100 ms
    assert [p.text for p in page.phrases_box.phrases] == ["Please call my wife"]
    assert page.phrases_box.list.item(0).text() == "Alt+1: Please call my wife"
    assert "Press Alt+1 to say it" in page.banner.text()
    qtbot.keyClick(page.text_edit, Qt.Key_1, Qt.AltModifier)
    qtbot.waitUntil(lambda: page.job is None and len(player.played) == 1, timeout=WAIT_MS)
    assert len(sent(tmp_path)) == 1 and len(list(page.phrase_book.cache_dir.glob("*.wav"))) == 1

    qtbot.keyClick(page.text_edit, Qt.Key_1, Qt.AltModifier)
    assert page.job is None and len(sent(tmp_path)) == 1                 # no job: the cache
    assert player.paths[-1].parent == page.phrase_book.cache_dir
    assert page.status_label.text().startswith("Saved phrase")
    assert len(page.history.entries()) == 2
    # in the phrase list, the number key and Enter say it too; Delete removes it
    qtbot.keyClick(page.text_edit, Qt.Key_H, Qt.AltModifier)
    assert focused() is page.phrases_box.list
    qtbot.keyClick(page.phrases_box.list, Qt.Key_Return)
    qtbot.keyClick(page.phrases_box.list, Qt.Key_1)
    assert len(player.played) == 4 and len(sent(tmp_path)) == 1
    # another speed is other audio: made again
    page.speed_spin.setFocus()
    qtbot.keyClick(page.speed_spin, Qt.Key_Up)
    qtbot.keyClick(page.speed_spin, Qt.Key_1, Qt.AltModifier)
    qtbot.waitUntil(lambda: page.job is None and len(sent(tmp_path)) == 2, timeout=WAIT_MS)
    qtbot.keyClick(page.speed_spin, Qt.Key_H, Qt.AltModifier)
    qtbot.keyClick(page.phrases_box.list, Qt.Key_Delete)
    assert page.phrases_box.phrases == []


def test_a_recorded_message_plays_the_users_own_take(speak_window, qtbot, tmp_path):
    window, page, player = speak_window("ok")
    speaker = window.context.speaker
    message = speaker.add_message("Please call my wife.")
    writer = speaker.begin_take(message, speaker.start_session("test"))
    writer.append(speech_like(1.5, 48000).astype("float32"))
    take = writer.finish()
    type_and_speak(qtbot, page, "please call my wife")
    assert player.paths == [take.best_audio_path()] and page.job is None and sent(tmp_path) == []
    assert "Your own recording" in page.status_label.text()
    assert page.history_box.list.item(0).text().endswith("(your own recording)")
    assert take.raw_path.exists()


def test_no_sound_card_says_so_and_keeps_the_audio(speak_window, qtbot):
    window, page, player = speak_window("ok")
    player.fail = True
    type_and_speak(qtbot, page, "Hello.")
    qtbot.waitUntil(lambda: page.job is None, timeout=WAIT_MS)
    assert page.banner.kind == "warning" and "No speaker or headphones" in page.banner.text()
    said = page.history.entries()
    assert len(said) == 1 and said[0].audio_path.is_file()


def test_failure_and_missing_voice_are_clear(speak_window, qtbot, make_window):
    window, page, player = speak_window("fail")
    type_and_speak(qtbot, page, "Hello.")
    qtbot.waitUntil(lambda: page.job is None, timeout=WAIT_MS)
    assert page.banner.kind == "error" and "It could not be said: The reference recording is too short" \
        in page.banner.text()
    type_and_speak(qtbot, page, "")
    assert "Type what you want to say first" in page.banner.text()
    (Path(window.context.speaker.folder) / "voices" / "v-20260101" / "sovits.pth").unlink()
    type_and_speak(qtbot, page, "Hello.")
    assert page.banner.kind == "error" and "is missing sovits.pth" in page.banner.text()


def test_dictionary_validates_saves_and_reaches_the_job(speak_window, qtbot, tmp_path):
    window, page, player = speak_window("ok")
    stale = page.phrase_book.store("old-key", Path(__file__).with_name("stub_speak_worker.py"))
    qtbot.keyClick(page.text_edit, Qt.Key_D, Qt.ControlModifier)
    dialog = page.dictionary_dialog
    qtbot.waitUntil(lambda: dialog.isVisible() and focused() is dialog.word_edit, timeout=WAIT_MS)
    qtbot.keyClicks(dialog.word_edit, "Alice")
    qtbot.keyClick(dialog.word_edit, Qt.Key_Tab)
    qtbot.keyClicks(focused(), "AE1 L IH0 SS")
    qtbot.keyClick(focused(), Qt.Key_Return)
    assert dialog.banner.kind == "error" and "“SS” (in “Alice”) is not an ARPAbet phone" in dialog.banner.text()
    assert "Nothing was saved" in dialog.banner.text() and not dictionary_path(page.context.speaker.folder).exists()
    qtbot.keyClick(focused(), Qt.Key_Backspace)
    qtbot.keyClick(focused(), Qt.Key_Return)
    assert dialog.banner.kind == "ok" and focused() is dialog.word_edit
    type_chinese(dialog.word_edit, "张三")
    qtbot.keyClick(dialog.word_edit, Qt.Key_Tab)
    qtbot.keyClicks(focused(), "zhang san")
    qtbot.keyClick(focused(), Qt.Key_Return)
    assert "tone number" in dialog.banner.text()
    qtbot.keyClick(focused(), Qt.Key_A, Qt.ControlModifier)
    qtbot.keyClicks(focused(), "zhang1 san1")
    qtbot.keyClick(focused(), Qt.Key_Return)
    saved = json.loads(dictionary_path(page.context.speaker.folder).read_text(encoding="utf-8"))
    assert saved["entries"] == {"Alice": "AE1 L IH0 S", "张三": "zhang1 san1"}
    assert dialog.list.count() == 2 and not stale.exists()       # cached phrases are made again
    OUTPUT.mkdir(parents=True, exist_ok=True)
    dialog.grab().save(str(OUTPUT / "speak_dictionary.png"))
    qtbot.keyClick(focused(), Qt.Key_Escape)
    assert not dialog.isVisible()

    type_and_speak(qtbot, page, "Hello Alice.")
    qtbot.waitUntil(lambda: page.job is None, timeout=WAIT_MS)
    assert sent(tmp_path)[0]["params"]["userdict"] == str(dictionary_path(page.context.speaker.folder))


def test_export_from_the_keyboard(speak_window, qtbot, tmp_path, monkeypatch):
    window, page, player = speak_window("ok")
    type_and_speak(qtbot, page, "One. Two.")
    qtbot.waitUntil(lambda: page.job is None, timeout=WAIT_MS)
    choices = iter([str(tmp_path / "said.flac"), str(tmp_path / "missing" / "said.ogg"), str(tmp_path / "said")])
    monkeypatch.setattr(page, "choose_export_path", lambda suggested: next(choices))
    qtbot.keyClick(page.text_edit, Qt.Key_S, Qt.ControlModifier)
    info = sf.info(str(tmp_path / "said.flac"))
    assert info.format == "FLAC" and info.duration == pytest.approx(0.4, abs=0.01)
    assert page.banner.kind == "ok" and "said.flac" in page.banner.text()
    qtbot.keyClick(page.text_edit, Qt.Key_S, Qt.ControlModifier)
    assert page.banner.kind == "error" and "does not exist. Choose another folder" in page.banner.text()
    qtbot.keyClick(page.text_edit, Qt.Key_S, Qt.ControlModifier)
    assert sf.info(str(tmp_path / "said.wav")).format == "WAV"


def test_every_control_is_named_and_reached_with_tab(speak_window, qtbot):
    window, page, player = speak_window("ok")
    for phrase in ("Yes", "No", "Please call my wife"):
        type_and_speak(qtbot, page, phrase)
        qtbot.waitUntil(lambda: page.job is None, timeout=WAIT_MS)
        qtbot.keyClick(page.text_edit, Qt.Key_A, Qt.AltModifier)
        qtbot.waitUntil(lambda: [p.text for p in page.phrases_box.phrases[-1:]] == [phrase],
                        timeout=WAIT_MS)
    type_and_speak(qtbot, page, "I am cold. Could you close the window, please?")
    qtbot.waitUntil(lambda: page.job is None and bool(page.history_box.entries)     # said, and heard
                    and not page.stop_button.isEnabled(), timeout=WAIT_MS)
    controls = [w for w in page.findChildren(QWidget)     # a combo box's popup list is a window of its own
                if isinstance(w, CONTROLS) and not isinstance(w, QScrollBar) and w.window() is window]
    unnamed = [w for w in controls if not w.accessibleName()]
    assert not unnamed, [type(w).__name__ + ":" + getattr(w, "text", lambda: "")() for w in unnamed]
    reachable = {w for w in controls if w.isVisible() and w.isEnabled() and w.focusPolicy() & Qt.TabFocus}
    assert sorted(w.accessibleName() for w in reachable) == sorted([
        "Text to say", "Speak the text", "Speed checks", "Pronunciations of names and places",
        "How it will be read",
        "Save what was said as a sound file", "Add the typed text as a saved phrase",
        "Voice", "Speak with Enter alone", "Speed", "Volume", "Size of typed text",    # above the lists
        "Import voice", "Export voice", "Delete voice",                                 # voice actions
        "Let other programs on this computer use my voice",                             # the service
        "Saved phrases", "Say the chosen phrase", "Move the chosen phrase up", "Remove the chosen phrase",
        "What was said", "Play the chosen one again"])
    down = next(w for w in controls if w.accessibleName() == "Move the chosen phrase down")
    assert not down.isEnabled() and down.toolTip()      # the last phrase is chosen: it says why
    page.text_edit.setFocus()
    seen = set()
    for _ in range(60):
        seen.add(focused())
        qtbot.keyClick(focused(), Qt.Key_Tab)
    assert reachable <= seen, sorted(w.accessibleName() for w in reachable - seen)

    OUTPUT.mkdir(parents=True, exist_ok=True)
    window.grab().save(str(OUTPUT / "speak_page.png"))

    # text size: large by default, Ctrl+= and Ctrl+- change it
    assert page.size_spin.value() >= 20
    page.text_edit.setFocus()
    qtbot.keyClick(page.text_edit, Qt.Key_Equal, Qt.ControlModifier)
    assert page.size_spin.value() == 26 and "26pt" in page.text_edit.styleSheet()
    qtbot.keyClick(page.text_edit, Qt.Key_Minus, Qt.ControlModifier)
    qtbot.keyClick(page.text_edit, Qt.Key_Minus, Qt.ControlModifier)
    assert "22pt" in page.history_box.list.styleSheet()
    # the other pages keep their keys
    qtbot.keyClick(page.text_edit, Qt.Key_5, Qt.ControlModifier)
    assert window.current_page is window.build_page


def test_voice_speed_volume_and_text_size_are_remembered_per_speaker(speak_window, qtbot):
    window, page, player = speak_window("ok")
    speaker = window.context.speaker
    newer = Path(speaker.folder) / "voices" / "v-20260301"
    shutil.copytree(Path(speaker.folder) / "voices" / "v-20260101", newer)
    card = json.loads((newer / "voice.json").read_text(encoding="utf-8"))
    (newer / "voice.json").write_text(json.dumps({**card, "id": "v-20260301", "created": "2026-03-01T10:00:00"}),
                                      encoding="utf-8")
    page.refresh()
    assert page.current_voice().id == "v-20260101"            # a refresh keeps the chosen voice
    assert page.voice_combo.itemText(0).startswith("Ada (trained, 2026-03-01")   # newest first
    page.voice_combo.setFocus()
    qtbot.keyClick(page.voice_combo, Qt.Key_Up)                # the user tries the newer voice,
    assert page.current_voice().id == "v-20260301"
    qtbot.keyClick(page.voice_combo, Qt.Key_Down)              # then goes back to the older one
    qtbot.waitUntil(lambda: page.preloader.job is None, timeout=WAIT_MS)
    assert page.preloader.loaded == page.preloader.key(page.current_voice())   # the chosen voice is ready
    page.speed_spin.setValue(1.3)
    page.volume_slider.setValue(60)
    qtbot.keyClick(page.text_edit, Qt.Key_Equal, Qt.ControlModifier)
    saved = json.loads((Path(speaker.folder) / "speak" / "settings.json").read_text(encoding="utf-8"))
    assert saved == {"voice_id": "v-20260101", "speed": 1.3, "volume": 60, "text_pt": page.size_spin.value(),
                     "enter_speaks": False}
    assert saved["text_pt"] > 24
    window.context.set_speaker(None)
    window.context.set_speaker(speaker)
    assert page.current_voice().id == "v-20260101" and page.speed_spin.value() == pytest.approx(1.3)
    assert page.volume_slider.value() == 60 and page.volume_label.text() == "60%"
    (Path(speaker.folder) / "speak" / "settings.json").write_text("{broken", encoding="utf-8")
    window.context.set_speaker(None)
    window.context.set_speaker(speaker)                         # a damaged file: the defaults, no error
    assert page.speed_spin.value() == 1.0 and page.volume_slider.value() == 100
    assert page.banner.kind != "error"


def test_a_message_recorded_as_silence_is_said_in_the_voice_not_played(speak_window, qtbot, tmp_path):
    """Issue 14: a message whose take is ✗ "no speech" is never played as the person's own
    recording; the voice says the text and the banner says why and how to record it again."""
    import numpy as np

    from core.bank.process import process_take
    window, page, player = speak_window("ok")
    speaker = window.context.speaker
    message = speaker.add_message("I love you")
    writer = speaker.begin_take(message, speaker.start_session("test"))
    writer.append(np.zeros(96000, "float32"))
    take = process_take(speaker, writer.finish())
    assert take.grade == "red"
    type_and_speak(qtbot, page, "I love you")
    assert "Your own recording" not in page.status_label.text()
    assert page.banner.kind == "warning"
    assert page.banner.text().endswith("Your own recording of “I love you” cannot be used (no speech heard). "
                                       "To record it again: Speaker page (Ctrl+1), choose the message, then "
                                       f"press “Record again”. Until then it is said in the voice "
                                       f"“{page.current_voice().label}”.")
    qtbot.waitUntil(lambda: page.job is None, timeout=WAIT_MS)
    assert [c["params"]["text"] for c in sent(tmp_path)] == ["I love you"]
    assert player.paths and take.raw_path not in player.paths and take.best_audio_path() not in player.paths
    said = page.history.entries()[-1]
    assert not said.own and said.audio_path.parent == page.history.audio_dir
