"""A 16-bit mono WAV written block by block as it is recorded, with plain file writes.

libsndfile reports a full disk as "System error" with no errno, and cannot say how much of the
last block reached the disk. Writing the (trivial) PCM WAV ourselves gives both: each failure is
an OSError with its errno, and `frames` is exactly what the file holds. When a write fails the
file is cut back to whole frames and its header fixed, so what was written stays a valid WAV.
"""
from __future__ import annotations

import os
import struct
from pathlib import Path

import numpy as np

HEADER_BYTES = 44


def wav_header(sample_rate: int, frames: int, channels: int = 1, *, data_bytes: int | None = None) -> bytes:
    """The canonical 44-byte PCM16 header (what libsndfile writes for PCM_16 WAV). `data_bytes`
    overrides the length from `frames` (a stream of unknown length says the most there is)."""
    data = frames * channels * 2 if data_bytes is None else data_bytes
    return (b"RIFF" + struct.pack("<I", min(36 + data, 0xFFFFFFFF)) + b"WAVE"
            + b"fmt " + struct.pack("<IHHIIHH", 16, 1, channels, sample_rate,
                                    sample_rate * channels * 2, channels * 2, 16)
            + b"data" + struct.pack("<I", data))


class WavStream:
    """The subset of soundfile.SoundFile the take and consent writers use: write, flush, close."""

    def __init__(self, path: Path | str, sample_rate: int):
        self.path = Path(path)
        self.samplerate = int(sample_rate)
        self.frames = 0
        self.closed = False
        self._bytes = 0                   # bytes known to be in the file
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            self._write_all(wav_header(self.samplerate, 0))
        except BaseException:
            os.close(self._fd)
            self.closed = True
            raise

    def _write_all(self, data: bytes | memoryview) -> None:
        view = memoryview(data)
        while view:
            n = os.write(self._fd, view)
            self._bytes += n
            view = view[n:]

    def write(self, block: np.ndarray) -> None:
        """Append int16 samples. On OSError (disk full, ...) the file is salvaged and closed,
        `frames` counts what it holds, and the error is raised for the caller to word."""
        if self.closed:
            raise ValueError("the WAV stream is closed")
        data = np.ascontiguousarray(block, dtype="<i2").tobytes()
        try:
            self._write_all(data)
        except OSError:
            self.salvage()
            raise
        self.frames = (self._bytes - HEADER_BYTES) // 2

    def flush(self) -> None:
        """Header up to date and data on disk: a crash now keeps everything written so far."""
        if self.closed:
            return
        os.pwrite(self._fd, wav_header(self.samplerate, self.frames), 0)
        os.fsync(self._fd)

    def salvage(self) -> None:
        """After a failed write: drop a half sample, fix the header, close. Never raises: this
        runs on a disk that just filled up, and cutting back and rewriting the header in place
        needs no new space."""
        if self.closed:
            return
        self.frames = max(self._bytes - HEADER_BYTES, 0) // 2
        for step in (lambda: os.ftruncate(self._fd, HEADER_BYTES + 2 * self.frames),
                     lambda: os.pwrite(self._fd, wav_header(self.samplerate, self.frames), 0)):
            try:
                step()
            except OSError:
                pass
        try:
            os.close(self._fd)
        except OSError:
            pass
        self.closed = True

    def close(self) -> None:
        if self.closed:
            return
        try:
            os.pwrite(self._fd, wav_header(self.samplerate, self.frames), 0)
        finally:
            os.close(self._fd)
            self.closed = True


# -- recordings: the take writer and the consent writer share these ----------------------------
class RecordingWriteError(OSError):
    """A recording could not be written for another reason than space (a USB disk pulled out,
    an I/O error); `str()` is the plain message."""

    def __init__(self, message: str, errno_: int | None = None):
        super().__init__(errno_, message)
        self.message = message

    def __str__(self) -> str:
        return self.message


def open_recording(path: Path, sample_rate: int, reserve_folder: Path) -> WavStream:
    """The WavStream a recording goes into, once space is set aside in `reserve_folder` (see
    core.diskspace.ensure_reserve). A disk already full raises DiskFullError before anything
    is recorded."""
    from core.diskspace import (MIN_FREE_TO_RECORD, RECORDING_ADVICE, disk_full_error,
                                ensure_reserve, is_disk_full)

    ensure_reserve(reserve_folder)
    try:
        return WavStream(path, sample_rate)
    except OSError as exc:
        Path(path).unlink(missing_ok=True)
        if is_disk_full(exc):
            raise disk_full_error(exc, "recording cannot start: it could not be saved", reserve_folder,
                                  needed_bytes=MIN_FREE_TO_RECORD, kept="Every earlier recording is safe.",
                                  advice=RECORDING_ADVICE) from exc
        raise


def recording_write_error(exc: OSError, stream: WavStream, reserve_folder: Path, *,
                          what: str = "this take", again: str = "press Space to record again",
                          kept: str | None = None) -> OSError:
    """The worded error for a write that failed mid-recording (`stream` is already salvaged:
    what it holds stays a valid WAV). A full disk also releases the reserve, so the recording's
    details can still be saved."""
    from core.diskspace import (MIN_FREE_TO_RECORD, RECORDING_ADVICE, disk_full_error,
                                is_disk_full, release_reserve)

    stream.salvage()
    seconds = stream.frames / stream.samplerate
    if kept is None:    # `kept`: the caller's words when a cut-off recording is not kept
        kept = (f"The first {seconds:.1f} seconds of {what} are kept." if stream.frames
                else f"Nothing of {what} reached the disk; every earlier recording is safe.")
    if is_disk_full(exc):
        release_reserve(reserve_folder)
        return disk_full_error(exc, "recording stopped", reserve_folder, needed_bytes=MIN_FREE_TO_RECORD,
                               kept=kept, advice=RECORDING_ADVICE.replace("press Space to go on", again))
    return RecordingWriteError(f"The recording could not be written to {stream.path.parent} "
                               f"({exc.strerror or exc}), so it stopped. {kept} Check the disk (was it "
                               f"unplugged?), then {again}.", exc.errno)
