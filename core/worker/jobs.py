"""The jobs a worker can run: kind -> callable(params, ctx) -> result dict, and where a job's
folder is.

`REGISTRY` gathers the kinds of each job family, one module per family:
  selftest_jobs  selftest: the diagnostic, and what the protocol tests drive;
  speak_jobs     prepare_voice, speak: the voice loaded once and kept, speech written as it is made;
  build_jobs     build, zero_shot, likeness: making a voice from the bank and checking it.
What they share (JobContext, JobError, JobCancelled, the params checks) is in
core.worker.context; it is named here too, for the worker's loop (core.worker.__main__).
Dependencies go one way: this module imports the families, the families import only the context.

Heavy imports (torch, the engine, the training code) happen inside the jobs, never at module
import: the worker must start and answer `ping` in a fraction of a second.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from core.paths import jobs_dir
from core.worker import build_jobs, selftest_jobs, speak_jobs
from core.worker.context import Emit, JobCancelled, JobContext, JobError, JobFn

__all__ = ["REGISTRY", "Emit", "JobCancelled", "JobContext", "JobError", "JobFn", "job_dir_for"]


def _gather(*families: Any) -> dict[str, JobFn]:
    """Each family module's JOBS in one registry; a kind answered twice is a bug, found at import."""
    registry: dict[str, JobFn] = {}
    for family in families:
        for kind, fn in family.JOBS.items():
            if kind in registry:
                raise RuntimeError(f"Two job families answer {kind!r}, {family.__name__} among them")
            registry[kind] = fn
    return registry


REGISTRY: dict[str, JobFn] = _gather(selftest_jobs, speak_jobs, build_jobs)


def job_dir_for(job_id: str, params: dict[str, Any]) -> Path:
    given = params.get("job_dir")
    return Path(given) if given else jobs_dir() / job_id
