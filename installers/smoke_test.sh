#!/usr/bin/env bash
# Runs the BUILT bundle (dist/voicebank/voicebank) the way a user's machine would, with no sound
# card, no GPU and no real models; about a minute. Not part of pytest (it needs a build first):
#   bash installers/build_bundle.sh && bash installers/smoke_test.sh
# The development venv (.venv) only prepares inputs: a test "microphone" WAV, tiny random
# feature models, the tiny GPT-SoVITS checkpoints (../shared/reference/gpt-sovits-v2, or set
# VOICEBANK_TINY_MODELS) and a .voicebank voice package. Everything checked runs in the bundle.
set -euo pipefail
cd "$(dirname "$0")/.."
app="${1:-dist/voicebank/voicebank}"
[ -x "$app" ] || { echo "No bundle at $app: run bash installers/build_bundle.sh first." >&2; exit 1; }
work=$(mktemp -d -t voicebank-smoke-XXXXXX)
trap 'rm -rf "$work"' EXIT
# Everything the bundle writes goes to the throw-away folder, never the user's data.
export VOICEBANK_HOME="$work/bank" VOICEBANK_JOBS="$work/jobs" VOICEBANK_MODELS="$work/models"
export QT_QPA_PLATFORM=offscreen
step() { echo; echo "== $*"; }
start=$(date +%s)

step "prepare inputs (development venv)"
.venv/bin/python installers/smoke_driver.py prepare "$work"

step "version"
"$app" --version

step "selftest, recording 2 s from the test input (VOICEBANK_FAKE_INPUT)"
VOICEBANK_FAKE_INPUT="$work/mic.wav" "$app" selftest --record 2

step "worker: started as '$app --worker'; ping, a selftest job, a speak job"
.venv/bin/python installers/smoke_driver.py worker "$app" "$work"

step "speak with the tiny models (command line)"
"$app" speak --gpt "$work/s1_tiny.ckpt" --sovits "$work/s2G_tiny.pth" \
    --hubert "$work/chinese-hubert-base" --bert "$work/chinese-roberta-wwm-ext-large" \
    --ref "$work/ref.wav" --ref-text "参考音频里说的话" --text "你好世界，今天天气很好。Hello world." \
    --out "$work/speech.wav" --seed 1 --max-new-tokens 12
"$app" check "$work/speech.wav" > "$work/check.txt"
head -3 "$work/check.txt"

step "voice package: import (checked with the restricted loader), list, export, delete"
"$app" voice import "$work/smoke.voicebank" --speaker smoke --create
"$app" voice list --speaker smoke
"$app" voice export --speaker smoke "$work/again.voicebank"
"$app" voice verify "$work/again.voicebank"
"$app" voice delete --speaker smoke --voice v-smoke --yes > "$work/deleted.txt"
head -2 "$work/deleted.txt"

step "the window opens (offscreen) and stays up for 15 s"
set +e
timeout 15 "$app" gui 2> "$work/gui.err"
rc=$?
set -e
if [ "$rc" != 124 ] || grep -q Traceback "$work/gui.err"; then
    echo "the GUI exited with status $rc:" >&2; tail -20 "$work/gui.err" >&2; exit 1
fi
echo "still running after 15 s (stopped by the test)"

echo
echo "smoke test passed in $(( $(date +%s) - start )) s; bundle $(du -sh "$(dirname "$app")" | cut -f1)"
