"""After a take is recorded: check its quality and write the RNNoise-cleaned copy beside it."""
from __future__ import annotations

from core.audio.denoise import DenoiserUnavailable, denoise, protect_clean_speech
from core.audio.io import AudioFileError, read_audio, write_wav
from core.audio.quality import QualityThresholds, analyze
from core.bank.store import Speaker, Take


def process_take(speaker: Speaker, take: Take,
                 thresholds: QualityThresholds = QualityThresholds()) -> Take:
    """Fill in take.quality and take.cleaned; the raw WAV is only read, never written."""
    try:
        clip = read_audio(take.raw_path)
    except AudioFileError as exc:
        take.quality = {"grade": "red", "problems": [
            {"code": "unreadable", "severity": "red", "message": f"{exc} Press R to record it again."}]}
        take.save()
        return take
    session = speaker.session(take.session_id) if take.session_id else None
    noise_floor = session.noise_floor_dbfs if session else None
    result = None
    try:
        # One RNNoise pass: its voice probability feeds the analysis, and the careful SNR from
        # the analysis then decides how much cleanup a take that is already clean should get.
        result = denoise(clip.samples, clip.sample_rate, protect_clean=False)
    except DenoiserUnavailable:
        pass   # the raw take still counts; it is just not cleaned
    report = analyze(clip.samples, clip.sample_rate, noise_floor_dbfs=noise_floor, text=take.text,
                     vad_prob=result.vad_prob if result else None, thresholds=thresholds)
    if result is not None:
        cleaned, take.cleanup_mix = protect_clean_speech(clip.samples, result.cleaned, report.snr_db)
        write_wav(take.clean_path, cleaned, clip.sample_rate)
    take.cleaned = result is not None
    take.quality = report.to_dict()
    take.save()
    return take
