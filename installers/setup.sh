#!/usr/bin/env bash
# Installs voicebank into ./.venv on Debian/Ubuntu: system audio libraries, torch, then the app.
#   bash installers/setup.sh           for using the app
#   bash installers/setup.sh --test    also the test tools
# GPU users: set TORCH_SPEC to the CUDA build you want first, e.g.
#   TORCH_SPEC="torch==2.13.0 --index-url https://download.pytorch.org/whl/cu128" bash installers/setup.sh
set -euo pipefail
cd "$(dirname "$0")/.."

mode=app
[ "${1:-}" = "--test" ] && mode=test

# System packages: PortAudio for the microphone, a Chinese font (else prompts show as boxes);
# for a real window, the xcb libraries Qt 6 needs.
packages="libportaudio2 fonts-wqy-microhei"
# The tests of the Linux system voice run the real speech-dispatcher (tests/voicebank/test_system_voice_speechd.py).
[ "$mode" = test ] && packages="$packages speech-dispatcher"
[ "$mode" = app ] && packages="$packages libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0 libxcb-xkb1 libxkbcommon-x11-0 libxcb-render-util0 libxcb-image0"
missing=""
for p in $packages; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
python_bin=$(command -v python3.11 || command -v python3)
"$python_bin" -m venv --help >/dev/null 2>&1 && "$python_bin" -c "import ensurepip" 2>/dev/null || missing="$missing python3-venv"
if [ -n "$missing" ]; then
    if [ "$(id -u)" = 0 ]; then apt_cmd="apt-get"; elif command -v sudo >/dev/null; then apt_cmd="sudo apt-get"; else apt_cmd=""; fi
    if [ -n "$apt_cmd" ] && command -v apt-get >/dev/null; then
        echo "Installing system packages:$missing"
        $apt_cmd update -qq
        DEBIAN_FRONTEND=noninteractive $apt_cmd install -y -qq $missing
    else
        echo "Please install these system packages, then run this again:$missing" >&2
        echo "(on Debian/Ubuntu: sudo apt-get install$missing)" >&2
        exit 1
    fi
fi

"$python_bin" -c 'import sys; assert sys.version_info >= (3, 10), "voicebank needs Python 3.10 or newer"'
[ -x .venv/bin/python ] || "$python_bin" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
# torch first and pinned, so the project's range is already satisfied (a bare `torch` would pull a multi-GB CUDA build).
.venv/bin/python -c "import torch" 2>/dev/null || .venv/bin/python -m pip install -q ${TORCH_SPEC:-torch==2.13.0}
if [ "$mode" = test ]; then
    .venv/bin/python -m pip install -q -e ".[test]"
else
    .venv/bin/python -m pip install -q -e .
fi
# The consent check's speaker encoder: only resemblyzer's bundled weights file is read. Its own
# dependencies (webrtcvad needs a C compiler, librosa) are not needed, hence --no-deps.
.venv/bin/python -m pip install -q --no-deps resemblyzer==0.1.4
echo "voicebank is installed in $(pwd)/.venv"
