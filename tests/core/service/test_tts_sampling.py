"""api_v2's sampling fields on /tts (GET and POST): top_k, top_p, temperature,
repetition_penalty, seed and fragment_interval reach the engine, a bad value is a 400 naming its
field, and a seed gives the same audio again even while another caller is being spoken for."""
from __future__ import annotations

import io
import threading
import time

import httpx
import numpy as np
import pytest
import soundfile as sf

from core.watermark import detect

TEXT = "你好世界。今天天气很好。"


def tts(server, method: str = "POST", **fields) -> httpx.Response:
    body = {"text": TEXT, "text_lang": "zh", **fields}
    if method == "GET":
        return httpx.get(f"{server.url}/tts", params=body, headers=server.headers, timeout=120)
    return httpx.post(f"{server.url}/tts", json=body, headers=server.headers, timeout=120)


def samples(r: httpx.Response) -> np.ndarray:
    assert r.status_code == 200, r.text
    audio, rate = sf.read(io.BytesIO(r.content), dtype="float32")
    assert rate == 32000
    return audio


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_sampling_fields_are_taken(server, method):
    audio = samples(tts(server, method, top_k="3" if method == "GET" else 3, top_p=0.9, temperature=0.7,
                        repetition_penalty=1.2, seed=11, fragment_interval=0.2))
    assert len(audio) > 32000 and detect(audio, 32000).found


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("field,value", [
    ("top_k", 0), ("top_k", 2000), ("top_k", "many"), ("top_k", 2.5),
    ("top_p", 0), ("top_p", 1.5), ("top_p", "x"),
    ("temperature", 0), ("temperature", -1), ("temperature", 9),
    ("repetition_penalty", 0), ("repetition_penalty", 3),
    ("seed", -2), ("seed", 1.5), ("seed", "abc"),
    ("fragment_interval", 11), ("fragment_interval", -0.1),
])
def test_a_bad_value_is_400_naming_its_field(server, method, field, value):
    r = tts(server, method, **{field: value})
    assert r.status_code == 400, (field, value, r.status_code)
    body = r.json()
    assert body["field"] == field and f"'{field}'" in body["message"]


def test_json_booleans_are_not_numbers(server):
    r = tts(server, "POST", top_k=True)
    assert r.status_code == 400 and r.json()["field"] == "top_k"


def test_sampling_fields_bypass_the_phrase_cache(server, service_env):
    """A saved phrase's cached audio was made with the voice's defaults: a request with its own
    sampling is made anew, and what it makes is not kept in the cache."""
    from core.speak.phrases import PhraseBook

    _, speaker, _ = service_env
    book = PhraseBook(speaker.folder)
    phrase = "我们去公园散步。"
    book.add(phrase)
    assert tts(server, text=phrase).headers["x-voicebank-source"] == "voice"     # made, then kept
    deadline = time.monotonic() + 10
    while tts(server, text=phrase).headers["x-voicebank-source"] != "cached":
        assert time.monotonic() < deadline, "the phrase was not kept"
        time.sleep(0.2)
    kept = {p: p.stat().st_mtime_ns for p in book.cache_dir.glob("*.wav")}
    own = tts(server, text=phrase, top_k=1)
    assert own.status_code == 200 and own.headers["x-voicebank-source"] == "voice"
    time.sleep(0.5)
    assert {p: p.stat().st_mtime_ns for p in book.cache_dir.glob("*.wav")} == kept


def test_the_same_seed_gives_the_same_audio_even_beside_another_caller(server):
    first = samples(tts(server, seed=1234, top_k=15))
    other = {}
    t = threading.Thread(target=lambda: other.setdefault("r", tts(server, text="这是一个测试。我们去公园散步。")))
    t.start()
    again = samples(tts(server, seed=1234, top_k=15))
    t.join(120)
    assert other["r"].status_code == 200
    assert np.array_equal(first, again)
    assert not np.array_equal(first, samples(tts(server, seed=4321, top_k=15)))


def test_fragment_interval_is_the_pause_after_each_sentence(server):
    short = samples(tts(server, top_k=1, fragment_interval=0))
    long = samples(tts(server, top_k=1, fragment_interval=1.0))
    assert abs((len(long) - len(short)) / 32000 - 2.0) < 0.01      # two sentences, 1 s more each
