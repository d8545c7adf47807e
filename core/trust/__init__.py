"""Trust: consent before a voice is made, and checks that a voice is the consenting person's.

    speaker.py    speaker embeddings (GE2E d-vectors, resemblyzer's weights file, our own code)
    consent.py    consent statements (zh, en; self or voice donor), their recordings in the bank,
                  check_speaker: do the training takes sound like the consent recording?
    likeness.py   after a build: how much the new voice sounds like the speaker

`import core.trust` is cheap: torch loads only with speaker.py.
"""
