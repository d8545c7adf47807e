"""Start-up cost (no torch, lazily loaded audio analysis) and screenshots of every page."""
import os
import subprocess
import sys
from pathlib import Path

from PySide6.QtCore import Qt

from tests.desktop.conftest import OUTPUT
from tests.testsignals import speech_like

ROOT = Path(__file__).resolve().parents[2]
STARTUP = """
import time; t = time.time()
import sys
import desktop.app
app = desktop.app.make_app(["voicebank"])
window = desktop.app.MainWindow()
window.show(); app.processEvents()
print(f"startup {time.time() - t:.3f} s")
heavy = [m for m in ("torch", "pyloudnorm", "core.audio.quality", "core.bank.process", "core.audio.denoise")
         if m in sys.modules]
print("heavy:", heavy)
window.close()
"""


def test_startup_is_light(tmp_path):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", VOICEBANK_HOME=str(tmp_path / "bank"))
    result = subprocess.run([sys.executable, "-c", STARTUP], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    print(result.stdout)
    assert "heavy: []" in result.stdout


def test_screenshots_of_every_page(make_window, qtbot, played):
    OUTPUT.mkdir(parents=True, exist_ok=True)
    window = make_window(speech_like(3.0), loop=True, pace=0.25, languages=("zh", "en"))
    window.context.speaker.add_message("I love you, 我爱你")
    window.context.prompts_changed()
    window.speaker_page.refresh_messages()
    window.grab().save(str(OUTPUT / "speaker.png"))

    qtbot.keyClick(window.nav, Qt.Key_2, Qt.ControlModifier)
    qtbot.keyClick(window.room_page.check_button, Qt.Key_Return)
    qtbot.waitUntil(lambda: window.room_page.verdict is not None, timeout=5000)
    window.grab().save(str(OUTPUT / "room.png"))

    qtbot.keyClick(window.room_page.anyway_button, Qt.Key_Return)
    page = window.record_page
    qtbot.keyClick(page, Qt.Key_Space)
    qtbot.waitUntil(lambda: window.context.recorder.status().captured_s >= 1.0, timeout=5000)
    qtbot.wait(100)
    window.grab().save(str(OUTPUT / "record_recording.png"))
    qtbot.keyClick(page, Qt.Key_Space)
    qtbot.waitUntil(lambda: not page._checking, timeout=15000)
    window.grab().save(str(OUTPUT / "record.png"))
    qtbot.keyClick(page, Qt.Key_Right)
    window.grab().save(str(OUTPUT / "record_script.png"))

    qtbot.keyClick(window.nav, Qt.Key_4, Qt.ControlModifier)
    window.grab().save(str(OUTPUT / "review.png"))
    for name in ("speaker", "room", "record", "record_recording", "record_script", "review"):
        assert (OUTPUT / f"{name}.png").stat().st_size > 1000
