

def make_voice(speaker, voice_id: str = "v-1", kind: str = "fine-tuned", created: str = "2026-01-01T10:00:00",
               files: tuple[str, ...] = ("gpt.ckpt", "sovits.pth", "reference.wav")):
    """A voice folder as the trainer leaves it (card + placeholder model files); returns its path.
    A zero-shot voice's card names no model files of its own."""
    import json
    from pathlib import Path

    folder = Path(speaker.folder) / "voices" / voice_id
    folder.mkdir(parents=True)
    card = {"id": voice_id, "name": "Ada", "kind": kind, "base_model": "v2", "data_minutes": 5.0,
            "takes": 40, "sovits_steps": 100, "gpt_steps": 100, "created": created,
            "reference_take": "t1", "reference_text": "你好", "device": "cpu", "precision": "fp32"}
    if kind == "zero-shot":
        card.update(gpt_path="", sovits_path="")
    (folder / "voice.json").write_text(json.dumps(card), encoding="utf-8")
    for name in files:
        (folder / name).write_bytes(b"x")
    return folder
