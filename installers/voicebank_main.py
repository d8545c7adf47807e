"""Entry point of the PyInstaller bundle: `voicebank` with no arguments opens the app window.

The same executable is the worker (`voicebank --worker`, started by the GUI) and the command line
(`voicebank speak ...`, `voicebank selftest`, ...); see voicebank/cli.py.
"""
import multiprocessing
import sys

from voicebank.cli import main

if __name__ == "__main__":
    multiprocessing.freeze_support()
    sys.exit(main(sys.argv[1:] or ["gui"]))
