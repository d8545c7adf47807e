"""Multi-GPU training through torch.distributed, run on the CPU: 2 ranks, gloo, the tiny models.

CUDA/nccl is not exercised here (no GPU in the tests); the code paths are the same apart from
the backend and the device of each rank.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from core.train import checkpoints, distributed
from core.train.distributed import process_count, shard
from core.train.errors import BuildCancelled, BuildError

from .conftest import config


def test_shard_gives_every_rank_the_same_number_of_batches():
    batches = [[0], [1], [2], [3], [4]]
    a, b = shard(batches, 0, 2), shard(batches, 1, 2)
    assert a == [[0], [2], [4]] and b == [[1], [3], [0]]     # padded from the start
    assert sorted(x for s in (a, b) for x in s) == sorted(batches + [[0]])
    assert shard(batches, 0, 1) is batches
    assert shard([[7]], 2, 3) == [[7]]


def test_process_count_policy():
    assert process_count(None, "auto", 0) == 1
    assert process_count(None, "auto", 1) == 1
    assert process_count(None, "auto", 4) == 4          # all GPUs when there are several
    assert process_count(None, "cuda", 2) == 2
    assert process_count(None, "cuda:1", 4) == 1        # one named card
    assert process_count(None, "cpu", 4) == 1
    assert process_count(2, "cpu", 0) == 2              # CPU ranks (gloo), as the tests use
    assert process_count(1, "cuda", 4) == 1
    with pytest.raises(BuildError, match="2 are visible"):
        process_count(3, "cuda", 2)
    with pytest.raises(BuildError, match="No NVIDIA GPU"):
        process_count(2, "auto", 0)
    with pytest.raises(BuildError, match="names one GPU"):
        process_count(2, "cuda:0", 2)
    assert process_count(None, "auto", 4, launchable=False) == 1   # a frozen app: one process
    with pytest.raises(BuildError, match="installed app"):
        process_count(2, "cuda", 4, launchable=False)
    assert distributed.backend_for("cpu") == "gloo"


# ---------------------------------------------------------------------------------- the runner


def _spawn(folder: Path, gpt: Path, max_steps: int, cancel_after: int = 0) -> list[dict]:
    import torch.multiprocessing as mp

    from .ddp_rank import gpt_rank

    mp.start_processes(gpt_rank, args=(2, str(folder), str(gpt), max_steps, cancel_after), nprocs=2,
                       start_method="spawn")
    return [torch.load(folder / f"rank{r}.{max_steps}.pt", weights_only=True) for r in range(2)]


def test_two_ranks_cancel_together_resume_and_stay_identical(base_files, tmp_path):
    from core.engine.gpt import load_gpt

    base = load_gpt(base_files["gpt"]).state_dict()
    # 1: rank 1 alone sees the cancel after 2 steps; both stop at step 2, rank 0 saved it
    r0, r1 = _spawn(tmp_path, base_files["gpt"], max_steps=3, cancel_after=2)
    assert r0["outcome"] == r1["outcome"] == "cancelled"
    assert r0["saves"] == [1, 2, 2] and r1["saves"] == []      # rank 0 alone writes checkpoints
    state = checkpoints.load_state(tmp_path / "gpt.state.pt")
    assert state["step"] == 2 and not state["done"] and state["world"] == 2
    assert [s for s, _ in r0["losses"]] == [1, 2] and r1["losses"] == []   # progress: rank 0 only

    # 2: started again, both resume at step 3 and finish
    r0, r1 = _spawn(tmp_path, base_files["gpt"], max_steps=3)
    assert r0["outcome"] == r1["outcome"] == "done"
    assert [s for s, _ in r0["losses"]] == [3] and r0["saves"] == [3] and r1["saves"] == []
    assert all(math.isfinite(loss) for _, loss in r0["losses"])
    assert checkpoints.load_state(tmp_path / "gpt.state.pt")["done"]
    w0, w1 = r0["weights"], r1["weights"]
    for name in w0:                         # DDP kept the two copies the same
        assert torch.equal(w0[name], w1[name]), name
    assert not torch.equal(w0["ar_predict_layer.weight"], base["ar_predict_layer.weight"])


# ---------------------------------------------------------------------------------- the build


def test_build_with_two_cpu_ranks_under_torchrun_cancel_and_resume(speaker, bank, base_files, tmp_path):
    """build_voice(gpus=2) on the CPU: torchrun starts 2 ranks (gloo); rank 0's progress comes
    back once per step; a cancel (asked once SoVITS is done) stops both ranks; the same build
    started again resumes (SoVITS is not trained again) and exports the voice."""
    from core.train.build import build_voice, list_voices

    cfg = config(speaker, bank, base_files, max_steps=1, batch_size=1, checkpoint_every=50, gpus=2)
    job, seen = tmp_path / "job", []
    with pytest.raises(BuildCancelled):
        build_voice(cfg, job, lambda p: seen.append((p.stage, p.step)),
                    cancel=lambda: ("sovits", 1) in seen)
    assert [s for st, s in seen if st == "sovits"] == [1]          # once, not once per rank
    outcomes = distributed.read_outcomes(job)
    assert {r: o.kind for r, o in outcomes.items()} == {0: "cancelled", 1: "cancelled"}
    assert checkpoints.load_state(job / "sovits.state.pt")["done"]
    assert not list_voices(speaker)

    seen.clear()
    folder = build_voice(cfg, job, lambda p: seen.append((p.stage, p.step)))
    assert [s for st, s in seen if st == "sovits"] == [] and [s for st, s in seen if st == "gpt"] == [1]
    (path, card), = list_voices(speaker)
    assert path == folder and card.sovits_steps == 1 and card.gpt_steps == 1
    assert "2 processes" in card.device
    assert {r: o.kind for r, o in distributed.read_outcomes(job).items()} == {0: "done", 1: "done"}
    gpt_state = checkpoints.load_state(job / "gpt.state.pt")
    assert gpt_state["world"] == 2 and gpt_state["done"]
    launch = json.loads((job / "launch.json").read_text())
    assert launch["device"] == "cpu" and len(launch["items"]) == card.takes


def test_a_rank_that_dies_fails_the_build_with_a_message(tmp_path, monkeypatch):
    """A rank killed outright (no outcome written): torchrun stops the other and the launch
    says which one stopped and that the work is kept."""
    script = tmp_path / "fake_rank.py"
    script.write_text(
        "import os, sys, time\n"
        "if os.environ['RANK'] == '1':\n"
        "    os._exit(9)\n"
        "time.sleep(60)\n")
    real = distributed.torchrun_command    # [python, -m, torch.distributed.run, ..., -m, module, dir]
    monkeypatch.setattr(distributed, "torchrun_command",
                        lambda n, job_dir: real(n, job_dir)[:-3] + [str(script)])
    with pytest.raises(BuildError) as info:
        distributed.launch(2, tmp_path / "job", {"spec": {}}, None, None)
    message = str(info.value)
    assert "stopped unexpectedly" in message and "rank 1, exit code 9" in message
    assert "build again" in message and "torchrun.log" in message



def test_out_of_memory_in_a_rank_restarts_the_run_with_half_the_batch(tmp_path, monkeypatch):
    """Under DDP a rank out of memory ends the run (the others wait in a collective); the build
    starts it again from the last checkpoint with half the batch for that stage."""
    from core.train import build
    from core.train.device import Device
    from core.train.distributed import RankOutcome
    from core.train.finetune import TrainSpec

    launches = []

    def launch(n, job_dir, spec, progress, cancel):
        launches.append((n, dict(spec["spec"]["batch_caps"]), spec["device"], spec["precision"]))
        progress({"stage": "sovits", "step": 1, "total": 4, "epoch": 1, "loss": 2.0, "eta_s": 3.0,
                  "losses": {"loss": 2.0, "mel": 1.5}})
        if len(launches) == 1:
            return RankOutcome("oom", "sovits: out of memory", "sovits", 4)
        return RankOutcome("done")

    monkeypatch.setattr(distributed, "launch", launch)
    seen = []
    build._train_in_ranks(TrainSpec("gpt", "g", "d", 1, 1), ["a.pt"], Device(torch.device("cpu"), "fp32", "CPU"),
                          2, tmp_path, seen.append, None)
    assert launches == [(2, {}, "cpu", "fp32"), (2, {"sovits": 4}, "cpu", "fp32")]
    assert any("batch size 4" in p.message for p in seen)
    first = seen[0]
    assert (first.stage, first.step, first.total, first.loss) == ("sovits", 1, 4, 2.0) and "mel 1.5" in first.message


RANK_SCRIPT = """
import os, sys, time
from pathlib import Path
from core.train.distributed import RankOutcome, write_outcome
rank, kind = int(os.environ["RANK"]), sys.argv[1]
if rank == 1:
    write_outcome(Path(sys.argv[2]), 1, RankOutcome(kind, "The disk is full: free some space.", "gpt", 3))
    os._exit(1)
time.sleep(60)      # rank 0 waits in a collective; torchrun stops it
"""


@pytest.mark.parametrize("kind", ["error", "oom"])
def test_a_rank_reports_why_it_stopped(tmp_path, monkeypatch, kind):
    script = tmp_path / "fake_rank.py"
    script.write_text(RANK_SCRIPT)
    job = tmp_path / "job"
    real = distributed.torchrun_command
    monkeypatch.setattr(distributed, "torchrun_command",
                        lambda n, job_dir: real(n, job_dir)[:-3] + [str(script), kind, str(job)])
    if kind == "error":
        with pytest.raises(BuildError, match="The disk is full: free some space."):
            distributed.launch(2, job, {"spec": {}})
    else:
        outcome = distributed.launch(2, job, {"spec": {}})
        assert (outcome.kind, outcome.stage, outcome.batch_size) == ("oom", "gpt", 3)
