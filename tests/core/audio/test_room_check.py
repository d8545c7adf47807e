"""The room check tells someone speaking or a one-off sound from steady noise, and a clean take is
never graded red because the room check was disturbed: the take's own pauses are trusted."""
import numpy as np
import pytest

from core.audio.measures import room_tone
from core.audio.quality import FLOOR_DISAGREE_DB, ROOM_DISTURBED_NOTE, analyze, check_room
from tests.testsignals import noise, speech_like

SR = 48000
TEXT = "Good morning, how are you today?"


def quiet_room(seconds: float = 3.0, level: float = -65.0, seed: int = 3) -> np.ndarray:
    return noise("pink", seconds, SR, seed=seed, level_dbfs=level)


def bang(x: np.ndarray, at_s: float, seconds: float, gain: float = 0.3, seed: int = 7) -> np.ndarray:
    """A door bang or a knock: a burst of noise that dies away, added to `x`."""
    rng = np.random.default_rng(seed)
    n, i = int(seconds * SR), int(at_s * SR)
    out = x.copy()
    out[i:i + n] += (gain * rng.standard_normal(n) * np.exp(-np.arange(n) / (seconds / 4 * SR))).astype(np.float32)
    return out


# --------------------------------------------------------------------------- the room check

def test_quiet_room_is_ok():
    verdict = check_room(quiet_room(), SR)
    assert verdict.ok and not verdict.disturbed
    assert verdict.noise_floor_dbfs == pytest.approx(-65.0, abs=1.0)
    assert verdict.headline.startswith("✓")


def test_someone_speaking_spoils_the_room_check():
    room = quiet_room() + 0.5 * speech_like(3.0, SR, seed=1, lead_s=0.5, trail_s=0.5)
    verdict = check_room(room, SR)
    assert verdict.disturbed and not verdict.ok
    assert "spoke" in verdict.headline.lower()
    assert "someone speaking" in verdict.message
    assert "check again" in verdict.message and "continue anyway" in verdict.message.lower()
    # the steady part between the words is still the room's level, not the voice's
    assert verdict.noise_floor_dbfs < -55


def test_talking_all_through_the_check_is_disturbed_too():
    room = quiet_room() + 0.5 * speech_like(3.0, SR, seed=2, lead_s=0.05, trail_s=0.05)
    verdict = check_room(room, SR)
    assert verdict.disturbed and "spoke" in verdict.headline.lower()


def test_a_door_bang_with_enough_steady_room_is_measured_without_it():
    room = quiet_room()
    with_bang = bang(room, 1.4, 0.3)
    assert 10 * np.log10(np.mean(with_bang.astype(np.float64) ** 2)) > -40     # the bang dominates the mean
    verdict = check_room(with_bang, SR)
    assert verdict.ok and not verdict.disturbed
    assert verdict.noise_floor_dbfs == pytest.approx(-65.0, abs=1.0)
    assert "sudden sound" in verdict.message and "left it out" in verdict.message
    tone = room_tone(with_bang, SR)
    assert tone.loud_runs == 1 and 0.1 <= tone.loud_s <= 0.4 and tone.quiet_s >= 1.5


def test_a_bang_in_a_short_check_cannot_be_left_out():
    room = bang(quiet_room(1.2), 0.4, 0.4)
    verdict = check_room(room, SR)
    assert verdict.disturbed and not verdict.ok
    assert "sudden sound" in verdict.headline.lower() and "spoke" not in verdict.headline.lower()


@pytest.mark.parametrize("kind", ["pink", "white", "hum"])
def test_steady_fan_noise_is_noisy_not_disturbed(kind):
    verdict = check_room(noise(kind, 3.0, SR, seed=4, level_dbfs=-40.0), SR)
    assert not verdict.disturbed and not verdict.ok
    assert verdict.noise_floor_dbfs == pytest.approx(-40.0, abs=1.0)
    assert "too noisy" in verdict.headline
    assert room_tone(noise(kind, 3.0, SR, seed=4, level_dbfs=-40.0), SR).loud_s == 0


def test_no_samples_is_an_error():
    with pytest.raises(ValueError):
        check_room(np.zeros(0, np.float32), SR)


# --------------------------------------------------------------------------- grading a take

def clean_take(seed: int = 5) -> np.ndarray:
    """A clean take: speech with a very quiet room under it (its own pauses at about -75 dBFS)."""
    return (speech_like(3.0, SR, seed=seed, lead_s=0.6, trail_s=0.6)
            + noise("pink", 3.0, SR, seed=9, level_dbfs=-75.0)).astype(np.float32)


def test_clean_take_against_a_too_high_session_floor_is_not_red():
    # a room check spoiled by speech read -41.7 dBFS; the take's own pauses say about -75
    report = analyze(clean_take(), SR, noise_floor_dbfs=-41.7, text=TEXT)
    assert report.grade != "red"
    assert not any(p.code == "noisy" for p in report.problems)
    assert report.noise_floor_source == "file"
    assert report.noise_floor_dbfs == pytest.approx(-75.0, abs=2.0)
    assert report.noise_floor_note == ROOM_DISTURBED_NOTE
    assert report.snr_db > 40
    # the same take, judged against that figure, would have been red: the test means something
    floor = report.noise_floor_dbfs
    assert -41.7 - floor > FLOOR_DISAGREE_DB


def test_disturbed_room_check_uses_the_takes_own_floor_even_when_close():
    # the floors agree within FLOOR_DISAGREE_DB, but the room check was disturbed: the take's own
    report = analyze(clean_take(), SR, noise_floor_dbfs=-72.0, room_disturbed=True, text=TEXT)
    assert report.noise_floor_source == "file"
    assert report.noise_floor_dbfs == pytest.approx(-75.0, abs=2.0)
    assert report.noise_floor_note == ROOM_DISTURBED_NOTE
    undisturbed = analyze(clean_take(), SR, noise_floor_dbfs=-72.0, text=TEXT)
    assert undisturbed.noise_floor_source == "session" and undisturbed.noise_floor_dbfs == -72.0
    assert undisturbed.noise_floor_note is None


def test_a_room_that_got_louder_uses_the_takes_own_floor():
    take = (speech_like(3.0, SR, seed=5, lead_s=0.6, trail_s=0.6)
            + noise("pink", 3.0, SR, seed=9, level_dbfs=-45.0)).astype(np.float32)
    report = analyze(take, SR, noise_floor_dbfs=-70.0, text=TEXT)
    assert report.noise_floor_source == "file"
    assert report.noise_floor_dbfs == pytest.approx(-45.0, abs=2.0)
    assert "louder than the room check" in report.noise_floor_note
    # judged against the quiet room check it would have looked far cleaner than it is
    assert report.snr_db < 35
    assert report.grade in ("amber", "red")


def test_a_sound_room_check_is_used_as_it_is():
    report = analyze(clean_take(), SR, noise_floor_dbfs=-74.0, text=TEXT)
    assert report.noise_floor_source == "session" and report.noise_floor_dbfs == -74.0
    assert report.noise_floor_note is None and report.grade == "green"
