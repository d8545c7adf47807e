"""The worker process: heavy work (torch, the engine) away from the GUI, over a JSON-lines protocol.

Run it with `python -m core.worker`; see core/worker/protocol.py for the protocol. This package
imports nothing heavy, so the GUI can import `core.worker.protocol` to build commands.
"""
from core.worker.protocol import PROTOCOL_VERSION

__all__ = ["PROTOCOL_VERSION"]
