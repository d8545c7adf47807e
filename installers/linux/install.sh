#!/usr/bin/env bash
# Installs a built voicebank folder for the current user (no root needed):
#   ~/.local/opt/voicebank/            the bundle (a copy of this folder)
#   ~/.local/bin/voicebank             a link to its executable
#   ~/.local/share/applications/       voicebank.desktop (the menu entry)
#   ~/.local/share/icons/hicolor/      the icon (SVG and 256 px PNG)
# Run it from inside the bundle: bash dist/voicebank/install.sh   (remove with: --uninstall)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
opt="$HOME/.local/opt/voicebank"
apps="$HOME/.local/share/applications"
icons="$HOME/.local/share/icons/hicolor"
if [ "${1:-}" = "--uninstall" ]; then
    rm -rf "$opt" "$HOME/.local/bin/voicebank" "$apps/voicebank.desktop" \
        "$icons/scalable/apps/voicebank.svg" "$icons/256x256/apps/voicebank.png"
    echo "voicebank removed (your recordings and voices in the data folder are kept)."
    exit 0
fi
[ -x "$here/voicebank" ] || { echo "Run this from a built bundle (dist/voicebank/install.sh)." >&2; exit 1; }
if [ "$here" != "$opt" ]; then
    rm -rf "$opt.new" && mkdir -p "$(dirname "$opt")" && cp -a "$here" "$opt.new"
    rm -rf "$opt" && mv "$opt.new" "$opt"
fi
mkdir -p "$HOME/.local/bin" "$apps" "$icons/scalable/apps" "$icons/256x256/apps"
ln -sf "$opt/voicebank" "$HOME/.local/bin/voicebank"
sed "s|^Exec=voicebank |Exec=$opt/voicebank |" "$opt/_internal/voicebank.desktop" > "$apps/voicebank.desktop"
cp "$opt/_internal/voicebank.svg" "$icons/scalable/apps/voicebank.svg"
[ -f "$opt/voicebank.png" ] && cp "$opt/voicebank.png" "$icons/256x256/apps/voicebank.png"
command -v update-desktop-database >/dev/null && update-desktop-database -q "$apps" || true
echo "voicebank is installed: find it in the applications menu, or run $opt/voicebank"
