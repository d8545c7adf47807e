"""`python -m core.bench [options]`: the benchmark, as `voicebank bench [options]` runs it."""
from core.bench.cli import main

raise SystemExit(main())
