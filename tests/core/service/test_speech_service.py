"""The running service, over HTTP: voices, the OpenAI-style and api_v2-style endpoints, streaming,
the Speak page's decision (own recordings, saved phrases, dictionary) and the watermark."""
from __future__ import annotations

import io
import time

import httpx
import numpy as np
import soundfile as sf

from core.watermark import detect, payload_id_for_files
from tests.testsignals import speech_like

TEXT = "你好世界，今天天气很好。我们去公园散步。"


def audio_of(data: bytes) -> tuple[np.ndarray, int]:
    samples, rate = sf.read(io.BytesIO(data), dtype="float32")
    return samples, rate


def test_voices_lists_the_persons_voices(server):
    r = httpx.get(f"{server.url}/voices", headers=server.headers)
    assert r.status_code == 200
    body = r.json()
    assert [v["id"] for v in body["voices"]] == ["v-1"] and body["default"] == "v-1"
    assert "access-control-allow-origin" not in {k.lower() for k in r.headers}


def test_openai_speech_is_watermarked_wav(server, service_env):
    _, speaker, _ = service_env
    r = httpx.post(f"{server.url}/v1/audio/speech", headers=server.headers, timeout=60,
                   json={"model": "tts-1", "input": TEXT, "voice": "v-1", "response_format": "wav"})
    assert r.status_code == 200, r.text
    samples, rate = audio_of(r.content)
    assert rate == 32000 and len(samples) > rate
    found = detect(samples, rate)
    folder = speaker.folder / "voices" / "v-1"
    assert found.found and found.voice_id == payload_id_for_files(
        folder / "reference.wav", folder / "gpt.ckpt", folder / "sovits.pth")


def test_api_v2_streams_the_first_sentence_early(server):
    params = {"text": TEXT + "这是一个测试。", "text_lang": "zh", "ref_audio_path": "v-1", "prompt_lang": "zh",
              "prompt_text": "ignored", "media_type": "wav", "streaming_mode": "true"}
    arrivals, data = [], b""
    t0 = time.perf_counter()
    with httpx.stream("GET", f"{server.url}/tts", params=params, headers=server.headers, timeout=60) as r:
        assert r.status_code == 200 and r.headers["content-type"] == "audio/wav"
        assert "content-length" not in r.headers
        for chunk in r.iter_raw():
            arrivals.append(time.perf_counter() - t0)
            data += chunk
    assert len(arrivals) >= 3 and arrivals[1] < arrivals[-1] - 0.05      # header, sentences...
    samples, rate = audio_of(data)
    assert rate == 32000 and detect(samples, rate).found


def test_formats(server):
    def say(fmt):
        r = httpx.post(f"{server.url}/v1/audio/speech", headers=server.headers, timeout=60,
                       json={"input": TEXT, "response_format": fmt})
        assert r.status_code == 200, r.text
        return r.content
    flac, rate = audio_of(say("flac"))
    assert rate == 32000 and detect(flac, rate).found
    opus, rate = audio_of(say("opus"))
    assert rate == 48000 and len(opus) > rate
    pcm = np.frombuffer(say("pcm"), "<i2").astype(np.float32) / 32767      # OpenAI's 24 kHz
    assert detect(pcm, 24000).found
    raw = httpx.get(f"{server.url}/tts", params={"text": TEXT, "text_lang": "zh", "media_type": "raw"},
                    headers=server.headers, timeout=60).content
    assert detect(np.frombuffer(raw, "<i2").astype(np.float32) / 32767, 32000).found


def test_own_recording_and_saved_phrase_as_on_the_speak_page(server, service_env):
    from core.speak.phrases import PhraseBook

    _, speaker, _ = service_env
    message = speaker.add_message("Please call my wife.")
    writer = speaker.begin_take(message, speaker.start_session("test"))
    writer.append(speech_like(2.0, 48000, seed=1).astype("float32"))
    writer.finish()
    r = httpx.post(f"{server.url}/v1/audio/speech", headers=server.headers, timeout=60,
                   json={"input": "please call my wife"})
    assert r.status_code == 200 and r.headers["x-voicebank-source"] == "own"
    samples, rate = audio_of(r.content)
    assert abs(len(samples) / rate - 2.0) < 0.05 and not detect(samples, rate).found  # their own voice

    book = PhraseBook(speaker.folder)
    book.add("你好世界。今天天气很好。")
    first = httpx.post(f"{server.url}/v1/audio/speech", headers=server.headers, timeout=60,
                       json={"input": "你好世界。今天天气很好。"})
    assert first.headers["x-voicebank-source"] == "voice"
    for _ in range(50):
        if list(book.cache_dir.glob("*.wav")):
            break
        time.sleep(0.1)
    again = httpx.post(f"{server.url}/v1/audio/speech", headers=server.headers, timeout=60,
                       json={"input": "你好世界。今天天气很好。"})
    assert again.headers["x-voicebank-source"] == "cached"
    a, _ = audio_of(first.content)
    b, _ = audio_of(again.content)
    assert np.allclose(a, b, atol=1 / 16000)        # the same audio, not made again


def test_the_dictionary_goes_with_the_text(service_env, tmp_path):
    from core.service.speech import decide, engine_spec, find_voice
    from core.speak.dictionary import dictionary_path

    _, speaker, _ = service_env
    dictionary_path(speaker.folder).write_text('{"entries": {"Alice": "AE1 L IH0 S"}}', encoding="utf-8")
    try:
        plan = decide(speaker, "Hello Alice.", find_voice(speaker, "v-1", None), 1.0, tmp_path)
        assert plan.kind == "job"
        assert engine_spec(plan)["userdict"] == str(dictionary_path(speaker.folder))
    finally:
        dictionary_path(speaker.folder).unlink()
