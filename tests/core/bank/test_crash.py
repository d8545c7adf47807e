"""Kill -9 a process that is recording takes: everything finished before the kill survives."""
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import soundfile as sf

from core.bank.store import Bank

WRITER = textwrap.dedent("""
    import sys, time
    import numpy as np
    from core.bank.store import Bank
    bank = Bank()
    speaker = bank.create_speaker("Crash Test", ["en"])
    session = speaker.start_session("fake", -60.0, True)
    block = (0.2 * np.sin(np.arange(1024) / 8.0)).astype(np.float32)
    for i, prompt in enumerate(speaker.prompts()):
        writer = speaker.begin_take(prompt, session)
        for _ in range(20):                 # ~0.43 s of audio per take, written in blocks
            writer.append(block)
            time.sleep(0.004)
        writer.finish()
        speaker.add_message(f"message {i}")   # JSON rewritten all the time as well
        print("done", i, flush=True)
""")


def test_kill_minus_nine_loses_at_most_the_take_in_progress(private_bank):
    root = Path(__file__).resolve().parents[3]
    for kill_after in (3, 5, 8):
        proc = subprocess.Popen([sys.executable, "-c", WRITER], stdout=subprocess.PIPE, text=True,
                                cwd=root, env={**os.environ, "VOICEBANK_HOME": str(private_bank / str(kill_after))})
        finished = 0
        while finished < kill_after:
            line = proc.stdout.readline()
            assert line, "writer died early"
            finished = int(line.split()[1]) + 1
        time.sleep(0.05 * kill_after)   # land somewhere inside the next take
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        speaker = Bank(private_bank / str(kill_after)).speaker("crash-test")
        takes = speaker.current_takes()
        assert len(takes) >= finished          # nothing reported as saved was lost
        for take in takes.values():
            info = sf.info(str(take.raw_path))
            assert info.frames > 0 and info.samplerate == 48000
        json.loads((speaker.folder / "messages.json").read_text())   # never half-written
        assert len(speaker.messages()) >= finished - 1
        assert len(speaker.leftover_parts()) <= 1
