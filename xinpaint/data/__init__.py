"""Simulated C-arm scans from a real chest CT: the data of the study.

Public API: :func:`fetch_example_ct`, :func:`load_ct`, :class:`CTVolume`,
:class:`CArmGeometry`, :func:`simulate_sequence`, :class:`XraySequence`,
:class:`XrayPhysics` (:mod:`xinpaint.data.physics`), :class:`MetalObject` and
:class:`Part` (:mod:`xinpaint.data.metal`), :func:`sample_metal` and :class:`Anatomy`
(the clinical catalogue, :mod:`xinpaint.data.catalogue`), :func:`load_split`,
:func:`random_masks_2d`, :func:`extract_patches`, :func:`stitch_patches`,
:func:`crops_2d`, :func:`patches_3d`, :func:`stack_crops`, :func:`nmar_priors` and
:func:`with_nmar_priors` (the prior projections of the prior-guided models).
"""

from xinpaint.data.catalogue import Anatomy, sample_metal
from xinpaint.data.ct import CTVolume, data_dir, fetch_example_ct, load_ct
from xinpaint.data.datasets import (
    SPLITS,
    crops_2d,
    frame_blocks,
    load_split,
    patches_3d,
    split_z_centre,
    split_z_range,
    stack_channels,
    stack_crops,
    stack_radius,
    stack_sequence,
)
from xinpaint.data.geometry import CArmGeometry
from xinpaint.data.masks import metal_masks_2d, random_masks_2d
from xinpaint.data.metal import MetalObject, Part, trace_metal
from xinpaint.data.patches import extract_patches, patch_positions, stitch_patches
from xinpaint.data.physics import XrayPhysics
from xinpaint.data.priors import nmar_priors, with_nmar_priors
from xinpaint.data.sequence import XraySequence, simulate_sequence

__all__ = [
    "SPLITS",
    "Anatomy",
    "CArmGeometry",
    "CTVolume",
    "MetalObject",
    "Part",
    "XrayPhysics",
    "XraySequence",
    "crops_2d",
    "data_dir",
    "extract_patches",
    "fetch_example_ct",
    "frame_blocks",
    "load_ct",
    "load_split",
    "metal_masks_2d",
    "nmar_priors",
    "patch_positions",
    "patches_3d",
    "random_masks_2d",
    "sample_metal",
    "simulate_sequence",
    "split_z_centre",
    "split_z_range",
    "stack_channels",
    "stack_crops",
    "stack_radius",
    "stack_sequence",
    "stitch_patches",
    "trace_metal",
    "with_nmar_priors",
]
