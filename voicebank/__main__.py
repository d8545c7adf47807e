"""`python -m voicebank ...` is the `voicebank` command (and `--worker`, as a frozen build runs it)."""
import sys

from voicebank.cli import main

sys.exit(main())
