"""The example CT is fetched once per session into the shared data cache."""

import pytest


@pytest.fixture(scope="session")
def ct():
    from xinpaint.data import fetch_example_ct

    return fetch_example_ct()


@pytest.fixture(scope="session")
def small_sequence(ct):
    from xinpaint.data import simulate_sequence

    return simulate_sequence(ct, n_frames=6, detector_shape=(64, 64), arc_degrees=12, seed=5,
                             physics="ideal", metal="needles")
