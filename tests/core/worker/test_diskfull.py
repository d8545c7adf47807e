"""A speak job on a full disk ends with a `disk_full` error worded for the person, not a crash."""
from __future__ import annotations

from core.worker import protocol
from tests.core.worker.test_protocol import fake_pipeline, jobs_dir, voice_files, worker  # noqa: F401
from tests.diskfull import full_disk


def test_speak_job_on_a_full_disk(worker, fake_pipeline, voice_files, jobs_dir, monkeypatch):  # noqa: F811
    full_disk(monkeypatch, room=0)
    worker.run("s1", "speak", text="One. Two.", **voice_files)
    error = worker.until("error", "s1")[-1]
    assert error["code"] == protocol.DISK_FULL
    assert error["message"].startswith("The disk is full, so its sound could not be saved.")
    assert "disk space" in error["message"] and "Something went wrong" not in error["message"]
    assert not list((jobs_dir / "s1").glob("*.wav")) and not list((jobs_dir / "s1").glob(".*.part"))
