"""After a build: how much the new voice sounds like the speaker ("sounds like you" score).

The sample the build page has the new voice say is compared with the speaker's own recordings
(the same speaker embeddings as the consent check) and the figure is kept in voice.json.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from core.bank.files import read_json, write_json_atomic

from .consent import MAX_TAKES, _embed_path, _spread, default_takes

# Words for the figure (cosine of d-vectors, on the consent check's scale: 0.75 is its "same
# person" threshold; see core.trust.consent).
WORDS = ((0.85, "very like you"), (0.75, "like you"), (0.65, "somewhat like you"),
         (-1.0, "not much like you yet"))


@dataclass
class Likeness:
    similarity: float | None
    percent: int | None
    words: str
    sample: str                # the new voice's sample WAV
    mine: str                  # the speaker's recording it is shown with
    takes: int                 # recordings compared
    encoder: str = ""

    def to_dict(self) -> dict:
        return asdict(self)

    def sentence(self) -> str:
        if self.similarity is None:
            return self.words
        return f"Sounds {self.words}: {self.percent} % similar to your own recordings."


def words_for(similarity: float) -> str:
    return next(text for floor, text in WORDS if similarity >= floor)


def sounds_like_you(speaker, sample: Path, mine: Path | None = None, *, include_red: bool = False,
                    encoder=None) -> Likeness:
    """Similarity of the voice's sample to the mean of the speaker's recordings."""
    takes = _spread(default_takes(speaker, include_red), MAX_TAKES)
    mine_s = str(mine) if mine else (str(takes[0].best_audio_path()) if takes else "")
    if not takes:
        return Likeness(None, None, "No recordings of yours to compare with.", str(sample), mine_s, 0)
    if encoder is None:
        from .speaker import EncoderMissing, load_encoder

        try:
            encoder = load_encoder()
        except EncoderMissing as exc:
            return Likeness(None, None, f"Not measured: {exc}", str(sample), mine_s, len(takes))
    from .speaker import cosine, mean_embedding

    yours = mean_embedding([_embed_path(t.best_audio_path(), encoder) for t in takes])
    similarity = round(cosine(_embed_path(Path(sample), encoder), yours), 4)
    return Likeness(similarity, round(100 * max(similarity, 0.0)), words_for(similarity),
                    str(sample), mine_s, len(takes), encoder.source)


def store_in_voice(voice_dir: Path, key: str, value: dict) -> None:
    """Add `key` to the voice's voice.json (atomically; the card's own fields are untouched)."""
    path = Path(voice_dir) / "voice.json"
    data = read_json(path)
    if not isinstance(data, dict):
        return
    data[key] = value
    write_json_atomic(path, data)
