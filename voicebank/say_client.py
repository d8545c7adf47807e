"""`voicebank say`: send a text to the local speech service and write what it says as WAV.

This is the system voice's client on Linux: speech-dispatcher's generic module runs it for every
message (modules/voicebank.conf, written by `voicebank system-voice install`):

    printf %s '$DATA' | python -I -S .../voicebank/say_client.py --rate $RATE ... | $PLAY_COMMAND

It must start fast, so it uses the standard library alone and imports nothing of voicebank: the
generic module runs it by path with `python -I -S` (in the frozen app, `voicebank say`).

- The text comes on stdin (or --text), UTF-8.
- speech-dispatcher's rate (-100..100) becomes the service's speed, 3 ** (rate / 100) (-100 is a
  third as fast, +100 three times), within 0.25..4; its volume (-100..100) a gain on the samples,
  (volume + 100) / 200 (+100, speech-dispatcher's default, is the voice as made; -100 silence), as
  the espeak-ng module does; its language (zh*, cmn, yue: zh; en*: en; else auto) goes with the
  request as a hint. Pitch is accepted and not used: the voice is the person's own, and so is its
  pitch.
- The WAV goes to stdout as it streams in, sentence by sentence (the header says "until the end",
  as players of a pipe expect), or to --out FILE.
- Stop: speech-dispatcher kills the command's process group with SIGKILL. The kernel closes the
  connection, the service sees it go and cancels the rest; nothing here needs tidying (no
  temporary files). A closed pipe (the player stopped) ends it quietly in the same way.
- Failures are one line on stderr and exit status 1 (speech-dispatcher logs it): the service not
  running, the token missing or wrong, no voice. A service still loading (503) is waited for.
"""
from __future__ import annotations

import argparse
import html
import http.client
import json
import os
import re
import struct
import sys
import time
from array import array
from pathlib import Path

DEFAULT_PORT = 9880
TOKEN_FILE = "service-token"
SERVICE_FILE = "service.json"
STREAM_LENGTH = 0xFFFFFFFF - 36          # a WAV header's "until the stream ends"
LOADING_WAIT_S = 30.0


class SayError(Exception):
    """One line for stderr."""


def config_dir(given: str | None = None) -> Path:
    """The folder with the service's token: --config, VOICEBANK_CONFIG, else as core.settings
    (platformdirs' user config folder, which on Linux is $XDG_CONFIG_HOME/voicebank)."""
    if given:
        return Path(given)
    if os.environ.get("VOICEBANK_CONFIG"):
        return Path(os.environ["VOICEBANK_CONFIG"])
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "voicebank"
    if sys.platform == "win32":
        return Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local")) / "voicebank"
    base = os.environ.get("XDG_CONFIG_HOME", "").strip()
    return (Path(base) if base else Path.home() / ".config") / "voicebank"


def speed_for(rate: float) -> float:
    """speech-dispatcher's rate, -100..100, as the service's speed."""
    rate = max(-100.0, min(100.0, rate))
    return round(max(0.25, min(4.0, 3.0 ** (rate / 100.0))), 3)


def gain_for(volume: float) -> float:
    """speech-dispatcher's volume, -100..100, as a gain (100: the voice as made)."""
    return max(0.0, min(1.0, (volume + 100.0) / 200.0))


def language_for(code: str | None) -> str:
    code = (code or "").strip().lower().replace("_", "-")
    if code.startswith(("zh", "cmn", "yue")):
        return "zh"
    if code.startswith("en"):
        return "en"
    return "auto"


def number(text: str | None, default: float = 0.0) -> float:
    try:
        return float(text) if text not in (None, "") else default
    except ValueError:
        return default


_SPD_MARK = re.compile(r"\s*\bmark name\s+spd \d+\b\s*")


