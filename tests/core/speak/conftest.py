import pytest

from core.audio.io import write_wav
from tests.audiofiles import tone


@pytest.fixture
def make_wav():
    """make_wav(path, seconds=0.3, rate=32000, freq=220) -> path of a mono WAV tone."""
    def make(path, seconds=0.3, rate=32000, freq=220.0):
        path.parent.mkdir(parents=True, exist_ok=True)
        return write_wav(path, tone(seconds, rate, freq), rate)
    return make
