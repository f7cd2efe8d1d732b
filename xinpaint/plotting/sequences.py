"""Figures of sequences: a frame strip with the holes outlined, and an animation."""

from __future__ import annotations

import numpy as np

from xinpaint.chapter import CMAP_IMAGE

__all__ = ["animate_sequence", "frame_strip"]


def frame_strip(sequence, *, frames: int = 6, ribs: bool = False, axes=None, image: str = "observed"):
    """Evenly spaced frames of a sequence with the holes outlined in red (ribs in cyan).

    ``image`` names the array shown: ``"observed"`` (what the detector gives, the
    default) or ``"target"`` (metal-free, noise-free). Returns the matplotlib figure.
    """
    import matplotlib.pyplot as plt

    picks = np.linspace(0, len(sequence) - 1, min(frames, len(sequence))).round().astype(int)
    if axes is None:
        fig, axes = plt.subplots(1, len(picks), figsize=(1.6 * len(picks), 1.9), squeeze=False)
        axes = axes[0]
    fig = axes[0].figure
    for ax, t in zip(axes, picks, strict=False):
        ax.imshow(getattr(sequence, image, sequence.frames)[t], cmap=CMAP_IMAGE, vmin=0, vmax=1)
        ax.contour(sequence.holes[t], levels=[0.5], colors="#d62728", linewidths=0.8)
        if ribs:
            ax.contour(sequence.ribs[t], levels=[0.5], colors="#17becf", linewidths=0.4)
        ax.set_title(f"{sequence.angles[t]:+.0f}°", fontsize=8)
        ax.set_axis_off()
    fig.tight_layout()
    return fig


def animate_sequence(sequence, *, interval: int = 150, size: int = 192, max_frames: int = 50) -> str:
    """An animated GIF of the sequence with its holes in red, as an HTML ``<img>``.

    The GIF is embedded (base64), so the page needs nothing from the network, and the
    image carries alt text for readers who cannot see it. A scan of more than
    ``max_frames`` frames is shown at evenly spaced frames (a 201-frame short scan at
    every fourth), so that the page stays small.
    """
    import base64
    import io

    from PIL import Image

    picks = np.unique(np.linspace(0, len(sequence) - 1, min(len(sequence), max_frames)).round().astype(int))
    frames = np.clip(getattr(sequence, "observed", sequence.frames)[picks], 0, 1)
    rgb = np.repeat((frames * 255).astype(np.uint8)[..., None], 3, axis=-1)
    rgb[sequence.holes[picks]] = (214, 39, 40)
    images = [Image.fromarray(f).resize((size, size * f.shape[0] // f.shape[1]), Image.NEAREST)
              for f in rgb]
    buffer = io.BytesIO()
    images[0].save(buffer, format="GIF", save_all=True, append_images=images[1:],
                   duration=interval, loop=0)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    alt = (f"Animation of {len(picks)} of {len(sequence)} frames from {sequence.angles[0]:+.0f} to "
           f"{sequence.angles[-1]:+.0f} degrees, metal holes in red")
    return f'<img src="data:image/gif;base64,{data}" alt="{alt}" width="{size}">'
