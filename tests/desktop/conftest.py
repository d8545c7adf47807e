import os

# Before anything imports Qt: the GUI tests never need a display.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from core.audio.capture import Recorder  # noqa: E402
from core.bank.store import Bank  # noqa: E402
from tests.fakes import fake_stream_factory  # noqa: E402

OUTPUT = Path(__file__).resolve().parents[1] / "output"


@pytest.fixture(autouse=True)
def private_bank(tmp_path, monkeypatch):
    """Each test gets its own bank folder; the user's real bank is never touched."""
    home = tmp_path / "bank"
    monkeypatch.setenv("VOICEBANK_HOME", str(home))
    monkeypatch.setenv("VOICEBANK_CONFIG", str(tmp_path / "config"))   # never the user's settings
    return home


@pytest.fixture
def played(monkeypatch):
    """Playback is an edge (no sound card here): record what would have been played."""
    calls: list[Path] = []

    def fake_play_file(path, device=None):
        calls.append(Path(path))
        return 1.0

    monkeypatch.setattr("core.audio.playback.play_file", fake_play_file)
    return calls


@pytest.fixture
def make_window(qtbot, private_bank):
    """make_window(source, **fake_options) -> MainWindow with one speaker and a fake microphone."""
    from desktop.app import MainWindow, make_app

    made = []

    def make(source: np.ndarray | None = None, speaker: bool = True, languages=("zh",),
             recorder: Recorder | None = None, list_devices=lambda: [], **options):
        make_app([])
        bank = Bank(private_bank)
        if speaker:
            bank.create_speaker("Ada", list(languages))
        recorder = recorder or Recorder(stream_factory=fake_stream_factory(source, **options))
        window = MainWindow(bank=bank, recorder=recorder, list_devices=list_devices)
        qtbot.addWidget(window)
        window.show()
        made.append(window)
        return window

    yield make
    for window in made:
        window.close()
