"""The benchmark (`voicebank bench`, `python -m core.bench`): speed and memory of the engine and
its runtime with full-size random models. Imports nothing at package level, so the command line
can build its parser without torch."""
