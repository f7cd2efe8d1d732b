"""Figures of the realistic scans: spectrum and attenuation, sinograms, the metal catalogue."""

from __future__ import annotations

import numpy as np

from xinpaint.chapter import CMAP_IMAGE

__all__ = ["catalogue_gallery", "plot_physics", "plot_sinograms", "sinogram_row"]


def plot_physics(xray):
    """The tube spectrum and its bins, the materials' attenuation, and the water correction."""
    import matplotlib.pyplot as plt

    from xinpaint.data.physics import MATERIALS, linear_attenuation, polychromatic_log

    full, binned = xray.full_spectrum, xray.spectrum
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.2))
    axes[0].plot(full.energies, full.weights, color="#555", lw=1, label="spekpy, 1 keV bins")
    axes[0].vlines(binned.energies, 0, binned.weights * full.weights.max() / binned.weights.max(),
                   color="#d62728", lw=2, label=f"{len(binned)} equal-photon bins (scaled)")
    axes[0].set_xlabel("energy (keV)")
    axes[0].set_ylabel("photon fraction")
    axes[0].legend(fontsize=7)
    axes[0].set_title(f"{full.kvp:g} kVp, " + " + ".join(f"{mm:g} mm {el}" for el, mm in full.filters),
                      fontsize=9)
    e = np.linspace(max(15.0, full.energies.min()), full.energies.max(), 120)
    for name in MATERIALS:
        axes[1].semilogy(e, linear_attenuation(name, e), label=name, lw=1)
    axes[1].set_xlabel("energy (keV)")
    axes[1].set_ylabel("μ (1/mm)")
    axes[1].legend(fontsize=6, ncol=2)
    thickness = np.linspace(0, 400, 81)
    p = polychromatic_log(binned, {"water": thickness})
    axes[2].plot(thickness, p, label="measured log (beam hardening)")
    axes[2].plot(thickness, xray.correction(p), label="after the water correction")
    axes[2].plot(thickness, xray.mu_water * thickness, "k:", lw=1, label="μ_water · L")
    axes[2].set_xlabel("water (mm)")
    axes[2].set_ylabel("line integral")
    axes[2].legend(fontsize=7)
    fig.tight_layout()
    return fig


def sinogram_row(sequence) -> int:
    """The detector row with the most hidden pixels over all frames (through the metal)."""
    return int(np.argmax(sequence.holes.sum(axis=(0, 2))))


def plot_sinograms(ideal, realistic, *, row: int | None = None):
    """One detector row over all angles: ideal against realistic, and the realistic errors."""
    import matplotlib.pyplot as plt

    row = sinogram_row(realistic) if row is None else row
    extent = (0, realistic.target.shape[2], realistic.angles[-1], realistic.angles[0])
    panels = [
        ("ideal: observed", ideal.observed[:, row], (0, 1)),
        ("realistic: target (no metal, no noise)", realistic.target[:, row], (0, 1)),
        ("realistic: observed", realistic.observed[:, row], (0, 1)),
        ("realistic: observed − target", realistic.observed[:, row] - realistic.target[:, row], None),
    ]
    fig, axes = plt.subplots(1, 4, figsize=(12, 3.6))
    for ax, (title, image, limits) in zip(axes, panels, strict=True):
        if limits is None:
            lim = max(float(np.quantile(np.abs(image), 0.995)), 1e-3)
            shown = ax.imshow(image, cmap="RdBu_r", vmin=-lim, vmax=lim, extent=extent, aspect="auto")
            fig.colorbar(shown, ax=ax, fraction=0.046)
        else:
            ax.imshow(image, cmap=CMAP_IMAGE, vmin=limits[0], vmax=limits[1], extent=extent, aspect="auto")
        ax.set_title(title, fontsize=8)
        ax.set_xlabel("detector column")
    axes[0].set_ylabel("gantry angle (°)")
    fig.tight_layout()
    return fig


def catalogue_gallery(scans: dict, *, frame: int | None = None):
    """One observed frame of a scan per scenario, holes outlined, with the objects' kinds."""
    import matplotlib.pyplot as plt

    n = len(scans)
    fig, axes = plt.subplots(1, n, figsize=(2.3 * n, 2.8), squeeze=False)
    for ax, (name, seq) in zip(axes[0], scans.items(), strict=True):
        t = int(np.argmax(seq.holes.sum(axis=(1, 2)))) if frame is None else frame
        ax.imshow(seq.observed[t], cmap=CMAP_IMAGE, vmin=0, vmax=1)
        ax.contour(seq.holes[t], levels=[0.5], colors="#d62728", linewidths=0.5)
        kinds = sorted({m.kind.replace("_", " ") for m in seq.metal})
        ax.set_title(name.replace("_", " "), fontsize=9)
        ax.set_xlabel("\n".join(kinds[:4]), fontsize=6)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    return fig
