"""The Build page, driven from the keyboard, against a stub worker that plays a script
(tests/desktop/stub_build_worker.py): progress, result and sample, failure, stop, a dying worker,
missing base models, the first version and importing model files."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget

from core.models.store import FileStatus
from desktop import build_support
from desktop.worker_client import WorkerClient
from tests.desktop.conftest import OUTPUT
from tests.testsignals import speech_like

STUB = Path(__file__).with_name("stub_build_worker.py")
ROOT = Path(__file__).resolve().parents[2]
WAIT_MS = 15000
FILES = [("gpt-sovits-v2", "s1bert25hz-5kh-longer-epoch=12-step=369668.ckpt", ("speak", "train")),
         ("gpt-sovits-v2", "s2G2333k.pth", ("speak", "train")), ("gpt-sovits-v2", "s2D2333k.pth", ("train",)),
         ("chinese-hubert-base", "pytorch_model.bin", ("speak", "train")),
         ("chinese-roberta-wwm-ext-large", "pytorch_model.bin", ("speak", "train"))]


def fake_status(missing: set[str] = frozenset()):
    def status(purpose: str = "train"):
        return [FileStatus(model, name, Path("/models") / model / name,
                           "missing" if name in missing else "installed",
                           "not installed" if name in missing else "verified")
                for model, name, needed in FILES if purpose in needed]
    return status


def add_takes(speaker, count: int = 4, red: int = 1) -> list:
    session = speaker.start_session("test")
    takes = []
    for i, prompt in enumerate(speaker.prompts()[:count + red]):
        writer = speaker.begin_take(prompt, session)
        writer.append(speech_like(3.0 + i, 48000, seed=i).astype("float32"))
        take = writer.finish()
        take.quality = {"grade": "red" if i >= count else "green"}
        take.save()
        takes.append(take)
    return takes


@pytest.fixture
def build_window(make_window, qtbot, tmp_path, monkeypatch):
    """build_window(scenario, missing=..., takes=True) -> (window, page) on the Build page."""
    monkeypatch.setenv("VOICEBANK_MODELS", str(tmp_path / "models"))
    clients: list[WorkerClient] = []

    def make(scenario: str = "ok", missing: set[str] = frozenset(), takes: bool = True):
        monkeypatch.setattr(build_support, "model_status", fake_status(missing))
        window = make_window()
        if takes:
            add_takes(window.context.speaker)
        client = WorkerClient(window, program=sys.executable, arguments=["-u", str(STUB)],
                              environment={"STUB_SCENARIO": scenario, "STUB_LOG": str(tmp_path / "stub.log")})
        clients.append(client)
        page = window.build_page
        page.set_worker(client)
        qtbot.keyClick(window.nav, Qt.Key_5, Qt.ControlModifier)
        assert window.current_page is page
        qtbot.waitUntil(lambda: "Checking" not in page.models.label.text(), timeout=WAIT_MS)
        return window, page

    yield make
    for client in clients:
        client.shutdown(wait=True, kill_after_ms=2000)


def sent(tmp_path) -> list[dict]:
    log = tmp_path / "stub.log"
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def test_build_from_the_keyboard_then_compare_the_sample(build_window, qtbot, played, tmp_path):
    window, page = build_window("ok")
    assert "seconds of usable audio in 4 takes" in page.audio_label.text()
    assert "needs at least 1 minute" in page.audio_label.text()
    assert "1 take marked ✗ Redo is left out" in page.audio_label.text()
    assert "✓ gpt-sovits-v2: installed" in page.models.label.text() and not page.models.help.isVisible()
    assert page.focusWidget() is page.build_button or window.focusWidget() is page.build_button
    assert not page.play_mine_button.isEnabled() and not page.play_voice_button.isEnabled()

    stages: list[str] = []
    page.worker.progress.connect(lambda job, ev: stages.append(page.status_label.text()))
    qtbot.keyClick(window.focusWidget(), Qt.Key_Return)         # Enter on the focused Build button
    assert page.running and page.cancel_button.isEnabled() and not page.build_button.isEnabled()
    qtbot.waitUntil(lambda: page.play_voice_button.isEnabled(), timeout=WAIT_MS)

    assert any(s.startswith("Stage 2 of 4: Learning the sound of your voice  ·  step 2 of 3  ·  loss 0.5")
               and "about 2 min left" in s for s in stages)
    assert any(s.startswith("Stage 4 of 4: Saving your voice") for s in stages)
    assert page.banner.kind == "ok" and "press R, then V" in page.banner.text()
    assert not page.running and not page.cancel_button.isEnabled()
    log = page.log_view.toPlainText()
    assert "Stage 3 of 4" in log and "Your voice “Ada” is ready" in log
    assert page.log_view.isReadOnly() and page.log_view.accessibleName() == "Build log"

    qtbot.waitUntil(lambda: "83 %" in page.trust.likeness_label.text(), timeout=WAIT_MS)
    assert "sounds like you: 83 % — like you" in page.trust.likeness_label.text()
    commands = [c for c in sent(tmp_path) if c["cmd"] == "run"]
    assert [c["kind"] for c in commands] == ["build", "speak", "likeness"]
    assert commands[2]["params"]["sample"] == commands[1]["params"]["out"]
    build, speak = commands[0]["params"], commands[1]["params"]
    assert build == {"speaker_id": "ada", "bank_root": str(window.context.bank.root), "device": "auto"}
    voice = window.context.bank.root / "ada" / "voices" / "trained-stub"
    assert speak["gpt"] == str(voice / "voice.ckpt") and speak["reference"] == str(voice / "reference.wav")
    assert speak["out"] == str(voice / "sample.wav") and speak["reference_text"] == "你好"
    assert speak["text"] == page.sample.take.text and page.sample.take.grade == "green"
    assert page.sample.take.text in page.sample.label.text()

    qtbot.keyClick(page, Qt.Key_R)
    qtbot.keyClick(page, Qt.Key_V)
    assert played == [page.sample.take.raw_path, voice / "sample.wav"]
    OUTPUT.mkdir(parents=True, exist_ok=True)
    window.grab().save(str(OUTPUT / "build_done.png"))

    # as after a restart: the page finds the newest voice's sample and offers it again
    speaker, take = window.context.speaker, page.sample.take
    window.context.set_speaker(None)
    assert page.sample.out is None and not page.play_voice_button.isEnabled()
    window.context.set_speaker(window.context.bank.speaker(speaker.id))
    assert page.sample.take.id == take.id and page.sample.out == voice / "sample.wav"
    assert page.play_mine_button.isEnabled() and page.play_voice_button.isEnabled()
    assert "trained-stub" in page.sample.label.text()


def test_failure_shows_the_message_in_the_banner(build_window, qtbot):
    window, page = build_window("fail")
    qtbot.keyClick(page, Qt.Key_B)
    qtbot.waitUntil(lambda: not page.running, timeout=WAIT_MS)
    assert page.banner.kind == "error"
    assert "The build stopped: The graphics card ran out of memory. Close other programs" in page.banner.text()
    assert page.build_button.isEnabled() and not page.play_voice_button.isEnabled()


def test_stop_with_esc_keeps_the_work(build_window, qtbot, tmp_path):
    window, page = build_window("slow")
    qtbot.keyClick(page, Qt.Key_B)
    qtbot.waitUntil(lambda: page.progress_bar.maximum() == 400 and page.progress_bar.value() >= 3,
                    timeout=WAIT_MS)
    assert "Stage 2 of 4" in page.status_label.text() and "about 13 min left" in page.status_label.text()
    assert page.progress_bar.accessibleDescription() == page.status_label.text()
    OUTPUT.mkdir(parents=True, exist_ok=True)
    window.grab().save(str(OUTPUT / "build.png"))
    qtbot.keyClick(page, Qt.Key_Escape)
    qtbot.waitUntil(lambda: not page.running, timeout=WAIT_MS)
    assert "continue where it stopped" in page.banner.text() and page.banner.kind == "info"
    assert page.build_button.isEnabled()
    assert [c["cmd"] for c in sent(tmp_path)][-1] == "cancel"


def test_worker_death_says_the_build_resumes(build_window, qtbot):
    window, page = build_window("die")
    qtbot.keyClick(page, Qt.Key_B)
    qtbot.waitUntil(lambda: not page.running, timeout=WAIT_MS)
    assert page.banner.kind == "error"
    assert "stopped unexpectedly" in page.banner.text() and "continues from its last saved step" in page.banner.text()
    assert "crashing on purpose" in page.log_view.toPlainText()
    assert page.build_button.isEnabled()


def test_missing_base_models_are_shown_with_what_to_do(build_window, qtbot, played):
    window, page = build_window("ok", missing={"s2D2333k.pth"})
    text = page.models.label.text()
    assert "✗ gpt-sovits-v2: missing s2D2333k.pth\n" in text and "✓ chinese-hubert-base" in text
    assert "The files for a first version (F) are installed" in text
    assert page.models.help.isVisible() and "voicebank models download" in page.models.help.text()
    assert not page.build_button.isEnabled() and page.zero_shot_button.isEnabled()
    qtbot.keyClick(page, Qt.Key_B)
    assert not page.running and page.banner.kind == "warning" and "Import a folder" in page.banner.text()
    OUTPUT.mkdir(parents=True, exist_ok=True)
    window.grab().save(str(OUTPUT / "build_missing.png"))


def test_first_version_with_speaking_models_only(build_window, qtbot, played, tmp_path):
    window, page = build_window("ok", missing={"s2D2333k.pth"})
    qtbot.keyClick(page, Qt.Key_F)
    qtbot.waitUntil(lambda: page.play_voice_button.isEnabled(), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: "83 %" in page.trust.likeness_label.text(), timeout=WAIT_MS)
    assert [c["kind"] for c in sent(tmp_path) if c["cmd"] == "run"] == ["zero_shot", "speak", "likeness"]
    assert "A first version of your voice “Ada” is ready" in page.log_view.toPlainText()
    qtbot.keyClick(page, Qt.Key_V)
    assert played[-1].name == "sample.wav"


def test_summary_never_promises_a_first_version_without_usable_audio():
    only_red = build_support.AudioSummary(0.0, 0, 2).text()
    assert "can be made already" not in only_red and "needs one usable recording" in only_red
    assert "record them again on the Record page (Ctrl+3)" in only_red
    assert "on the Record page (Ctrl+3)" in build_support.AudioSummary(0.2, 3, 1).text()
    assert "can be made already" in build_support.AudioSummary(0.2, 3, 0).text()


def test_nothing_recorded_yet(build_window, qtbot):
    window, page = build_window("ok", missing={"s2G2333k.pth"}, takes=False)
    assert "No recordings yet" in page.audio_label.text()
    assert "can be made already" not in page.audio_label.text()
    assert not page.build_button.isEnabled() and not page.zero_shot_button.isEnabled()
    assert "Record some prompts first" in page.build_button.toolTip()        # says why
    assert page.import_button.isEnabled() and window.focusWidget() is page.import_button
    qtbot.keyClick(page, Qt.Key_F)
    assert "Record some prompts first" in page.banner.text()


def test_import_a_folder_without_model_files(build_window, qtbot, tmp_path, monkeypatch):
    window, page = build_window("ok", missing={"s2G2333k.pth"})
    empty = tmp_path / "usb-stick"
    empty.mkdir()
    monkeypatch.setattr(page.models, "choose_folder", lambda: str(empty))
    qtbot.keyClick(page, Qt.Key_I)
    qtbot.waitUntil(lambda: page.banner.kind == "warning", timeout=WAIT_MS)
    assert "None of the base model files were in that folder" in page.banner.text()


def test_the_gui_imports_neither_torch_nor_the_training_code(tmp_path):
    script = ("import sys, desktop.app\n"
              "app = desktop.app.make_app(['voicebank'])\n"
              "w = desktop.app.MainWindow(); w.show(); w.show_page(desktop.app.BUILD)\n"
              "w.build_page.models.wait(); app.processEvents()\n"
              "print('heavy:', [m for m in ('torch', 'core.train', 'core.train.build') if m in sys.modules])\n"
              "w.close()\n")
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", VOICEBANK_HOME=str(tmp_path / "bank"),
               VOICEBANK_MODELS=str(tmp_path / "models"))
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "heavy: []" in result.stdout


def test_every_control_is_named_and_reached_with_tab(build_window, qtbot):
    from PySide6.QtWidgets import QAbstractButton, QComboBox, QPlainTextEdit, QProgressBar

    window, page = build_window("ok")
    controls = [w for w in page.findChildren(QWidget)
                if isinstance(w, (QAbstractButton, QComboBox, QPlainTextEdit, QProgressBar))]
    assert controls and all(w.accessibleName() for w in controls), [w for w in controls if not w.accessibleName()]
    page.sample.take = page.sample.take or build_support.usable_takes(window.context.speaker)[0]
    page.sample.update_buttons()
    page.build_button.setFocus()
    reached = []
    for _ in range(20):
        reached.append(window.focusWidget())
        qtbot.keyClick(window.focusWidget(), Qt.Key_Tab)
    for widget in (page.zero_shot_button, page.build_button, page.device_combo, page.play_mine_button,
                   page.log_view, page.import_button):
        assert widget in reached, widget.accessibleName()
    assert page.cancel_button not in reached             # disabled while nothing runs


def test_alt_mnemonic_starts_the_build(build_window, qtbot):
    window, page = build_window("ok")
    window.activateWindow()
    qtbot.keyClick(page.build_button, Qt.Key_B, Qt.AltModifier)
    qtbot.waitUntil(lambda: page.play_voice_button.isEnabled(), timeout=WAIT_MS)
