"""The speech service's HTTP endpoints (Starlette; `core.service.cli` serves them with uvicorn on
127.0.0.1):

    GET  /voices               the person's voices: id, name, label, which is the default
    GET  /health               whether the engine is ready, how many requests wait
    POST /v1/audio/speech      OpenAI style: input, voice, speed, response_format (wav, pcm, flac,
                               opus); wav and pcm stream sentence by sentence
    GET|POST /tts              GPT-SoVITS api_v2 style: text, text_lang, ref_audio_path (a voice
                               id, never a path), speed_factor, media_type (wav, raw, ogg),
                               streaming_mode, and the sampling fields that mean the same here:
                               top_k, top_p, temperature, repetition_penalty, seed (-1: random),
                               fragment_interval (the pause after each sentence); absent, the
                               voice's defaults (as the Speak page). prompt_text / prompt_lang
                               and api_v2's other fields are accepted and unused (a voice speaks
                               with its own reference; the engine splits and batches itself)

Every request passes `Guard` first: loopback Host and Origin (else 403), the token (else 401),
the body size (else 413) and the rate limit (else 429). Errors are JSON naming the field.
"""
from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from core.service import security, speech
from core.service.engine_client import EngineBusy, EngineClient, EngineUnavailable
from core.service.speech import FORMATS, Encoder, RequestError

log = logging.getLogger("voicebank.service")

OPENAI_FORMATS = ("wav", "pcm", "flac", "opus")
TTS_FORMATS = {"wav": "wav", "raw": "raw", "ogg": "ogg"}
TTS_LANGS = ("zh", "en", "auto", "all_zh", "zh_en")


@dataclass
class Service:
    speaker: Any
    token: str
    engine: EngineClient
    scratch: Path
    default_voice: str | None = None
    max_chars: int = 2000
    max_body: int = 64 * 1024
    rate: security.RateLimit = field(default_factory=lambda: security.RateLimit(600, 120))
    log_text: bool = False


def _error(status: int, message: str, field: str | None = None, headers: dict | None = None) -> JSONResponse:
    body = {"message": message, "field": field,
            "error": {"message": message, "type": "invalid_request_error" if status < 500 else "server_error",
                      "param": field}}
    return JSONResponse(body, status, headers=headers)


class Guard:
    """ASGI: Host/Origin (403), token (401), size (413) and rate (429) before any endpoint."""

    def __init__(self, app, service: Service):
        self.app, self.service = app, service

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        answer = self.check(headers)
        if answer is None:
            return await self.app(scope, receive, send)
        await answer(scope, receive, send)

    def check(self, headers: dict[str, str]) -> Response | None:
        if not security.host_ok(headers.get("host")) or not security.origin_ok(headers.get("origin")):
            return _error(403, "Only programs on this computer may use the service (Host or Origin is "
                          "not the loopback).")
        if not security.token_ok(headers.get("authorization"), self.service.token):
            return _error(401, "Missing or wrong token: send 'Authorization: Bearer <token>' with the "
                          f"token from {security.token_path()}.", headers={"WWW-Authenticate": "Bearer"})
        length = headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > self.service.max_body):
            return _error(413, f"The request is larger than {self.service.max_body} bytes.", "body")
        wait = self.service.rate.take()
        if wait:
            return _error(429, "Too many requests; slow down.", headers={"Retry-After": str(max(1, round(wait)))})
        return None


async def _body(request: Request, service: Service) -> dict[str, Any]:
    data = b""
    async for piece in request.stream():
        data += piece
        if len(data) > service.max_body:
            raise RequestError(413, f"The request is larger than {service.max_body} bytes.", "body")
    try:
        body = json.loads(data or b"null")
    except ValueError as exc:
        raise RequestError(400, f"The body is not valid JSON ({exc}).", "body") from None
    if not isinstance(body, dict):
        raise RequestError(400, "The body must be a JSON object.", "body")
    return body


def _text(value: Any, name: str, service: Service) -> str:
    if not isinstance(value, str) or not value.strip():
        raise RequestError(400, f"'{name}' must be the text to say.", name)
    if len(value) > service.max_chars:
        raise RequestError(413, f"'{name}' is {len(value)} characters; at most {service.max_chars} at a time.", name)
    return value


def _number(value: Any, name: str, default: float, lo: float, hi: float) -> float:
    if value is None or value == "":
        return default
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            pass
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not lo <= value <= hi:
        raise RequestError(400, f"'{name}' must be a number from {lo} to {hi}.", name)
    return float(value)


