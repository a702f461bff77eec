import os

import pytest
from hypothesis import HealthCheck, settings

# Property tests run a fixed, reproducible set of examples in CI and fresh ones locally.
settings.register_profile(
    "ci", max_examples=60, deadline=None, derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "dev", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("ci" if os.environ.get("CI") else os.environ.get("HYPOTHESIS_PROFILE", "dev"))


@pytest.fixture(scope="module")
def torch():
    """PyTorch, for tests that compare against it; they skip cleanly where it is missing."""
    return pytest.importorskip("torch")
