import pytest

from xinpaint import profiles
from xinpaint.profiles import PROFILES, default_profile, get_profile


def test_get_profile_by_name_and_passthrough():
    smoke = get_profile("smoke")
    assert smoke.name == "smoke"
    assert get_profile(smoke) is smoke


def test_unknown_profile_names_the_value():
    with pytest.raises(ValueError, match=r"Received profile='laptop'"):
        get_profile("laptop")


@pytest.mark.parametrize(
    "field",
    ["n_frames", "crop_size", "batch_size", "total_steps", "base_filters", "max_eval_frames"],
)
def test_profiles_grow_from_smoke_to_gpu(field):
    values = [getattr(PROFILES[name], field) for name in profiles.ORDER]
    assert values == sorted(values) and values[0] < values[-1]


@pytest.mark.parametrize("name", profiles.ORDER)
def test_sizes_fit_the_unet(name):
    prof = PROFILES[name]
    assert prof.crop_size % 2**prof.depth == 0
    t, h, w = prof.patch_shape
    assert h % 2**prof.depth == 0 and w % 2**prof.depth == 0
    assert t <= prof.n_frames
    assert all(s >= prof.crop_size for s in prof.detector_shape)
    assert set(prof.n_sequences) == {"train", "val", "test"}


def test_replace_and_as_dict():
    prof = get_profile("smoke").replace(epochs=7)
    assert prof.epochs == 7 and prof.total_steps == 7 * prof.steps_per_epoch
    assert get_profile("smoke").epochs != 7
    assert prof.as_dict()["epochs"] == 7


def test_default_profile_follows_the_gpus(monkeypatch):
    import xinpaint.system

    monkeypatch.setattr(xinpaint.system, "visible_gpus", lambda: [])
    assert default_profile() == "cpu"
    monkeypatch.setattr(xinpaint.system, "visible_gpus", lambda: ["NVIDIA H100"])
    assert default_profile() == "gpu"


@pytest.mark.parametrize("value", ["yes", 1, None])
def test_xla_2d_is_true_false_or_auto(value):
    with pytest.raises(ValueError, match=rf"^Expected xla_2d True, False or 'auto'\. Received xla_2d={value!r}\.$"):
        get_profile("cpu").replace(xla_2d=value)
    assert get_profile("cpu").xla_2d is True and get_profile("smoke").xla_2d == "auto"
