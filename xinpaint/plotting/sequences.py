"""Figures of sequences: a frame strip with the holes outlined, and an animation."""

from __future__ import annotations

import numpy as np

from xinpaint.chapter import CMAP_IMAGE

__all__ = ["animate_sequence", "frame_strip"]


def frame_strip(sequence, *, frames: int = 6, ribs: bool = False, axes=None):
    """Evenly spaced frames of a sequence with the holes outlined in red (ribs in cyan).

    Returns the matplotlib figure.
    """
    import matplotlib.pyplot as plt

    picks = np.linspace(0, len(sequence) - 1, min(frames, len(sequence))).round().astype(int)
    if axes is None:
        fig, axes = plt.subplots(1, len(picks), figsize=(1.6 * len(picks), 1.9), squeeze=False)
        axes = axes[0]
    fig = axes[0].figure
    for ax, t in zip(axes, picks, strict=False):
        ax.imshow(sequence.frames[t], cmap=CMAP_IMAGE, vmin=0, vmax=1)
        ax.contour(sequence.holes[t], levels=[0.5], colors="#d62728", linewidths=0.8)
        if ribs:
            ax.contour(sequence.ribs[t], levels=[0.5], colors="#17becf", linewidths=0.4)
        ax.set_title(f"{sequence.angles[t]:+.0f}°", fontsize=8)
        ax.set_axis_off()
    fig.tight_layout()
    return fig


def animate_sequence(sequence, *, interval: int = 150, size: float = 3.0):
    """An HTML/JavaScript animation of the sequence with its holes in red (for notebooks)."""
    import matplotlib.pyplot as plt
    from matplotlib import animation

    fig, ax = plt.subplots(figsize=(size, size))
    rgb = np.repeat(sequence.frames[..., None], 3, axis=-1)
    rgb[sequence.holes] = (0.84, 0.15, 0.16)
    image = ax.imshow(rgb[0])
    title = ax.set_title(f"frame 0, {sequence.angles[0]:+.1f}°", fontsize=9)
    ax.set_axis_off()

    def update(t):
        image.set_data(rgb[t])
        title.set_text(f"frame {t}, {sequence.angles[t]:+.1f}°")
        return image, title

    anim = animation.FuncAnimation(fig, update, frames=len(sequence), interval=interval, blit=False)
    html = anim.to_jshtml(default_mode="loop")
    plt.close(fig)
    return html
