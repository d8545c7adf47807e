"""The loopback download server fixture, for every test in this folder."""
from tests.core.models import server  # noqa: F401  (a pytest fixture)