def _streaming_mode(value: Any) -> bool:
    if value is None or isinstance(value, bool):
        return bool(value)
    if isinstance(value, int) and 0 <= value <= 3:
        return value > 0
    if isinstance(value, str) and value.lower() in ("true", "false", "0", "1", "2", "3"):
        return value.lower() not in ("false", "0")
    raise RequestError(400, "'streaming_mode' must be true, false or 0-3.", "streaming_mode")


def _integer(value: Any, name: str, lo: int, hi: int) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = int(value.strip())
        except ValueError:
            pass
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise RequestError(400, f"'{name}' must be a whole number from {lo} to {hi}.", name)
    return value


def _positive(value: Any, name: str, hi: float) -> float | None:
    """A number above 0 and at most `hi`, or None when absent."""
    number = _number(value, name, None, 0.0, hi)
    if number == 0:
        raise RequestError(400, f"'{name}' must be a number above 0 and at most {hi}.", name)
    return number


def _sampling(body: dict[str, Any]) -> dict[str, Any]:
    """api_v2's fields that map onto SynthesisOptions, checked (400 naming the field); only
    those given, so the voice's defaults hold for the rest."""
    found: dict[str, Any] = {
        "top_k": _integer(body.get("top_k"), "top_k", 1, 1024),
        "top_p": _positive(body.get("top_p"), "top_p", 1.0),
        "temperature": _positive(body.get("temperature"), "temperature", 2.0),
        "repetition_penalty": _positive(body.get("repetition_penalty"), "repetition_penalty", 2.0),
        "pause_s": _number(body.get("fragment_interval"), "fragment_interval", None, 0.0, 10.0),
    }
    seed = _integer(body.get("seed"), "seed", -1, 2 ** 63 - 1)
    found["seed"] = None if seed is None or seed < 0 else seed      # -1: a random draw, as api_v2
    return {name: value for name, value in found.items() if value is not None}


async def _say(request: Request, service: Service, text: str, voice_id: str | None, speed: float,
               fmt_name: str, streaming: bool, voice_field: str,
               sampling: dict[str, Any] | None = None) -> Response:
    started = time.perf_counter()
    voice = speech.find_voice(service.speaker, voice_id, service.default_voice, voice_field)
    # A request with its own sampling is made anew: a saved phrase's cached audio was made with
    # the voice's defaults, and what this request makes is not kept in its place.
    plan = await asyncio.to_thread(speech.decide, service.speaker, text, voice, speed, service.scratch,
                                   voice_field, not sampling)
    fmt = FORMATS[fmt_name]
    encoder = Encoder(fmt, streaming)
    what = f" {text!r}" if service.log_text else ""
    if plan.kind in ("own", "cached"):
        audio = await asyncio.to_thread(speech.read_file_audio, plan.audio)
        body = encoder.start() + encoder.chunk(audio) + encoder.end()
        log.info("%s %s: %s%s (%.2f s)", request.method, request.url.path, plan.kind, what,
                 time.perf_counter() - started)
        return Response(body, media_type=fmt.media_type, headers={"X-Voicebank-Source": plan.kind})
    try:
        job = service.engine.submit({**speech.engine_spec(plan), **(sampling or {})})
    except EngineBusy as exc:
        raise RequestError(429, f"Too many requests are queued ({exc}) Try again shortly.",
                           headers={"Retry-After": "1"}) from None
    except EngineUnavailable as exc:
        raise RequestError(503, str(exc), headers={"Retry-After": "5"}) from None
    first = await job.events.get()
    if first[0] == "error":
        status = first[2]
        raise RequestError(status, first[3], "input" if status == 400 else None,
                           {"Retry-After": "5"} if status == 503 else None)
    return AudioStream(service, job, first, encoder, plan, fmt.media_type, what, started, request)


