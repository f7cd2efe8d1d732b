import numpy as np
import pytest

from xinpaint.data import (
    crops_2d,
    extract_patches,
    load_split,
    patches_3d,
    random_masks_2d,
    stitch_patches,
)


def test_patches_round_trip_and_constant_stitch(rng):
    volume = rng.random((10, 40, 36))
    patches, positions = extract_patches(volume, patch_shape=(4, 16, 16), stride=(3, 10, 10))
    np.testing.assert_allclose(stitch_patches(patches, positions, volume.shape), volume)
    constant = np.full_like(patches, 0.37)
    np.testing.assert_allclose(stitch_patches(constant, positions, volume.shape), 0.37)


def test_min_hole_fraction_keeps_windows_with_holes(rng):
    holes = np.zeros((8, 32, 32), bool)
    holes[:, :8, :8] = True
    _, positions = extract_patches(holes, patch_shape=(8, 16, 16), stride=(8, 16, 16),
                                   holes=holes, min_hole_fraction=0.05)
    assert positions == [(0, 0, 0)]


def test_patch_arguments_are_checked():
    with pytest.raises(ValueError, match=r"Received patch_shape=\(4, 4\)"):
        extract_patches(np.zeros((4, 8, 8)), patch_shape=(4, 4), stride=(1, 1))
    with pytest.raises(ValueError, match=r"stride=\(1, 0, 1\)"):
        extract_patches(np.zeros((4, 8, 8)), patch_shape=(2, 4, 4), stride=(1, 0, 1))


def test_random_masks_are_deterministic_and_bounded():
    a = random_masks_2d((64, 48), n=5, seed=3)
    np.testing.assert_array_equal(a, random_masks_2d((64, 48), n=5, seed=3))
    assert a.dtype == bool and a.shape == (5, 64, 48)
    assert all(m.any() and m.mean() < 0.6 for m in a)
    with pytest.raises(ValueError, match=r"Received shape=\(4, 64\)"):
        random_masks_2d((4, 64))


def test_pipelines_yield_keras_batches(small_sequence):
    seqs = [small_sequence]
    (image, valid), target = next(iter(crops_2d(seqs, crop_size=32, batch_size=3, seed=1)))
    assert image.shape == (3, 32, 32, 1) and valid.shape == target.shape == (3, 32, 32, 1)
    np.testing.assert_array_equal(image.numpy(), (target * valid).numpy())
    assert (valid.numpy() == 0).any()  # crops are drawn around holes
    again = next(iter(crops_2d(seqs, crop_size=32, batch_size=3, seed=1)))
    np.testing.assert_array_equal(again[1].numpy(), target.numpy())
    fills = [small_sequence.frames.copy()]
    (image, valid), target = next(iter(patches_3d(seqs, patch_shape=(4, 32, 32), batch_size=2,
                                                  fills=fills)))
    assert image.shape == (2, 4, 32, 32, 2) and target.shape == (2, 4, 32, 32, 1)
    with pytest.raises(ValueError, match=r"Received crop_size=128"):
        crops_2d(seqs, crop_size=128, batch_size=2)


def test_split_is_cached_and_deterministic(tmp_path, monkeypatch):
    import xinpaint.data.datasets as ds
    from xinpaint.profiles import get_profile

    monkeypatch.setattr(ds, "data_dir", lambda: tmp_path)  # sequences cached here
    prof = get_profile("smoke").replace(n_frames=3, detector_shape=(64, 64),
                                        n_sequences={"train": 1, "val": 1, "test": 1})
    first = load_split("test", profile=prof)
    assert len(list((tmp_path / "sequences").glob("test-*.npz"))) == 1
    second = load_split("test", profile=prof)
    np.testing.assert_array_equal(first[0].frames, second[0].frames)
    np.testing.assert_array_equal(first[0].holes, second[0].holes)
    assert [m.kind for m in first[0].metal] == [m.kind for m in second[0].metal]
    train = load_split("train", profile=prof)
    assert not np.array_equal(train[0].frames, first[0].frames)  # other anatomy
    with pytest.raises(ValueError, match=r"Received split='dev'"):
        load_split("dev", profile=prof)


