"""`voicebank serve`: the local speech service, on 127.0.0.1 only, until Ctrl+C.

One line on stdout says where it listens and where the token is; a taken lock or port is one
line on stderr and exit status 1. Nothing said is logged unless --log-text is given.
"""
from __future__ import annotations

import argparse
import logging
import socket
import sys
from pathlib import Path

DEFAULT_PORT = 9880             # GPT-SoVITS api_v2's, so its clients find the service


def add_serve_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser("serve", help="let other programs on this computer speak in your voice (HTTP on 127.0.0.1)")
    p.add_argument("--speaker", help="whose voices to use (default: the app's last speaker, or the only one)")
    p.add_argument("--voice", help="the default voice id (default: the Speak page's, else the newest)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port on 127.0.0.1 (default {DEFAULT_PORT}; 0: any free one)")
    p.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    p.add_argument("--max-chars", type=int, default=2000, help="longest text one request may send (default 2000)")
    p.add_argument("--max-queue", type=int, default=32, help="requests speaking or waiting at once (default 32)")
    p.add_argument("--rate", type=float, default=600, help="requests a minute, all programs together (default 600)")
    p.add_argument("--log-text", action="store_true", help="also log what is said (off: only that a request came)")
    p.add_argument("--hubert", help="chinese-hubert-base folder (default: the models folder)")
    p.add_argument("--bert", help="chinese-roberta-wwm-ext-large folder (default: the models folder)")
    p.add_argument("--batch-size", type=int, default=8, help="sentences in one engine batch (default 8)")
    p.add_argument("--threads", type=int, help="torch threads for the GPT and for the vocoder, which run side "
                   "by side (default: half the cores)")
    p.add_argument("--plain", action="store_true", help=argparse.SUPPRESS)            # tests: no fast paths
    p.add_argument("--no-overlap", dest="overlap", action="store_false", help=argparse.SUPPRESS)  # bench: vocoder inline
    p.add_argument("--max-new-tokens", type=int, help=argparse.SUPPRESS)             # tests
    p.set_defaults(func=cmd_serve)
    return p


def _say(message: str) -> None:
    print(f"voicebank serve: {message}", file=sys.stderr, flush=True)


def _speaker(args):
    from core.bank.speaker_lookup import find_speaker
    from core.bank.store import Bank, BankError
    from core.settings import load_settings

    bank = Bank(Path(args.bank) if getattr(args, "bank", None) else None)
    if args.speaker:
        return find_speaker(bank, args.speaker)
    speakers = bank.speakers()
    last = load_settings().speaker_for(bank.root)
    for speaker in speakers:
        if speaker.id == last:
            return speaker
    if len(speakers) == 1:
        return speakers[0]
    if not speakers:
        raise BankError(f"There are no speakers in {bank.root} yet. Create one in the app (`voicebank gui`).")
    raise BankError("Say whose voice to use: " + ", ".join(f"--speaker {s.id}" for s in speakers) + ".")


def _default_voice(args, speaker) -> str | None:
    from core.speak.prefs import load_prefs
    from core.speak.voices import speak_voices

    ids = [v.id for v in speak_voices(speaker)]
    for wanted in (args.voice, load_prefs(Path(speaker.folder)).voice_id):
        if wanted and wanted in ids:
            return wanted
    if args.voice:
        raise ValueError(f"there is no voice {args.voice!r} (voices: {', '.join(ids) or 'none yet'})")
    return ids[0] if ids else None


def cmd_serve(args) -> int:
    from core.bank.store import BankError
    from core.service.security import ServiceLock, ServiceLocked, load_or_create_token, token_path

    lock = ServiceLock()
    try:
        lock.acquire()
    except ServiceLocked as exc:
        _say(f"{exc}; stop it first, or use that one.")
        return 1
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind(("127.0.0.1", args.port))
    except OSError as exc:
        sock.close()
        lock.release()
        _say(f"port {args.port} on 127.0.0.1 is taken ({exc.strerror}); choose another with --port.")
        return 1
    try:
        try:
            speaker = _speaker(args)
            voice = _default_voice(args, speaker)
        except (BankError, ValueError) as exc:
            _say(str(exc))
            return 1
        return _serve(args, sock, speaker, voice, load_or_create_token(), token_path())
    finally:
        sock.close()
        lock.release()


def _stop_cleanly_on_sigterm() -> None:
    """SIGTERM (the app's switch, a session ending) ends the process as Ctrl+C does: service.json
    is removed and the engine stopped (the `finally` below), exit status 0."""
    import signal
    import threading

    def stop(_signum, _frame):
        raise SystemExit(0)

    if threading.current_thread() is threading.main_thread() and hasattr(signal, "SIGTERM"):
        signal.signal(signal.SIGTERM, stop)


def _serve(args, sock, speaker, voice_id, token, where) -> int:
    import uvicorn

    from core.paths import jobs_dir
    from core.service.app import Service, build_app
    from core.service.engine_client import EngineClient
    from core.service.security import RateLimit, remove_service_file, write_service_file
    from core.speak.voices import speak_voices

    config = {"device": args.device, "plain": args.plain, "max_new_tokens": args.max_new_tokens,
              "batch_size": args.batch_size, "hubert": args.hubert, "bert": args.bert,
              "threads": args.threads, "overlap": args.overlap}
    voice = next((v for v in speak_voices(speaker) if v.id == voice_id), None)
    if voice is not None and not voice.missing():
        config["preload"] = voice.job_params()      # loaded before the engine says it is ready
    engine = EngineClient(config, max_active=max(1, args.max_queue))
    service = Service(speaker, token, engine, jobs_dir() / "service", default_voice=voice_id,
                      max_chars=max(1, args.max_chars), rate=RateLimit(args.rate, max(1, int(args.rate // 5))),
                      log_text=args.log_text)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    engine.start()
    port = sock.getsockname()[1]
    try:
        write_service_file(port)
    except OSError as exc:
        _say(f"could not write service.json ({exc.strerror}); clients use port {DEFAULT_PORT} unless told.")
    print(f"voicebank serve: listening on http://127.0.0.1:{port} for {speaker.name or speaker.id} "
          f"(default voice: {voice_id or 'none yet'}); token in {where}; Ctrl+C stops it.", flush=True)
    server = uvicorn.Server(uvicorn.Config(build_app(service), log_level="warning", access_log=False,
                                           lifespan="off", server_header=False, date_header=False))
    _stop_cleanly_on_sigterm()      # uvicorn hands the signal on after its own shutdown
    try:
        server.run(sockets=[sock])
    finally:
        remove_service_file()
        engine.stop()
    return 0
