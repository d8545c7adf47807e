"""Guards against a PySide6 that corrupts reference counts when Python emits signals.

PySide6-Essentials 6.12.0 on CPython 3.11 loses a reference to True on every Signal.emit(); the
recorder emits its status 30 times a second, so the app aborted ("bool_dealloc") within a minute.
pyproject.toml excludes that release; this test fails if such a build comes back. It runs in a
subprocess because the failure kills the interpreter.
"""
import subprocess
import sys

PROBE = """
import sys
from PySide6.QtCore import QCoreApplication, QObject, Signal

class Source(QObject):
    status = Signal(object)
    tick = Signal()

app = QCoreApplication([])
source = Source()
seen = []
source.status.connect(seen.append)
before = sys.getrefcount(True)
for i in range(3000):          # 100 s of the recorder's status updates
    source.status.emit(i)
    source.tick.emit()
print(len(seen), sys.getrefcount(True) - before)
"""


def test_emitting_signals_keeps_reference_counts_intact():
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60,
                         env={"QT_QPA_PLATFORM": "offscreen", **__import__("os").environ})
    assert out.returncode == 0, f"the interpreter died emitting Qt signals: {out.stderr[-500:]}"
    delivered, refcount_change = map(int, out.stdout.split())
    assert delivered == 3000
    assert abs(refcount_change) < 50
