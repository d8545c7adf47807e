"""The worker's diagnostic job, `selftest`: what the app can run to see that its worker works,
and what the tests drive to exercise the protocol (progress, cancel, failures, a dying or hung
worker, stray output on stdout). It needs no models and imports nothing heavy.
"""
from __future__ import annotations

import os
import sys
import time
from typing import Any

from core.worker.context import JobContext, JobError, JobFn, number_param, optional_step


def selftest(params: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    """A diagnostic the app can run, and what the tests drive: steps with a delay, then a result.

    params: steps (5), delay_s (0.01), fail_at (JobError at that step), bug_at (a plain
    exception: an internal error), crash_at (os._exit(3): a dying worker), hang (ignore
    cancel and never finish), stray (text print()ed and written to fd 1, as a chatty
    library would).
    """
    steps = int(number_param(params, "steps", 5, 0, 100_000))
    delay_s = float(number_param(params, "delay_s", 0.01, 0, 60))
    fail_at, bug_at, crash_at = (optional_step(params, n) for n in ("fail_at", "bug_at", "crash_at"))
    if params.get("hang"):
        ctx.log("selftest: hanging on purpose; only a kill stops this", "warning")
        while True:         # deliberately deaf to cancel: the client's kill fallback is under test
            time.sleep(0.05)
    if params.get("stray"):             # both land on stderr: the worker redirects stdout and fd 1
        print(params["stray"])
        sys.stdout.flush()
        os.write(1, f"{params['stray']} (fd 1)\n".encode())
    (ctx.job_dir / "selftest.txt").write_text(f"pid {os.getpid()}\n", encoding="utf-8")
    for step in range(1, steps + 1):
        if step == crash_at:
            sys.stderr.write(f"selftest: crashing on purpose at step {step}\n")
            sys.stderr.flush()
            os._exit(3)
        if step == fail_at:
            raise JobError(f"The self-test failed on purpose at step {step}. Nothing is wrong; "
                           "run it without fail_at to see it pass.", "selftest_failed")
        if step == bug_at:
            raise ValueError(f"selftest bug on purpose at step {step}")
        if delay_s:
            ctx.cancel_event.wait(delay_s)      # wakes at once on cancel
        ctx.raise_if_cancelled({"steps_done": step - 1})
        ctx.progress("selftest", step, steps, f"step {step} of {steps}",
                     eta_s=round((steps - step) * delay_s, 3))
    return {"steps": steps, "pid": os.getpid(), "job_dir": str(ctx.job_dir),
            "torch_loaded": "torch" in sys.modules}


# the kinds this module answers (core.worker.jobs gathers them into its registry)
JOBS: dict[str, JobFn] = {"selftest": selftest}
