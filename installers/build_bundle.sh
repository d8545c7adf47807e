#!/usr/bin/env bash
# Builds the installable app with PyInstaller: dist/voicebank/ (one folder; run dist/voicebank/voicebank).
#   bash installers/build_bundle.sh            build (needs the app installed in ./.venv: installers/setup.sh)
#   bash installers/build_bundle.sh --clean    start from scratch (removes build/pyinstaller and dist/voicebank)
# The bundle holds the GUI, the command line and the worker (the same executable with --worker).
# Base models are not bundled; users download or import them after installing.
# Then check the result with: bash installers/smoke_test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
py=.venv/bin/python
[ -x "$py" ] || { echo "No .venv here: run bash installers/setup.sh first." >&2; exit 1; }

"$py" -c "import PyInstaller" 2>/dev/null || "$py" -m pip install -q "pyinstaller>=6.10"   # = the [bundle] extra
if [ "${1:-}" = "--clean" ]; then rm -rf build/pyinstaller dist/voicebank; fi

# The PNG icon, rendered from the SVG with Qt (desktops that do not read SVG icons use it).
mkdir -p build
QT_QPA_PLATFORM=offscreen "$py" - <<'PY'
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer
from PySide6.QtCore import Qt
app = QGuiApplication([])
image = QImage(256, 256, QImage.Format_ARGB32)
image.fill(Qt.transparent)
painter = QPainter(image)
QSvgRenderer("installers/linux/voicebank.svg").render(painter)
painter.end()
if not image.save("build/voicebank.png"):
    raise SystemExit("could not render the icon")
PY

start=$(date +%s)
nice -n 10 "$py" -m PyInstaller --noconfirm --log-level WARN \
    --distpath dist --workpath build/pyinstaller installers/voicebank.spec
cp build/voicebank.png dist/voicebank/voicebank.png
cp installers/linux/install.sh dist/voicebank/install.sh
echo "built dist/voicebank in $(( $(date +%s) - start )) s; $(du -sh dist/voicebank | cut -f1) on disk"
echo "check it with: bash installers/smoke_test.sh"
