import hashlib

import numpy as np
import pytest
import soundfile as sf

from core.audio.io import read_audio
from core.audio.measures import measure_noise_floor
from core.bank.process import process_take
from core.bank.store import Bank
from tests.testsignals import mix_at_snr, noise, noise_for_snr, speech_like


def recorded_take(speaker, audio, noise_floor=None):
    session = speaker.start_session("fake", noise_floor, True)
    writer = speaker.begin_take(speaker.prompts()[0], session)
    writer.append(audio)
    return writer.finish()


@pytest.fixture
def speaker(private_bank):
    return Bank().create_speaker("Test", ["en"])


def test_noisy_take_is_graded_and_cleaned_raw_untouched(speaker):
    clean = speech_like(3.0, seed=4)
    hiss = noise_for_snr(clean, noise("white", 3.0, seed=5), 14.0)
    take = recorded_take(speaker, clean + hiss, measure_noise_floor(hiss, 48000))  # room tone = the same hiss
    before = hashlib.sha256(take.raw_path.read_bytes()).hexdigest()
    process_take(speaker, take)
    assert hashlib.sha256(take.raw_path.read_bytes()).hexdigest() == before
    assert take.grade == "red" and take.quality["noise_floor_source"] == "session"
    assert take.quality["snr_db"] == pytest.approx(14.0, abs=3.0)
    assert take.cleaned and take.cleanup_mix == 1.0
    cleaned = read_audio(take.clean_path).samples
    raw = read_audio(take.raw_path).samples
    # the lead-in silence (pure noise) is much quieter after cleanup
    lead = slice(0, int(0.3 * 48000))
    assert np.std(cleaned[lead]) < 0.2 * np.std(raw[lead])
    reloaded = speaker.current_take(take.prompt_id)
    assert reloaded.quality == take.quality and reloaded.cleanup_mix == 1.0


def test_clean_take_is_left_as_recorded(speaker):
    clean = speech_like(3.0, seed=6)
    audio = mix_at_snr(clean, noise("white", 3.0, seed=7), 50.0)
    take = recorded_take(speaker, audio, noise_floor=None)
    process_take(speaker, take)
    assert take.quality["noise_floor_source"] == "file"
    assert take.cleanup_mix == 0.0
    a, _ = sf.read(str(take.raw_path), dtype="int16")
    b, _ = sf.read(str(take.clean_path), dtype="int16")
    assert np.max(np.abs(a.astype(int) - b.astype(int))) <= 1


def test_unreadable_take_is_red_not_a_crash(speaker):
    take = recorded_take(speaker, speech_like(1.0))
    take.raw_path.write_bytes(b"garbage" * 10)
    process_take(speaker, take)
    assert take.grade == "red"
    assert "record it again" in take.quality["problems"][0]["message"]