def test_crops_are_drawn_per_hole_component_not_per_pixel():
    # One 30×30 hole and one 1-pixel-wide line of 30 pixels: drawn per pixel, 97 % of the
    # crops would centre on the big hole; drawn per component, about half centre on each.
    from xinpaint.data.datasets import _windows
    from xinpaint.data.sequence import XraySequence

    holes = np.zeros((1, 128, 128), bool)
    holes[0, 10:40, 10:40] = True
    holes[0, 80:110, 100] = True
    frames = np.random.default_rng(0).random((1, 128, 128)).astype(np.float32)
    seq = XraySequence(frames, holes, np.zeros(1), np.zeros_like(holes))
    (_, valid), _ = next(_windows([seq], None, (1, 16, 16), np.random.default_rng(1), 400, False))
    around_line = (valid.mean(axis=(1, 2, 3, 4)) > 0.8).mean()
    assert 0.3 < around_line < 0.7


def test_frame_blocks_spread_over_every_scan():
    from xinpaint.data import frame_blocks
    from xinpaint.data.sequence import XraySequence

    def scan(n, seed):
        holes = np.zeros((n, 16, 16), bool)
        holes[:, 4:6, 4:6] = True
        return XraySequence(np.full((n, 16, 16), seed, np.float32), holes, np.arange(n, dtype=float),
                            np.zeros_like(holes), seed=seed)

    blocks = frame_blocks([scan(201, 1), scan(201, 2)], max_frames=64, block=16)
    assert [len(b) for b in blocks] == [16] * 4 and sum(len(b) for b in blocks) == 64
    first = [b.angles for b in blocks if b.seed == 1]
    assert len(first) == 2 and first[0][0] > 30 and first[1][-1] < 170  # centred at 1/4 and 3/4
    assert all(np.array_equal(np.diff(b.angles), np.ones(15)) for b in blocks)  # contiguous
    np.testing.assert_array_equal(blocks[2].target, 2.0)
    assert blocks[0].geometry is None
    small = frame_blocks([scan(26, 1)], max_frames=8)
    assert len(small) == 1 and list(small[0].angles) == list(range(9, 17))
    with pytest.raises(ValueError, match=r"Received max_frames=0"):
        frame_blocks([scan(5, 1)], max_frames=0)
    with pytest.raises(ValueError, match=r"Received start=3, stop=2"):
        scan(5, 1).frames_between(3, 2)


def test_stack_channels_put_the_centre_first_then_the_neighbours():
    from xinpaint.data import stack_channels, stack_sequence

    T, H, W = 5, 4, 4
    fill = np.arange(T, dtype=np.float32)[:, None, None] * np.ones((T, H, W), np.float32)
    masked = fill + 100
    valid = np.zeros((T, H, W), np.float32)
    valid[::2] = 1
    image, centre = stack_sequence(fill, masked, valid, radius=1)
    assert image.shape == (T, H, W, 6) and centre.shape == (T, H, W, 1)
    # frame 2: [fill 2, masked 2, fill 1, fill 3, valid 1, valid 3]
    np.testing.assert_array_equal(image[2, 0, 0], [2, 102, 1, 3, 0, 0])
    # frame 0, mirrored: neighbours are frame 1 on both sides
    np.testing.assert_array_equal(image[0, 0, 0], [0, 100, 1, 1, 0, 0])
    np.testing.assert_array_equal(centre[..., 0], valid)
    with pytest.raises(ValueError, match=r"2 \* radius \+ 1 = 5 frames"):
        stack_channels(np.zeros((3, 4, 4, 2)), np.zeros((3, 4, 4, 1)), radius=2)


def test_stack_crops_centre_on_holes_with_their_neighbours(rng):
    from xinpaint.data import stack_crops
    from xinpaint.data.sequence import XraySequence

    frames = rng.random((6, 32, 32)).astype(np.float32)
    holes = np.zeros(frames.shape, bool)
    holes[:, 10:14, 10:20] = True
    seq = XraySequence(frames, holes, np.arange(6, dtype=float), np.zeros_like(holes))
    fill = np.where(holes, 0.5, frames).astype(np.float32)
    (image, valid), target = next(iter(stack_crops([seq], crop_size=16, radius=1, batch_size=4,
                                                   fills=[fill], augment=False)))
    image, valid, target = (np.asarray(t) for t in (image, valid, target))
    assert image.shape == (4, 16, 16, 6) and valid.shape == target.shape == (4, 16, 16, 1)
    assert (valid == 0).any(axis=(1, 2, 3)).all()  # every crop holds a hole
    np.testing.assert_array_equal(image[..., 1:2] * (1 - valid), 0)  # masked: holes at 0
    with pytest.raises(ValueError, match="Received fills=None"):
        stack_crops([seq], crop_size=16, radius=1, batch_size=4, fills=None)
