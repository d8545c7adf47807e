"""The `voicebank` command line: the top floor, above both core/ and desktop/.

`voicebank gui` starts the window (desktop/), every other command runs a part of core/; this is
the one place that knows both, so core/ never imports the GUI (docs/ARCHITECTURE.md).
"""
