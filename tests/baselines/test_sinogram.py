"""Tests of xinpaint.baselines.sinogram: frame methods applied to each detector row's sinogram."""

from __future__ import annotations

import re

import numpy as np
import pytest

from xinpaint.baselines import inpaint, inpaint_sinograms, is_classical, sinogram_name

T, H, W = 24, 6, 32


def moving_coin(radius=3.0):
    """Holes of a coin whose trace moves along the columns with the angle (a band in each
    sinogram, away from its first and last angles), and a smooth field of the angle, the
    row and the column."""
    t, v, u = np.meshgrid(np.arange(T), np.arange(H), np.arange(W), indexing="ij")
    centre = 16 + 8 * np.sin(2 * np.pi * t / T)
    holes = ((u - centre) ** 2 + (v - 2.5) ** 2 <= radius**2) & (t >= 3) & (t < T - 3)
    field = 0.3 + 0.1 * np.sin(t / 5.0) * np.cos(u / 7.0) + 0.02 * v
    return field.astype(np.float32), holes


@pytest.mark.parametrize("method", ["biharmonic", "nearest", "linear"])
def test_each_detector_row_is_filled_as_a_frame_of_angles_by_columns(method):
    frames, holes = moving_coin()
    out = inpaint_sinograms(np.where(holes, 0, frames), holes, method=method)
    for v in range(H):  # the reference: the method on the (T, W) sinogram of row v
        expected = inpaint(np.where(holes[:, v], 0, frames[:, v]), holes[:, v], method=method)
        np.testing.assert_array_equal(out[:, v], expected)


def test_a_field_linear_in_angle_and_column_is_recovered_and_visible_pixels_are_kept():
    t, v, u = np.meshgrid(np.arange(T), np.arange(H), np.arange(W), indexing="ij")
    frames = (0.2 + 0.01 * t - 0.005 * u + 0.03 * v).astype(np.float32)
    _, holes = moving_coin()
    observed = np.where(holes, np.nan, frames)  # hidden values never reach the method
    out = inpaint_sinograms(observed, holes)
    assert out.dtype == np.float32 and out.shape == frames.shape
    np.testing.assert_array_equal(out[~holes], frames[~holes])
    assert np.abs(out[holes] - frames[holes]).max() < 1e-5


def test_the_sinogram_plane_sees_the_other_angles_where_the_frame_does_not():
    # A small bright detail that stays put while a coin crosses it (one column per
    # angle): the neighbouring angles see it, one projection alone does not.
    t, v, u = np.meshgrid(np.arange(T), np.arange(H), np.arange(W), indexing="ij")
    frames = (0.3 + 0.2 * np.exp(-((u - 16) ** 2 + (v - 2.5) ** 2) / 2.0)).astype(np.float32)
    holes = (u - 16 - (t - T / 2)) ** 2 + (v - 2.5) ** 2 <= 2.0**2
    observed = np.where(holes, 0, frames)
    err_sino = np.abs(inpaint_sinograms(observed, holes) - frames)[holes].mean()
    err_frame = np.abs(inpaint(observed, holes, method="biharmonic") - frames)[holes].mean()
    assert err_sino < 0.5 * err_frame


def test_rowwise_interpolates_along_the_detector_row_in_either_plane():
    frames, holes = moving_coin()
    observed = np.where(holes, 0, frames)
    np.testing.assert_array_equal(inpaint_sinograms(observed, holes, method="rowwise"),
                                  inpaint(observed, holes, method="rowwise"))


def test_names_of_the_sinogram_plane_fills_are_classical():
    assert sinogram_name("biharmonic") == "biharmonic (sinogram plane)"
    assert is_classical(sinogram_name("biharmonic")) and is_classical(sinogram_name("rowwise"))
    assert not is_classical("hybrid 2D (sinogram plane)")


@pytest.mark.parametrize(("kwargs", "message"), [
    (dict(frames=np.zeros((H, W)), holes=np.zeros((H, W), bool)),
     "Expected a sequence of shape (T, H, W): the sinogram of a detector row spans the angles. "
     "Received frames.shape=(6, 32)."),
    (dict(method="temporal"),
     "Expected a frame method for the sinograms: one of nearest, linear, rowwise, biharmonic, telea, "
     "navier-stokes. Received method='temporal'."),
    (dict(holes=np.zeros((T, H, W), np.uint8)),
     "Expected boolean holes (True where metal hides a pixel). Received holes.dtype=uint8."),
])
def test_bad_input_names_the_argument_and_the_value(kwargs, message):
    frames, holes = moving_coin()
    args = {"frames": frames, "holes": holes, **kwargs}
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        inpaint_sinograms(args.pop("frames"), args.pop("holes"), **args)


def test_one_frame_is_filled_along_each_detector_row():
    # The evaluation runner warms a method up on one frame: each sinogram is then one row.
    frames, holes = moving_coin()
    one, hole = frames[5:6], holes[5:6]
    out = inpaint_sinograms(np.where(hole, 0, one), hole)
    for v in range(H):
        if hole[0, v].any():
            expected = inpaint(np.where(hole[:, v], 0, one[:, v]), hole[:, v], method="biharmonic")
            np.testing.assert_array_equal(out[:, v], expected)
    np.testing.assert_array_equal(out[~hole], one[~hole])


def test_a_detector_row_hidden_at_every_angle_is_refused():
    frames, holes = moving_coin()
    holes[:, 4, :] = True
    with pytest.raises(ValueError, match=re.escape(
            "Expected every detector row to have a visible pixel at some angle. "
            "Received holes[:, 4, :].all()=True.")):
        inpaint_sinograms(frames, holes)
