"""The per-take quality gate: is this recording good enough to go into the voice bank?

`analyze` measures one take and grades it green / amber / red, with plain-language problems that
say what to do. Levels are mean power in dBFS: 10*log10(mean(x**2)) (a full-scale sine is -3 dBFS).

How SNR is measured (see the ecosystem notes, section 4): a blind estimator alone is not reliable
over the 10-40 dB range that matters here, so, as ModelTalker does, the app records a few seconds of
room tone before a session. Per take:
  * voice activity per 10 ms frame = RNNoise's voice probability (spread +-30 ms) AND frame energy
    at least 3 dB above the noise floor; far-above-floor frames with a weak VAD still count, so a
    voice RNNoise scores weakly is not lost;
  * noise floor = the session's room tone (`noise_floor_dbfs`, source "session"), or, without one,
    the robust mean power of the take's own non-speech frames (source "file"); when the two
    disagree by more than 6 dB, or the room check was disturbed, the take's own (with a note);
  * SNR = (mean power over active frames - noise power) / noise power.
WADA-SNR (Kim & Stern 2008) is reported as a second opinion only; it is not graded.

The measures themselves (levels, noise floor, WADA-SNR, bandwidth, loudness, syllables) are plain
functions in core.audio.measures; this module holds the thresholds, the report, the room verdict,
`analyze` (measure, then grade) and the wording of every problem.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields

import numpy as np
from scipy.ndimage import maximum_filter1d

from core.audio import denoise
from core.audio.measures import (FLOOR_MIN_DBFS, count_runs, describe_noise, fit_frames, frame_powers,
                                 loudness_lufs, power_db, robust_mean_power, syllable_count,
                                 text_language, voice_bandwidth, wada_snr)
from core.audio.measures import room_tone as measure_room_tone

SNR_RANGE_DB = (-20.0, 100.0)
FRAME_S = 0.010                 # activity frames: RNNoise's 10 ms
VAD_SPREAD_FRAMES = 3           # RNNoise probability spread +-30 ms so syllable edges stay "voice"
ENERGY_MARGIN_DB = 3.0          # active frames must be this far above the floor...
LOUD_MARGIN_DB = 15.0           # ...and frames this far above it count with a weak VAD (>= 0.15)
ENERGY_ONLY_MARGIN_DB = 6.0     # without RNNoise, energy alone with a wider margin
MIN_NOISE_FRAMES = 10           # 100 ms of non-speech needed to measure the floor from the file
FLOOR_DISAGREE_DB = 6.0         # the take's own pauses this far from the session floor: trust the take
ROOM_IGNORE_S = 0.1             # room check: a click shorter than this is not worth a word
ROOM_VOICE_S = 0.2              # ...this much voice (RNNoise) above the background means someone spoke
ROOM_QUIET_ENOUGH_S = 1.5       # ...a short sound with this much steady room around it is left out
GRADER = 2                      # 2: a disturbed room check no longer makes clean takes red


@dataclass(frozen=True)
class QualityThresholds:
    """Every grading threshold in one place. Amber = usable, could be better; red = record again."""
    snr_green_db: float = 30.0          # >= green (Hi-Fi TTS keeps >= 32 dB)
    snr_red_db: float = 20.0            # < red; in between amber
    room_noise_floor_max_dbfs: float = -50.0   # room check: a louder room tone is "too noisy"
    typical_speech_level_dbfs: float = -20.0   # assumed for the SNR a room floor implies
    clip_level: float = 0.999           # |x| at or above this counts as full scale
    clip_fraction_red: float = 0.001    # > 0.1 % of samples at full scale -> red
    clip_run_min: int = 3               # any run of >= 3 full-scale samples -> red
    peak_high_dbfs: float = -1.0        # peak above this (but no clipping) -> amber, too close
    peak_low_dbfs: float = -18.0        # peak below this -> amber, a bit quiet
    peak_too_low_dbfs: float = -30.0    # peak below this -> red, too quiet
    bandwidth_amber_hz: float = 7000.0  # below: muffled (wideband-only or lossy path)
    bandwidth_red_hz: float = 5500.0    # below: telephone / narrowband Bluetooth (3.4-4 kHz; 8 kHz-sampled reads ~4.6)
    bandwidth_range_db: float = 50.0    # bandwidth = highest frequency within this of the spectral peak
    lead_min_s: float = 0.1             # less silence before speech: may be cut off
    lead_max_s: float = 2.0             # more: long wait (it will be trimmed, but check the take)
    trail_min_s: float = 0.1
    trail_max_s: float = 2.0
    min_duration_s: float = 0.5         # shorter than this is not a take -> red
    max_duration_s: float = 30.0        # longer -> amber: prompts are one sentence
    min_speech_s: float = 0.2           # less voice than this -> red, "no speech"
    # Speaking-rate band, syllables per second over the speech span (pauses included), per language.
    rate_band_en: tuple[float, float] = (2.0, 6.5)
    rate_band_zh: tuple[float, float] = (2.0, 7.0)
    dc_offset_max: float = 0.02         # |mean| above this -> amber (faulty interface or cable)


@dataclass
class Problem:
    code: str
    severity: str   # "amber" | "red"
    message: str    # plain words: what is wrong and what to do


@dataclass
class QualityReport:
    duration_s: float
    sample_rate: int
    grade: str                          # "green" | "amber" | "red"
    problems: list[Problem] = field(default_factory=list)
    snr_db: float | None = None
    wada_snr_db: float | None = None
    noise_floor_dbfs: float | None = None
    noise_floor_source: str = "file"    # "session" | "file"
    noise_floor_note: str | None = None # set when the floor is a fallback guess or overridden
    speech_level_dbfs: float | None = None   # active speech level, noise power removed
    clipped_fraction: float = 0.0
    clip_runs: int = 0
    peak_dbfs: float | None = None
    loudness_lufs: float | None = None  # BS.1770 integrated; None under 0.4 s or silent
    bandwidth_hz: float | None = None
    bandwidth_noise_limited: bool = False    # the noise hid the true roll-off, so it isn't graded
    leading_silence_s: float | None = None
    trailing_silence_s: float | None = None
    speech_s: float = 0.0               # total voice-active time
    speaking_rate: float | None = None  # syllables/s over the speech span; None without text
    syllables: int | None = None
    dc_offset: float = 0.0
    vad_source: str = "rnnoise"         # "rnnoise" | "energy" (RNNoise missing)
    grader: int | None = GRADER         # which rules graded it (None: before the rules had a number)

    def to_dict(self) -> dict:
        """JSON-safe dict: NaN/inf become None, numpy scalars become Python numbers."""
        d = asdict(self)
        return {k: _json_safe(v) for k, v in d.items()}

    @classmethod
    def from_dict(cls, d: dict) -> "QualityReport":
        known = {f.name for f in fields(cls)}
        kw = {k: v for k, v in d.items() if k in known}    # ignore keys from newer versions
        kw.setdefault("grader", None)                       # graded before the rules had a number
        kw["problems"] = [p if isinstance(p, Problem) else Problem(**p) for p in kw.get("problems", [])]
        return cls(**kw)


def _json_safe(v):
    if isinstance(v, dict):
        return {k: _json_safe(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_json_safe(x) for x in v]
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return float(v) if math.isfinite(v) else None
    return v


@dataclass
class RoomVerdict:
    noise_floor_dbfs: float
    ok: bool
    message: str
    headline: str = ""          # one line for the page: the verdict in a few words
    disturbed: bool = False     # speech or a sudden sound spoiled the measurement: measure again


SPOKEN = "someone speaking"
SOUND = "a sudden sound (a door, a knock or a cough)"
ROOM_DISTURBED_NOTE = ("The room check was probably disturbed (someone spoke, or there was a sudden sound), so "
                       "this take was checked against the pauses in its own recording.")
AFTER_ALL = ("Or continue anyway: each take is then checked against the pauses in its own "
             "recording, so a good take is still marked good.")


def room_verdict(noise_floor_dbfs: float, thresholds: QualityThresholds = QualityThresholds(), *,
                 room_tone: np.ndarray | None = None, sample_rate: int | None = None) -> RoomVerdict:
    """Is the room quiet enough to start a session? Pass the room tone to name the kind of noise."""
    th = thresholds
    floor = float(noise_floor_dbfs)
    implied = th.typical_speech_level_dbfs - floor
    if floor <= th.room_noise_floor_max_dbfs:
        return RoomVerdict(floor, True,
                           f"The room is quiet enough: background noise at {floor:.0f} dBFS, so normal speech "
                           f"should be about {implied:.0f} dB above it.",
                           f"✓ The room is quiet enough (background noise {floor:.0f} dBFS).")
    kind = (describe_noise(room_tone, sample_rate) if room_tone is not None and sample_rate
            else "background noise (often a fan, a fridge, a computer, traffic, or an electrical hum)")
    return RoomVerdict(floor, False,
                       f"The room is too noisy: the microphone hears {kind} at {floor:.0f} dBFS. "
                       f"Speech at a normal level would be only about {implied:.0f} dB above it, and a good "
                       f"take needs {th.snr_green_db:.0f} dB. Switch off what you can, close the windows, "
                       f"or move closer to the microphone, then test the room again. "
                       f"You can also continue anyway: every take is still checked, and noisy ones are marked.",
                       f"! The room is too noisy (background noise {floor:.0f} dBFS).")


def check_room(samples: np.ndarray, sample_rate: int,
               thresholds: QualityThresholds = QualityThresholds()) -> RoomVerdict:
    """The room check: steady noise is measured and judged (room_verdict); speech or a sudden
    sound is told apart from it, left out, and, when it spoiled the measurement, named so that
    the person can measure again. Raises ValueError when there are no samples."""
    x = denoise.as_float_mono(samples).astype(np.float64)
    try:
        vad = denoise.voice_probability(x.astype(np.float32), sample_rate) if len(x) else None
    except denoise.DenoiserUnavailable:
        vad = None
    tone = measure_room_tone(x, sample_rate, vad)
    if tone.loud_s < ROOM_IGNORE_S:
        return room_verdict(tone.floor_dbfs, thresholds, room_tone=x, sample_rate=sample_rate)
    spoken = tone.voice_s >= ROOM_VOICE_S if vad is not None else (tone.loud_runs >= 3 and tone.loud_s >= 0.4)
    if not spoken and tone.quiet_s >= ROOM_QUIET_ENOUGH_S:
        # a short sound, and enough steady room around it: measured without it
        verdict = room_verdict(tone.floor_dbfs, thresholds, room_tone=x, sample_rate=sample_rate)
        verdict.message += f" It also heard {SOUND} and left it out of the measurement."
        return verdict
    heard = SPOKEN if spoken else SOUND
    return RoomVerdict(tone.floor_dbfs, False,
                       f"The room check heard {heard}, so it could not measure how quiet the room is. "
                       + ("Ask everyone nearby to stay quiet" if spoken else "Wait until it is quiet again")
                       + ", then check again. " + AFTER_ALL,
                       "! Someone spoke during the room check" if spoken
                       else "! A sudden sound during the room check", disturbed=True)


# --------------------------------------------------------------------------- analysis

def analyze(samples: np.ndarray, sample_rate: int, *, noise_floor_dbfs: float | None = None,
            text: str | None = None, vad_prob: np.ndarray | None = None, room_disturbed: bool = False,
            thresholds: QualityThresholds = QualityThresholds()) -> QualityReport:
    """Measure and grade one take (mono float samples nominally in [-1, 1]). `noise_floor_dbfs`
    is the session's room check; `room_disturbed`, that the room check heard speech or a sound
    (the take's own pauses are then trusted). Either way, when the take's own pauses disagree
    with the room check by more than FLOOR_DISAGREE_DB, the take's own figure is used, with a note."""
    th = thresholds
    sr = int(sample_rate)
    x = denoise.as_float_mono(samples).astype(np.float64)
    n = len(x)
    rep = QualityReport(duration_s=n / sr if sr else 0.0, sample_rate=sr, grade="green")

    # Clipping and level, on the raw samples (values beyond +-1 in a float file count as clipped).
    full = np.abs(x) >= th.clip_level
    rep.clipped_fraction = float(full.mean()) if n else 0.0
    rep.clip_runs = count_runs(full, th.clip_run_min)
    peak = float(np.max(np.abs(x))) if n else 0.0
    rep.peak_dbfs = float(max(20 * math.log10(peak), FLOOR_MIN_DBFS)) if peak > 0 else FLOOR_MIN_DBFS
    rep.dc_offset = float(np.mean(x)) if n else 0.0
    rep.loudness_lufs = loudness_lufs(x, sr)
    rep.wada_snr_db = wada_snr(x) if n else None

    # Voice activity: RNNoise probability per 10 ms frame, if we can get it.
    hop = max(1, int(round(FRAME_S * sr)))
    p = frame_powers(x, hop)
    nf = len(p)
    pdb = power_db(p)
    v: np.ndarray | None = None
    if nf:
        if vad_prob is None:
            try:
                vad_prob = denoise.voice_probability(x.astype(np.float32), sr)
            except denoise.DenoiserUnavailable:
                vad_prob = None
        if vad_prob is not None:
            v = maximum_filter1d(fit_frames(vad_prob, nf), size=2 * VAD_SPREAD_FRAMES + 1)
    rep.vad_source = "rnnoise" if v is not None else "energy"

    # Noise floor from the file's own non-speech frames.
    file_floor: float | None = None
    fallback = False
    if nf:
        p10 = np.percentile(pdb, 10)
        if v is not None:
            speechy = (v >= 0.5) | (pdb > p10 + 20)
            quiet = ~(maximum_filter1d(speechy.astype(np.uint8), size=2 * 5 + 1) > 0)   # +-50 ms guard
        else:
            quiet = pdb <= p10 + ENERGY_ONLY_MARGIN_DB
        if quiet.sum() >= MIN_NOISE_FRAMES:
            file_floor = float(power_db(robust_mean_power(p[quiet])))
        else:
            fallback = True
            file_floor = float(power_db(np.percentile(p, 5)))
    if noise_floor_dbfs is not None and math.isfinite(noise_floor_dbfs):
        floor = max(float(noise_floor_dbfs), FLOOR_MIN_DBFS)
        rep.noise_floor_source = "session"
        own = file_floor is not None and not fallback
        if own and (room_disturbed or file_floor < floor - FLOOR_DISAGREE_DB):
            # Someone spoke or a door banged during the room check: its figure is too high, and
            # would make every clean take look noisy. The take's own pauses are the truth.
            rep.noise_floor_note = ROOM_DISTURBED_NOTE
            floor = file_floor
            rep.noise_floor_source = "file"
        elif own and file_floor > floor + FLOOR_DISAGREE_DB:
            # The room got louder since the room check (a fan came on): trust the take's own pauses.
            rep.noise_floor_note = (f"The pauses in this take ({file_floor:.0f} dBFS) are louder than the room "
                                    f"check ({floor:.0f} dBFS); SNR uses the take's own noise.")
            floor = file_floor
            rep.noise_floor_source = "file"
    else:
        floor = file_floor if file_floor is not None else FLOOR_MIN_DBFS
        rep.noise_floor_source = "file"
        if fallback:
            rep.noise_floor_note = ("No pause without speech in this take, so the noise floor is a guess "
                                    "(its quietest 5 % of 10 ms frames).")
    rep.noise_floor_dbfs = float(floor)

    # Active frames and SNR.
    if nf:
        if v is not None:
            active = (pdb > floor + ENERGY_MARGIN_DB) & ((v >= 0.5) | ((pdb > floor + LOUD_MARGIN_DB) & (v >= 0.15)))
        else:
            active = pdb > floor + ENERGY_ONLY_MARGIN_DB
    else:
        active = np.zeros(0, bool)
    rep.speech_s = float(active.sum() * hop / sr)
    has_speech = rep.speech_s >= th.min_speech_s
    noise_p = 10 ** (floor / 10)
    if has_speech:
        s_p = float(np.mean(p[active])) - noise_p
        rep.speech_level_dbfs = float(power_db(s_p)) if s_p > 0 else None
        snr = 10 * math.log10(s_p / noise_p) if s_p > 0 else SNR_RANGE_DB[0]
        rep.snr_db = float(np.clip(snr, *SNR_RANGE_DB))
        idx = np.nonzero(active)[0]
        rep.leading_silence_s = float(idx[0] * hop / sr)
        rep.trailing_silence_s = float(max(0.0, rep.duration_s - (idx[-1] + 1) * hop / sr))
        rep.bandwidth_hz, rep.bandwidth_noise_limited = voice_bandwidth(x, sr, active, hop, th.bandwidth_range_db)
        if text:
            rep.syllables = syllable_count(text)
            span = (idx[-1] + 1 - idx[0]) * hop / sr
            rep.speaking_rate = float(rep.syllables / span) if span > 0 and rep.syllables else None

    _grade(rep, th, has_speech, text)
    return rep


def _add(rep: QualityReport, code: str, severity: str, message: str) -> None:
    rep.problems.append(Problem(code, severity, message))


AGAIN = "then press R to record again."


def _grade(rep: QualityReport, th: QualityThresholds, has_speech: bool, text: str | None) -> None:
    if rep.duration_s < th.min_duration_s:
        _add(rep, "too_short", "red", f"The take is only {rep.duration_s:.1f} s long. Wait for the red light, "
             f"read the whole prompt, and stop a moment after you finish; {AGAIN}")
    elif rep.duration_s > th.max_duration_s:
        _add(rep, "too_long", "amber", f"The take is {rep.duration_s:.0f} s long. Prompts are meant as one "
             "sentence: check that recording stopped when you finished, or record it in parts.")
    if rep.clip_runs > 0 or rep.clipped_fraction > th.clip_fraction_red:
        _add(rep, "clipping", "red", f"The sound was too loud and got cut off (clipped) {rep.clip_runs} times. "
             f"Turn the microphone gain down or move a little further away, {AGAIN}")
    elif rep.peak_dbfs is not None and rep.peak_dbfs > th.peak_high_dbfs:
        _add(rep, "near_clipping", "amber", f"The loudest moment reached {rep.peak_dbfs:.1f} dBFS, very close to "
             "the limit. Turn the microphone gain down a little for the next takes.")
    if abs(rep.dc_offset) > th.dc_offset_max:
        _add(rep, "dc_offset", "amber", "The recording has a constant offset, a sign of a faulty sound "
             "interface or cable. Try another USB port or microphone.")
    if not has_speech:
        _add(rep, "no_speech", "red", "No speech was found in this take. Check that the right microphone is "
             f"selected and not muted, speak towards it, {AGAIN}")
        return _finish(rep)
    if rep.snr_db is not None and rep.snr_db < th.snr_red_db:
        _add(rep, "noisy", "red", f"Too much background noise: the voice is only {rep.snr_db:.0f} dB above it "
             f"(needs {th.snr_red_db:.0f}, ideally {th.snr_green_db:.0f}). Switch off fans or other noise, move "
             f"closer to the microphone, {AGAIN}")
    elif rep.snr_db is not None and rep.snr_db < th.snr_green_db:
        _add(rep, "some_noise", "amber", f"Some background noise: the voice is {rep.snr_db:.0f} dB above it "
             f"(ideally {th.snr_green_db:.0f}). Usable; cleanup will help. If you can, reduce the noise or move "
             "closer to the microphone.")
    if rep.clip_runs == 0 and rep.peak_dbfs is not None:
        if rep.peak_dbfs < th.peak_too_low_dbfs:
            _add(rep, "too_quiet", "red", f"The recording is far too quiet (loudest moment {rep.peak_dbfs:.0f} "
                 f"dBFS). Move closer to the microphone or turn up its gain, {AGAIN}")
        elif rep.peak_dbfs < th.peak_low_dbfs:
            _add(rep, "quiet", "amber", f"The recording is a bit quiet (loudest moment {rep.peak_dbfs:.0f} dBFS). "
                 "Move a little closer to the microphone or turn its gain up for the next takes.")
    if rep.bandwidth_hz is not None and not rep.bandwidth_noise_limited:
        khz = rep.bandwidth_hz / 1000
        if rep.bandwidth_hz < th.bandwidth_red_hz:
            _add(rep, "narrowband", "red", f"The sound stops at {khz:.1f} kHz, like a phone call: this looks like a "
                 "telephone or Bluetooth headset microphone. Use a USB or built-in microphone (not Bluetooth), "
                 + AGAIN)
        elif rep.bandwidth_hz < th.bandwidth_amber_hz:
            _add(rep, "muffled", "amber", f"The sound stops at {khz:.1f} kHz, so the voice will sound muffled. "
                 "A wired USB microphone gives a clearer voice; avoid Bluetooth headsets.")
    if rep.leading_silence_s is not None:
        if rep.leading_silence_s < th.lead_min_s:
            _add(rep, "cut_start", "amber", "Speech starts right at the beginning and may be cut off. Wait about "
                 f"half a second after the light before speaking, {AGAIN}")
        elif rep.leading_silence_s > th.lead_max_s:
            _add(rep, "long_lead", "amber", f"{rep.leading_silence_s:.1f} s of silence before you speak. It will "
                 "be trimmed; you can start speaking sooner.")
    if rep.trailing_silence_s is not None:
        if rep.trailing_silence_s < th.trail_min_s:
            _add(rep, "cut_end", "amber", "The recording stopped right as you finished and the last word may be "
                 f"cut off. Wait about half a second before stopping, {AGAIN}")
        elif rep.trailing_silence_s > th.trail_max_s:
            _add(rep, "long_trail", "amber", f"{rep.trailing_silence_s:.1f} s of silence after you finish. It will "
                 "be trimmed; you can stop sooner.")
    if text and rep.speaking_rate is not None:
        lo, hi = th.rate_band_zh if text_language(text) == "zh" else th.rate_band_en
        if rep.speaking_rate > hi:
            _add(rep, "fast", "amber", f"You spoke quickly ({rep.speaking_rate:.1f} syllables per second). A calm, "
                 "even pace gives a better voice. Also check that the whole prompt was read.")
        elif rep.speaking_rate < lo:
            _add(rep, "slow", "amber", f"Slow speech ({rep.speaking_rate:.1f} syllables per second), or long "
                 "pauses. Check that the take matches the prompt; read at your natural pace.")
    _finish(rep)


def _finish(rep: QualityReport) -> None:
    sev = {p.severity for p in rep.problems}
    rep.grade = "red" if "red" in sev else "amber" if "amber" in sev else "green"


def _fmt(v: float | None, spec: str, unit: str) -> str:
    return "n/a" if v is None else f"{v:{spec}} {unit}"


def format_report(report: QualityReport, name: str) -> str:
    """Multi-line human-readable summary, for `voicebank check`."""
    r = report
    src = "room check" if r.noise_floor_source == "session" else "this file"
    lines = [
        f"{name}: {r.grade.upper()}  ({r.duration_s:.2f} s, {r.sample_rate} Hz)",
        f"  SNR {_fmt(r.snr_db, '.1f', 'dB')}  (noise floor {_fmt(r.noise_floor_dbfs, '.1f', 'dBFS')} from {src}; "
        f"WADA second opinion {_fmt(r.wada_snr_db, '.1f', 'dB')})",
        f"  speech level {_fmt(r.speech_level_dbfs, '.1f', 'dBFS')}, peak {_fmt(r.peak_dbfs, '.1f', 'dBFS')}, "
        f"loudness {_fmt(r.loudness_lufs, '.1f', 'LUFS')}",
        "  clipping: none" if r.clip_runs == 0 and r.clipped_fraction == 0 else
        f"  clipping: {100 * r.clipped_fraction:.2f} % of samples, {r.clip_runs} runs",
        f"  bandwidth {_fmt(None if r.bandwidth_hz is None else r.bandwidth_hz / 1000, '.1f', 'kHz')}"
        + (" (limited by noise)" if r.bandwidth_noise_limited else ""),
        f"  silence {_fmt(r.leading_silence_s, '.2f', 's')} before, {_fmt(r.trailing_silence_s, '.2f', 's')} after; "
        f"speech {r.speech_s:.2f} s" + ("" if r.speaking_rate is None else
                                         f"; {r.speaking_rate:.1f} syllables/s ({r.syllables} syllables)"),
    ]
    if r.noise_floor_note:
        lines.append(f"  note: {r.noise_floor_note}")
    lines += [f"  [{p.severity}] {p.code}: {p.message}" for p in r.problems]
    return "\n".join(lines)
