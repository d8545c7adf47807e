"""What was said, newest last, with its audio kept so it can be replayed or exported.

Bounded (MAX_ENTRIES): the oldest entries go, and with them the audio files this history made
(a recording of the user's own that was played is only referred to, never deleted).
"""
from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

from core.bank.files import read_json, write_json_atomic
from core.diskspace import FREE_SPACE_THEN_RETRY, copy_file_atomic
from core.speak import speak_folder

MAX_ENTRIES = 200
HISTORY_FILE = "history.json"
AUDIO_DIR = "history"


@dataclass(frozen=True)
class Said:
    id: str
    text: str
    audio: str          # path of the audio that was played
    voice: str          # voice id, or "own recording"
    own: bool           # the user's own recorded message, not synthesis
    said_at: str

    @property
    def audio_path(self) -> Path:
        return Path(self.audio)


class History:
    def __init__(self, speaker_folder: Path, max_entries: int = MAX_ENTRIES):
        self.folder = speak_folder(speaker_folder)
        self.file = self.folder / HISTORY_FILE
        self.audio_dir = self.folder / AUDIO_DIR
        self.max_entries = max_entries

    def entries(self) -> list[Said]:
        data = read_json(self.file)
        items = data.get("said") if isinstance(data, dict) else None
        out = []
        for item in items or []:
            try:
                out.append(Said(**{k: item[k] for k in Said.__dataclass_fields__}))
            except (KeyError, TypeError):
                continue        # one damaged entry does not hide the rest
        return out

    def new_audio_path(self) -> Path:
        """Where the next utterance's audio should be written (the speak job's `out`)."""
        self.audio_dir.mkdir(parents=True, exist_ok=True)
        return self.audio_dir / f"{datetime.now():%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}.wav"

    def add(self, text: str, audio: Path, voice: str, own: bool = False, copy: bool = False) -> Said:
        """Remember an utterance. copy=True keeps a private copy of `audio` (e.g. cached phrase
        audio, which a later prune may delete)."""
        audio = Path(audio)
        if copy:
            audio = copy_file_atomic(audio, self.new_audio_path(), advice=FREE_SPACE_THEN_RETRY,
                                     failed="its sound could not be kept in “What was said”")
        said = Said(uuid.uuid4().hex[:10], text, str(audio), voice, own,
                    datetime.now().isoformat(timespec="seconds"))
        entries = self.entries() + [said]
        dropped, kept = entries[:-self.max_entries], entries[-self.max_entries:]
        write_json_atomic(self.file, {"version": 1, "said": [asdict(s) for s in kept]},
                          failed="it could not be added to “What was said”")
        still_used = {s.audio for s in kept}
        for old in dropped:
            path = old.audio_path
            if old.audio not in still_used and path.parent == self.audio_dir:
                path.unlink(missing_ok=True)
        return said

    def clear(self) -> None:
        for said in self.entries():
            if said.audio_path.parent == self.audio_dir:
                said.audio_path.unlink(missing_ok=True)
        write_json_atomic(self.file, {"version": 1, "said": []}, failed="“What was said” could not be cleared")
