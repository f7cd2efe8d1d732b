"""Figures of reconstructed volumes (xinpaint.plotting.volumes): layout, windows, differences."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

from xinpaint.plotting.volumes import (
    WINDOWS,
    plot_domains,
    slice_grid,
    slices_through,
    window_limits,
)


def _views(n, rng):
    volumes = {f"m{i}": rng.normal(0, 100, (12, 10, 8)).astype(np.float32) for i in range(n)}
    return volumes, {name: slices_through(v, (3, 4, 5)) for name, v in volumes.items()}


def test_window_limits():
    assert window_limits(*WINDOWS["soft tissue"]) == (-160.0, 240.0)
    assert window_limits(*WINDOWS["bone"]) == (-500.0, 1500.0)
    with pytest.raises(ValueError, match="positive window width"):
        window_limits(0, 40)


def test_slices_through_the_point(rng):
    volume = rng.normal(size=(12, 10, 8))
    s = slices_through(volume, (3, 4, 5))
    np.testing.assert_array_equal(s["axial"], volume[:, :, 5])
    np.testing.assert_array_equal(s["coronal"], volume[:, 4, :])
    assert s["axial"].shape == (12, 10) and s["coronal"].shape == (12, 8)
    with pytest.raises(ValueError, match=r"inside the volume of shape \(12, 10, 8\)"):
        slices_through(volume, (3, 10, 5))
    with pytest.raises(ValueError, match="an \\(X, Y, Z\\) volume"):
        slices_through(volume[0], (0, 0, 0))


def test_slice_grid_wraps_volumes_into_blocks_of_two_rows(rng):
    _, views = _views(7, rng)
    metal = {"axial": np.zeros((12, 10), bool), "coronal": np.zeros((12, 8), bool)}
    metal["axial"][4:6, 4:6] = True
    fig = slice_grid(views, window=WINDOWS["soft tissue"], ncols=3, metal=metal)
    panels = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
    assert len(panels) == 2 * 3 * 3  # three blocks of (axial, coronal) rows, 3 columns
    shown = [ax for ax in panels if ax.images]
    assert len(shown) == 14 and not any(ax.axison for ax in panels if not ax.images)
    titles = [ax.get_title() for ax in shown if ax.get_title()]
    assert titles == [f"m{i}" for i in range(7)]
    assert all(ax.images[0].get_clim() == (-160.0, 240.0) for ax in shown)
    # the image is the slice transposed: x horizontal
    np.testing.assert_array_equal(shown[0].images[0].get_array(), views["m0"]["axial"].T)
    assert len(fig.axes) == len(panels) + 1  # one colour bar
    assert shown[0].collections  # the metal outline, on the axial panels where it shows
    plt.close(fig)


def test_slice_grid_differences(rng):
    _, views = _views(2, rng)
    reference = views.pop("m0")
    fig = slice_grid(views, reference=reference, limit=150)
    shown = [ax for ax in fig.axes if ax.images]
    assert len(shown) == 2
    assert shown[0].images[0].get_clim() == (-150.0, 150.0)
    np.testing.assert_allclose(shown[1].images[0].get_array(),
                               (views["m1"]["coronal"] - reference["coronal"]).T)
    plt.close(fig)


def test_slice_grid_errors(rng):
    _, views = _views(2, rng)
    with pytest.raises(ValueError, match="exactly one of window"):
        slice_grid(views)
    with pytest.raises(ValueError, match="exactly one of window"):
        slice_grid(views, window=(400, 40), reference=views["m0"])
    with pytest.raises(ValueError, match="at least one volume"):
        slice_grid({}, window=(400, 40))
    bad = dict(views, m1={"axial": np.zeros((5, 5)), "coronal": views["m1"]["coronal"]})
    with pytest.raises(ValueError, match=r"axial slices of shape \(12, 10\). Received \(5, 5\) for 'm1'"):
        slice_grid(bad, window=(400, 40))
    with pytest.raises(ValueError, match="metal slices for every volume"):
        slice_grid(views, window=(400, 40), metal={"m0": views["m0"]})


def test_plot_domains_orders_by_holes_and_ranks_the_volume():
    rows = [{"method": "a", "hole_psnr": 40.0, "volume_psnr": 30.0},
            {"method": "b", "hole_psnr": 42.0, "volume_psnr": 29.0},
            {"method": "c", "hole_psnr": 35.0, "volume_psnr": 31.0},
            {"method": "bound", "hole_psnr": 50.0, "volume_psnr": None}]
    fig = plot_domains(rows, marked=["c"])
    left, right = fig.axes
    names = [t.get_text() for t in left.get_yticklabels()]
    assert names == ["c", "a", "b"]  # bottom to top: best in the holes on top
    assert [t.get_text() for t in right.texts] == ["#1", "#2", "#3"]  # c, a, b in the volume
    assert [p.get_width() for p in right.patches] == [31.0, 30.0, 29.0]
    plt.close(fig)
    with pytest.raises(ValueError, match="finite 'hole_psnr' and 'volume_psnr'"):
        plot_domains(rows[3:])