class AudioStream(Response):
    """The engine's sentences as they come; a client that goes away cancels its work at once."""

    def __init__(self, service, job, first, encoder, plan, media_type, what, started, request):
        self.status_code, self.media_type, self.background = 200, media_type, None
        self.init_headers({"X-Voicebank-Source": "voice"})      # no length: it streams
        self.service, self.job, self.first, self.encoder, self.plan = service, job, first, encoder, plan
        self.what, self.started, self.request = what, started, request

    async def __call__(self, scope, receive, send):
        async def gone() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass

        watcher = asyncio.ensure_future(gone())
        pieces: list[np.ndarray] = []
        outcome = "cancelled"
        try:
            await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
            await self._body(send, self.encoder.start())
            event = self.first
            while True:
                if event[0] == "audio":
                    audio = np.frombuffer(event[4], np.float32)
                    pieces.append(audio)
                    await self._body(send, self.encoder.chunk(audio))
                elif event[0] == "done":
                    await self._body(send, self.encoder.end())
                    await send({"type": "http.response.body", "body": b"", "more_body": False})
                    outcome = "done"
                    if self.plan.key:
                        await asyncio.to_thread(speech.keep_phrase, self.plan, np.concatenate(pieces),
                                                Path(self.service.speaker.folder))
                    return
                else:                           # the engine died mid-way: the answer ends short
                    outcome = f"failed ({event[3]})"
                    await send({"type": "http.response.body", "body": b"", "more_body": False})
                    return
                get = asyncio.ensure_future(self.job.events.get())
                done, _ = await asyncio.wait({get, watcher}, return_when=asyncio.FIRST_COMPLETED)
                if get not in done:
                    get.cancel()
                    return
                event = get.result()
        except OSError:
            return
        finally:
            watcher.cancel()
            if outcome != "done":
                self.service.engine.cancel(self.job)
            log.info("%s %s: %s, %d sentence(s)%s (%.2f s)", self.request.method, self.request.url.path,
                     outcome, len(pieces), self.what, time.perf_counter() - self.started)

    async def _body(self, send, data: bytes) -> None:
        if data:
            await send({"type": "http.response.body", "body": data, "more_body": True})


def build_app(service: Service):
    async def answer(coro) -> Response:
        try:
            return await coro
        except RequestError as exc:
            return _error(exc.status, exc.message, exc.field, exc.headers)

    async def voices(request: Request) -> Response:
        found = speech.voice_list(service.speaker)
        default = service.default_voice or (found[0].id if found else None)
        return JSONResponse({"voices": [{"id": v.id, "name": v.name, "label": v.label, "created": v.created,
                                         "kind": "zero-shot" if v.zero_shot else "trained",
                                         "default": v.id == default} for v in found],
                             "default": default})

    async def health(request: Request) -> Response:
        engine = service.engine
        return JSONResponse({"engine": "ready" if engine.ready else "starting", "engine_pid": engine.pid,
                             "engine_starts": engine.starts, "active": engine.active})

    async def openai_speech(request: Request) -> Response:
        async def run():
            body = await _body(request, service)
            text = _text(body.get("input"), "input", service)
            voice = body.get("voice")
            if voice is not None and not isinstance(voice, str):
                raise RequestError(400, "'voice' must be a voice id (GET /voices).", "voice")
            speed = _number(body.get("speed"), "speed", 1.0, 0.25, 4.0)
            fmt = body.get("response_format") or "wav"
            if fmt not in OPENAI_FORMATS:
                raise RequestError(400, f"'response_format' {str(fmt)[:20]!r} is not made here; use one of "
                                   f"{', '.join(OPENAI_FORMATS)}.", "response_format")
            return await _say(request, service, text, voice, speed, fmt, True, "voice")
        return await answer(run())

    async def tts(request: Request) -> Response:
        async def run():
            body = dict(request.query_params) if request.method == "GET" else await _body(request, service)
            text = _text(body.get("text"), "text", service)
            lang = str(body.get("text_lang") or "auto").lower()
            if lang not in TTS_LANGS:
                raise RequestError(400, f"'text_lang' {lang[:20]!r}: this voice speaks Chinese and English "
                                   f"({', '.join(TTS_LANGS)}).", "text_lang")
            voice, voice_field = body.get("voice"), "voice"
            if not voice and body.get("ref_audio_path"):
                voice, voice_field = body.get("ref_audio_path"), "ref_audio_path"
            if voice is not None and not isinstance(voice, str):
                raise RequestError(400, f"'{voice_field}' must be a voice id (GET /voices).", voice_field)
            speed = _number(body.get("speed_factor"), "speed_factor", 1.0, 0.25, 4.0)
            media = str(body.get("media_type") or "wav")
            if media not in TTS_FORMATS:
                raise RequestError(400, f"'media_type' {media[:20]!r} is not made here; use wav, raw or ogg.",
                                   "media_type")
            streaming = _streaming_mode(body.get("streaming_mode"))
            sampling = _sampling(body)
            return await _say(request, service, text, voice or None, speed, TTS_FORMATS[media], streaming,
                              voice_field, sampling)
        return await answer(run())

    routes = [Route("/voices", voices), Route("/health", health),
              Route("/v1/audio/speech", openai_speech, methods=["POST"]),
              Route("/tts", tts, methods=["GET", "POST"])]
    return Guard(Starlette(routes=routes), service)