def clean_text(text: str) -> str:
    """What to say, from what the generic module gives.

    Normally that is plain text. Two other shapes reach a generic module: SSML (`<speak>...`,
    e.g. after a resume) and, in speech-dispatcher 0.11, a resumed message whose SSML lost its
    punctuation on the way (" speak First.  mark name    spd 0    Second  speak ")."""
    stripped = text.strip()
    if stripped.startswith("<speak"):
        stripped = html.unescape(re.sub(r"<[^>]*>", " ", stripped))
    elif re.fullmatch(r"speak\s.*\sspeak", stripped, re.S) and _SPD_MARK.search(stripped):
        stripped = _SPD_MARK.sub(" ", stripped[len("speak"):-len("speak")])
    return " ".join(stripped.split())


def _service(config: Path, port: int | None) -> tuple[int, str]:
    token_file = config / TOKEN_FILE
    try:
        token = token_file.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        raise SayError(f"no service token in {token_file}: start the voicebank speech service "
                       "once (`voicebank serve`)") from None
    except (OSError, UnicodeError) as exc:
        raise SayError(f"cannot read the service token {token_file} ({exc})") from None
    if port is None:
        try:
            port = int(json.loads((config / SERVICE_FILE).read_text(encoding="utf-8"))["port"])
        except (OSError, ValueError, KeyError, TypeError):
            port = DEFAULT_PORT
    return port, token


