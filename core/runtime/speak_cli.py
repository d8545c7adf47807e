"""`voicebank speak`: text -> a WAV file in the voice of a reference recording.

    voicebank speak --gpt voice.ckpt --sovits voice.pth --ref me.wav --ref-text "..." \\
                    --text "你好，world!" --out hello.wav

Progress goes to stderr, one line per sentence; every problem is one plain message and exit
status 1 (never a traceback; VOICEBANK_DEBUG=1 shows one for unexpected errors).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

__all__ = ["add_speak_parser", "cmd_speak", "main"]

TEXT_FILE_LIMIT = 1_000_000  # bytes; the synthesizer refuses texts over 100,000 characters anyway


def add_speak_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "speak", help="say a text in the voice of a GPT-SoVITS v2 model",
        description="Synthesize speech with a GPT-SoVITS v2 voice (a GPT .ckpt and a SoVITS .pth) "
                    "imitating a 3-10 s reference recording. Writes a 32 kHz mono WAV.")
    p.add_argument("--gpt", required=True, help="the voice's GPT file (.ckpt)")
    p.add_argument("--sovits", required=True, help="the voice's SoVITS file (.pth)")
    p.add_argument("--ref", required=True, help="reference recording, 3-10 s (longer: cut at a pause)")
    p.add_argument("--ref-text", help="what the reference says (omit for reference-free mode)")
    p.add_argument("--text", help="the text to say")
    p.add_argument("--text-file", help="read the text to say from this UTF-8 file")
    p.add_argument("--out", required=True, help="output WAV file")
    p.add_argument("--device", default="cpu", help="where to run it: cpu (default) or cuda")
    p.add_argument("--hubert", help="chinese-hubert-base folder (default: the models folder)")
    p.add_argument("--bert", help="chinese-roberta-wwm-ext-large folder (default: the models folder)")
    p.add_argument("--seed", type=int, help="make the result repeatable")
    p.add_argument("--speed", type=float, default=1.0, help="speaking rate, 1.0 = normal")
    p.add_argument("--top-k", type=int, default=15,
                   help="sample each sound from the K likeliest (default 15; lower: steadier, flatter)")
    p.add_argument("--top-p", type=float, default=1.0,
                   help="sample from the likeliest sounds that add up to this share (default 1.0: all K)")
    p.add_argument("--temperature", type=float, default=1.0,
                   help="how freely to sample (default 1.0; lower: steadier, flatter)")
    p.add_argument("--noise-scale", type=float, default=0.5,
                   help="variation in the sound of the voice (default 0.5)")
    p.add_argument("--pause", type=float, default=0.3, help="seconds of silence after each sentence")
    p.add_argument("--batch-size", type=int, default=8, help="sentences decoded together")
    p.add_argument("--dictionary", help="a pronunciations JSON file, word -> pinyin or ARPAbet (the app keeps "
                                        "each speaker's as <speaker folder>/pronunciations.json)")
    p.add_argument("--max-new-tokens", type=int, help=argparse.SUPPRESS)  # tests and debugging
    p.set_defaults(func=cmd_speak)
    return p


def _say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _read_text(args) -> str:
    from core.runtime.pipeline import SynthesisError

    if args.text is not None and args.text_file:
        raise SynthesisError("Give the text with --text or --text-file, not both.")
    if args.text_file:
        path = Path(args.text_file)
        try:
            if path.stat().st_size > TEXT_FILE_LIMIT:
                raise SynthesisError(f"{path} is too large for a text to speak "
                                     f"(over {TEXT_FILE_LIMIT // 1000:,} kB).")
            return path.read_text(encoding="utf-8-sig")
        except FileNotFoundError:
            raise SynthesisError(f"The text file {path} does not exist.") from None
        except UnicodeDecodeError:
            raise SynthesisError(f"{path} is not a UTF-8 text file; save it as UTF-8.") from None
        except OSError as exc:
            raise SynthesisError(f"The text file {path} cannot be read ({exc.strerror}).") from None
    if args.text is None:
        raise SynthesisError("Nothing to say: give the text with --text or --text-file.")
    return args.text


def _read_dictionary(path_arg: str):
    """The user's pronunciation dictionary; a named file must exist and be valid."""
    from core.runtime.pipeline import SynthesisError
    from core.text.userdict import UserDict, UserDictError

    path = Path(path_arg)
    if not path.is_file():
        raise SynthesisError(f"The pronunciation dictionary {path} does not exist; check the path "
                             "(the app keeps each speaker's as pronunciations.json in their folder).")
    try:
        return UserDict.load(path)
    except UserDictError as exc:
        raise SynthesisError(f"{path}: {exc} Fix or remove that word in the file, then run the "
                             "command again.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SynthesisError(f"Cannot read the pronunciation dictionary {path}: {exc}.") from None


def _speak(args) -> int:
    from core.audio.io import write_wav
    from core.runtime.pipeline import ModelPaths, SynthesisError, SynthesisOptions, Synthesizer

    text = _read_text(args)
    out = Path(args.out)
    if out.exists() and out.is_dir():
        raise SynthesisError(f"--out {out} is a folder; give a file name such as {out / 'speech.wav'}.")
    if out.exists() and Path(args.ref).exists() and out.resolve() == Path(args.ref).resolve():
        raise SynthesisError("The output must be a new file: the reference recording is never overwritten.")
    options = SynthesisOptions(
        top_k=args.top_k, top_p=args.top_p, temperature=args.temperature, speed=args.speed,
        noise_scale=args.noise_scale, seed=args.seed, pause_s=args.pause,
        batch_size=args.batch_size, max_new_tokens=args.max_new_tokens)

    userdict = _read_dictionary(args.dictionary) if args.dictionary else None
    t0 = time.perf_counter()
    _say(f"loading models on {args.device} ...")
    synth = Synthesizer(ModelPaths(
        gpt=Path(args.gpt), sovits=Path(args.sovits),
        hubert=Path(args.hubert) if args.hubert else None,
        bert=Path(args.bert) if args.bert else None), device=args.device)
    from core.watermark import payload_id_for_files
    synth.watermark_id = payload_id_for_files(args.ref, args.gpt, args.sovits)   # voice id in the watermark
    info = synth.set_reference(args.ref, args.ref_text)
    for note in info["notes"]:
        _say(f"note: {note}")
    mode = "with its text" if info["mode"] == "text" else "reference-free"
    _say(f"reference: {info['used_s']:.1f} s, {mode}")

    t1 = time.perf_counter()
    parts = []
    stream = synth.stream(text, options, userdict=userdict)
    for note in synth.last_notes:
        _say(f"note: {note}")
    for part in stream:
        parts.append(part.audio)
        snippet = part.text if len(part.text) <= 60 else part.text[:57] + "..."
        _say(f"[{part.index + 1}/{part.total}] {time.perf_counter() - t1:6.1f} s  {snippet}")

    import numpy as np

    audio = np.concatenate(parts)
    from core.diskspace import DiskFullError
    try:
        write_wav(out, audio, synth.SAMPLE_RATE)
    except DiskFullError as exc:    # worded: what failed, space needed, nothing half-written
        raise SynthesisError(str(exc)) from None
    except OSError as exc:
        raise SynthesisError(f"Cannot write {out}: {exc.strerror or exc}.") from None
    seconds = len(audio) / synth.SAMPLE_RATE
    took = time.perf_counter() - t1
    print(f"wrote {out} ({seconds:.1f} s of audio at {synth.SAMPLE_RATE // 1000} kHz, "
          f"{len(parts)} sentence{'s' if len(parts) != 1 else ''}, {took:.1f} s to synthesize, "
          f"{t1 - t0:.1f} s to load)")
    return 0


# The engine says where to get missing base models in the app's words and the terminal's.
APP_MODELS_HINT = "Install the base models from the app's build page or with `voicebank models`."
CLI_MODELS_HINT = ("Install them with `voicebank models download`, or, without internet, "
                   "`voicebank models import FOLDER`.")


def _cli_words(message: str) -> str:
    return message.replace(APP_MODELS_HINT, CLI_MODELS_HINT)


def cmd_speak(args) -> int:
    from core.runtime.pipeline import SynthesisError

    try:
        return _speak(args)
    except SynthesisError as exc:
        _say(f"voicebank speak: {_cli_words(str(exc))}")
        return 1
    except KeyboardInterrupt:
        _say("voicebank speak: stopped; nothing was written.")
        return 1
    except MemoryError:
        _say("voicebank speak: out of memory; try a shorter text or a smaller --batch-size.")
        return 1
    except Exception as exc:  # a bug: still one line for the user, the details on request
        if os.environ.get("VOICEBANK_DEBUG"):
            raise
        _say(f"voicebank speak: unexpected error ({type(exc).__name__}: {exc}). This is a bug; "
             "run again with VOICEBANK_DEBUG=1 to see the details and please report it.")
        return 1


def main(argv: list[str] | None = None) -> int:
    """Standalone entry (`python -m core.runtime.speak_cli speak ...`); `voicebank speak` is the
    same command through voicebank.cli."""
    parser = argparse.ArgumentParser(prog="voicebank")
    sub = parser.add_subparsers(dest="command", required=True)
    add_speak_parser(sub)
    args = parser.parse_args(["speak", *(sys.argv[1:] if argv is None else argv)])
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
