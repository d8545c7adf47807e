"""The benchmark's tests keep the runtime's private gate cache (its synthesizers never touch the
user's)."""
from tests.core.runtime.conftest import own_gate_cache, private_gate_cache  # noqa: F401