def _open(port: int, token: str, body: dict, timeout: float) -> http.client.HTTPResponse:
    """POST /v1/audio/speech; waits (up to LOADING_WAIT_S) while the service says it is loading."""
    data = json.dumps(body).encode("utf-8")
    deadline = time.monotonic() + LOADING_WAIT_S
    while True:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        try:
            conn.request("POST", "/v1/audio/speech", data,
                         {"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
            resp = conn.getresponse()
        except ConnectionRefusedError:
            raise SayError(f"the voicebank speech service is not running on 127.0.0.1:{port}: "
                           "start it with `voicebank serve`") from None
        except OSError as exc:
            raise SayError(f"could not reach the voicebank speech service on 127.0.0.1:{port} "
                           f"({exc})") from None
        if resp.status == 200:
            return resp
        try:
            detail = json.loads(resp.read(65536)).get("message", "")
        except (ValueError, AttributeError, OSError):
            detail = ""
        conn.close()
        if resp.status == 503 and time.monotonic() < deadline:
            wait = number(resp.getheader("Retry-After"), 1.0)
            time.sleep(max(0.2, min(wait, 2.0, deadline - time.monotonic())))
            continue
        raise SayError(f"the speech service answered {resp.status}" + (f": {detail}" if detail else ""))


def _read_exact(resp, n: int) -> bytes:
    data = b""
    while len(data) < n:
        piece = resp.read(n - len(data))
        if not piece:
            raise SayError("the speech service's answer ended before its WAV header did")
        data += piece
    return data


def read_wav_header(resp) -> tuple[int, int, int]:
    """(sample rate, channels, bytes of data or -1 for "until the end") of a WAV stream, read up
    to the start of its samples."""
    riff = _read_exact(resp, 12)
    if riff[:4] != b"RIFF" or riff[8:12] != b"WAVE":
        raise SayError("the speech service did not answer with WAV audio")
    rate = channels = bits = 0
    while True:
        tag, size = struct.unpack("<4sI", _read_exact(resp, 8))
        if tag == b"data":
            break
        chunk = _read_exact(resp, size + (size & 1))
        if tag == b"fmt ":
            _, channels, rate, _, _, bits = struct.unpack("<HHIIHH", chunk[:16])
    if not rate or bits != 16:
        raise SayError("the speech service's WAV is not 16-bit PCM")
    return rate, channels, (-1 if size >= STREAM_LENGTH else size)


def wav_header(rate: int, channels: int, data_bytes: int = STREAM_LENGTH) -> bytes:
    return (b"RIFF" + struct.pack("<I", min(36 + data_bytes, 0xFFFFFFFF)) + b"WAVEfmt "
            + struct.pack("<IHHIIHH", 16, 1, channels, rate, rate * channels * 2, channels * 2, 16)
            + b"data" + struct.pack("<I", min(data_bytes, 0xFFFFFFFF)))


def scaled(data: bytes, gain: float) -> bytes:
    if gain >= 0.999:
        return data
    samples = array("h", data)
    if sys.byteorder != "little":
        samples.byteswap()
    samples = array("h", (int(s * gain) for s in samples))
    if sys.byteorder != "little":
        samples.byteswap()
    return samples.tobytes()


def say(text: str, out, *, voice: str | None = None, rate: float = 0.0, volume: float = 100.0,
        language: str | None = None, config: Path | None = None, port: int | None = None,
        timeout: float = 60.0) -> tuple[int, int, int]:
    """Speak `text` into the binary stream `out` as WAV (its header says "until the end"):
    returns the sample rate, channels and bytes of audio written."""
    port, token = _service(config or config_dir(), port)
    body = {"input": text, "speed": speed_for(rate), "response_format": "wav",
            "language": language_for(language)}
    if voice and voice.lower() not in ("default", "none") and not voice.startswith("$"):
        body["voice"] = voice
    resp = _open(port, token, body, timeout)
    rate_hz, channels, _ = read_wav_header(resp)
    gain = gain_for(volume)
    out.write(wav_header(rate_hz, channels))
    written, carry = 0, b""
    while True:
        piece = resp.read1(65536)
        if not piece:
            break
        piece, carry = carry + piece, b""
        if len(piece) & 1:
            piece, carry = piece[:-1], piece[-1:]
        out.write(scaled(piece, gain))
        out.flush()
        written += len(piece)
    return rate_hz, channels, written


def build_parser(prog: str = "voicebank say") -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog, description="say a text in your voice through the local "
                                "speech service; WAV to stdout (speech-dispatcher's client)")
    add_arguments(p)
    return p


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--text", help="what to say (default: stdin, UTF-8)")
    p.add_argument("--voice", help="a voice id (GET /voices; default: the service's)")
    p.add_argument("--rate", default="0", help="speech-dispatcher's rate, -100..100 (default 0)")
    p.add_argument("--volume", default="100", help="speech-dispatcher's volume, -100..100 (default 100)")
    p.add_argument("--pitch", default="0", help="accepted and not used: the pitch is the person's own")
    p.add_argument("--language", help="zh, en (zh-CN, en-US ... too); else the text decides")
    p.add_argument("--out", default="-", help="a WAV file to write (default -: stdout)")
    p.add_argument("--config", help="the folder with the service's token (default: voicebank's config folder)")
    p.add_argument("--port", type=int, help="the service's port (default: service.json's, else 9880)")
    p.add_argument("--timeout", type=float, default=60.0, help=argparse.SUPPRESS)


def run(args: argparse.Namespace) -> int:
    raw = args.text if args.text is not None else sys.stdin.buffer.read().decode("utf-8", "replace")
    text = clean_text(raw)
    out = sys.stdout.buffer if args.out == "-" else open(args.out, "wb")
    try:
        if not text:
            out.write(wav_header(24000, 1, 0))          # nothing to say: an empty, valid WAV
            return 0
        rate_hz, channels, written = say(text, out, voice=args.voice, rate=number(args.rate), volume=number(args.volume, 100.0),
                      language=args.language, config=Path(args.config) if args.config else None,
                      port=args.port, timeout=args.timeout)
        if args.out != "-":
            out.seek(0)
            out.write(wav_header(rate_hz, channels, written))     # a file: its true length
        return 0
    except SayError as exc:
        print(f"voicebank say: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:             # the player was stopped: so are we
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except OSError:
            pass
        return 0
    finally:
        if out is not sys.stdout.buffer:
            out.close()


def main(argv: list[str] | None = None) -> int:
    return run(build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
