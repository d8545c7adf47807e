"""Pictures of every page, for the README and for checking the layout by eye:

    python -m tools.screenshots [--out docs/screenshots] [--pages record,speak] [--text-size normal]

It draws the window offscreen (no display needed) with the layout tests' driver
(tests/desktop/ui_driver.py: a bank part-way through, a fake microphone, a worker that never
answers) at each screen: 1024x600 at 100 %, and 1920x1080 at 150 % scaling (1280x720 logical
pixels, drawn at 1920x1080). Qt's scale factor is fixed once a QApplication exists, so each
screen is drawn by a child process of its own. Files: <page>-1024x600.png,
<page>-1920x1080@150.png (and -<text size> before .png when it is not normal).
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# name, physical size, scale
SCREENS = {"1024x600": ((1024, 600), 1.0), "1920x1080@150": ((1920, 1080), 1.5)}


def file_name(page: str, screen: str, text_size: str) -> str:
    return f"{page}-{screen}{'' if text_size == 'normal' else '-' + text_size}.png"


def draw(screen: str, pages: list[str], text_size: str, out: Path) -> list[Path]:
    """In this process (its QT_SCALE_FACTOR already set): save each page at `screen`."""
    from tests.desktop import ui_driver

    (width, height), scale = SCREENS[screen]
    with tempfile.TemporaryDirectory() as folder:
        bank = ui_driver.fill_bank(Path(folder) / "bank")
        window = ui_driver.make_window(bank, text_size, (round(width / scale), round(height / scale)))
        saved = []
        for page in pages:
            ui_driver.show_page(window, page, message=False)
            path = out / file_name(page, screen, text_size)
            if not window.grab().save(str(path)):
                raise OSError(f"could not write {path}")
            saved.append(path)
        window.close()
    return saved


def run_screen(screen: str, pages: list[str], text_size: str, out: Path) -> None:
    """Draw `screen` in a child process with Qt's scale factor for it."""
    _size, scale = SCREENS[screen]
    with tempfile.TemporaryDirectory() as folder:
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen", QT_SCALE_FACTOR=f"{scale:g}",
                   VOICEBANK_HOME=str(Path(folder) / "home"), VOICEBANK_CONFIG=str(Path(folder) / "config"))
        env.pop("QT_SCREEN_SCALE_FACTORS", None)
        command = [sys.executable, "-m", "tools.screenshots", "--screen", screen, "--out", str(out),
                   "--pages", ",".join(pages), "--text-size", text_size]
        subprocess.run(command, cwd=ROOT, env=env, check=True, timeout=600)


def main(argv: list[str] | None = None) -> int:
    from tests.desktop.ui_driver import PAGES

    parser = argparse.ArgumentParser(prog="python -m tools.screenshots", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--pages", default=",".join(PAGES), help="comma-separated, of: " + ", ".join(PAGES))
    parser.add_argument("--screens", default=",".join(SCREENS), help="comma-separated, of: " + ", ".join(SCREENS))
    parser.add_argument("--text-size", default="normal", choices=["normal", "large", "largest"])
    parser.add_argument("--screen", help=argparse.SUPPRESS)        # the child process: one screen
    args = parser.parse_args(argv)
    pages = [p for p in args.pages.split(",") if p]
    unknown = [p for p in pages if p not in PAGES] + [s for s in args.screens.split(",") if s not in SCREENS]
    if unknown:
        parser.error(f"unknown: {', '.join(unknown)}")
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    if args.screen:
        for path in draw(args.screen, pages, args.text_size, out):
            print(path)
        return 0
    for screen in args.screens.split(","):
        run_screen(screen, pages, args.text_size, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
