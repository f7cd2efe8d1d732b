"""Prior projections of whole scans (xinpaint.data.priors) and the crops that carry them."""

import dataclasses

import numpy as np
import pytest

from xinpaint.baselines.mar import nmar_prior
from xinpaint.data import (
    CArmGeometry,
    XraySequence,
    crops_2d,
    nmar_priors,
    stack_crops,
    stack_sequence,
    with_nmar_priors,
)
from xinpaint.reconstruction import Ellipsoid, project_ellipsoids

BODY = [Ellipsoid.of_hu((0, 0, 0), (60, 45, 70), 0.0), Ellipsoid((22, -5, 0), (10, 12, 60), 0.02)]
ROD = [Ellipsoid((-10, 8, 0), (3, 3, 40), 0.15)]


@pytest.fixture(scope="module")
def scan():
    """A 200° short scan of a water cylinder with a bone and a titanium rod."""
    geometry = CArmGeometry(detector_shape=(48, 48), n_frames=40, arc_degrees=200.0,
                            start_degrees=-100.0)
    clean = project_ellipsoids(BODY, geometry)
    metal = project_ellipsoids(ROD, geometry)
    holes = metal > 0
    observed = (clean + metal).astype(np.float32)
    return XraySequence(clean, holes, np.linspace(-100, 100, 40), np.zeros(holes.shape, bool),
                        observed=observed, geometry=geometry)


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XINPAINT_DATA", str(tmp_path))
    return tmp_path / "priors"


def test_the_prior_is_nmar_s_from_what_a_method_sees(scan, cache):
    (prior,) = nmar_priors([scan])
    inputs = np.where(scan.holes, 0, scan.observed)
    expected = nmar_prior(inputs, scan.holes, geometry=scan.geometry, metal="hull",
                          mu_water=scan.mu_water).projections
    np.testing.assert_array_equal(prior, expected)
    assert prior.shape == scan.holes.shape and prior.dtype == np.float32
    # The metal's values never reach it: other values under the holes, the same prior.
    other = dataclasses.replace(scan, observed=np.where(scan.holes, 5.0, scan.observed))
    np.testing.assert_array_equal(nmar_priors([other], cache=False)[0], prior)
    # The prior follows the anatomy: closer to the metal-free frames in the holes than a flat guess.
    err = np.abs(prior - scan.target)[scan.holes].mean()
    assert err < np.abs(scan.target[~scan.holes].mean() - scan.target)[scan.holes].mean()


def test_priors_are_cached_and_follow_the_frames(scan, cache):
    first = nmar_priors([scan])
    files = list(cache.glob("nmar-*.npy"))
    assert len(files) == 1
    np.save(files[0], np.full(scan.holes.shape, 0.25, np.float32))  # the cached file is what is read
    assert (nmar_priors([scan])[0] == 0.25).all()
    other = dataclasses.replace(scan, holes=scan.holes.copy())
    other.holes[0, 0, 0] = not other.holes[0, 0, 0]
    nmar_priors([other])
    assert len(list(cache.glob("nmar-*.npy"))) == 2  # other holes: another prior
    attached = with_nmar_priors([scan], cache=False)[0]
    np.testing.assert_array_equal(attached.prior, first[0])
    block = attached.frames_between(3, 9)
    np.testing.assert_array_equal(block.prior, first[0][3:9])
    own = np.ones(scan.holes.shape, np.float32)
    kept = dataclasses.replace(scan, prior=own, geometry=None)
    assert (nmar_priors([kept])[0] == 1).all() and (with_nmar_priors([kept])[0].prior == 1).all()


def test_prior_errors_name_the_value(scan, cache):
    with pytest.raises(ValueError, match=r"Received sequences\[0\]\.geometry=None"):
        nmar_priors([scan.frames_between(0, 4)])
    bad = dataclasses.replace(scan, prior=np.zeros((2, 3, 3), np.float32))
    with pytest.raises(ValueError, match=r"Received sequences\[0\]\.prior\.shape=\(2, 3, 3\)"):
        nmar_priors([bad])


def test_crops_carry_the_prior_as_their_last_channel(scan):
    prior = 2.0 * scan.target + 1.0  # a known relation to the target, whatever the flips
    fills = [np.where(scan.holes, 0.5, scan.observed)]
    (image, valid), target = next(iter(crops_2d([scan], crop_size=16, batch_size=4, seed=2,
                                                fills=fills, priors=[prior])))
    assert image.shape == (4, 16, 16, 3)
    np.testing.assert_allclose(image.numpy()[..., 2:], 2.0 * target.numpy() + 1.0, rtol=1e-6)
    np.testing.assert_array_equal(image.numpy()[..., 1:2], image.numpy()[..., 0:1] * valid.numpy())
    (plain, _), _ = next(iter(crops_2d([scan], crop_size=16, batch_size=4, seed=2, fills=fills)))
    np.testing.assert_array_equal(plain.numpy(), image.numpy()[..., :2])  # same crops, one channel more
    with pytest.raises(ValueError, match=r"Received 2 priors"):
        crops_2d([scan], crop_size=16, batch_size=2, priors=[prior, prior])
    with pytest.raises(ValueError, match=r"Received priors\[0\]\.shape=\(40, 48\)"):
        crops_2d([scan], crop_size=16, batch_size=2, priors=[prior[:, 0]])


def test_frame_stack_crops_carry_the_centre_frame_s_prior(scan):
    prior = 2.0 * scan.target + 1.0
    fills = [np.where(scan.holes, 0.5, scan.observed)]
    options = dict(crop_size=16, radius=1, batch_size=4, seed=2, fills=fills)
    (image, valid), target = next(iter(stack_crops([scan], priors=[prior], **options)))
    # [fill, masked, fill -1, fill +1, prior, valid -1, valid +1]: after the intensities
    assert image.shape == (4, 16, 16, 7)
    np.testing.assert_allclose(image.numpy()[..., 4:5], 2.0 * target.numpy() + 1.0, rtol=1e-6)
    np.testing.assert_array_equal(image.numpy()[..., 1:2], image.numpy()[..., 0:1] * valid.numpy())
    (plain, _), _ = next(iter(stack_crops([scan], **options)))
    np.testing.assert_array_equal(plain.numpy(), np.delete(image.numpy(), 4, axis=-1))
    with pytest.raises(ValueError, match=r"Received priors\[0\]\.shape=\(40, 48\)"):
        stack_crops([scan], priors=[prior[:, 0]], **options)


def test_a_frame_stack_of_a_sequence_takes_each_frame_s_prior():
    T = 5
    fill = np.arange(T, dtype=np.float32)[:, None, None] * np.ones((T, 4, 4), np.float32)
    valid = np.ones((T, 4, 4), np.float32)
    image, _ = stack_sequence(fill, fill + 100, valid, radius=1, prior=fill + 50)
    assert image.shape == (T, 4, 4, 7)
    np.testing.assert_array_equal(image[2, 0, 0], [2, 102, 1, 3, 52, 1, 1])
    np.testing.assert_array_equal(image[0, 0, 0], [0, 100, 1, 1, 50, 1, 1])  # mirrored
    plain, _ = stack_sequence(fill, fill + 100, valid, radius=1)
    np.testing.assert_array_equal(plain, np.delete(image, 4, axis=-1))
