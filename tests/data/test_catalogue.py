"""The clinical metal catalogue: real sizes, materials, and places in the chest."""

import numpy as np
import pytest

from xinpaint.data import catalogue as cat


@pytest.fixture(scope="module")
def anatomy(ct):
    f = 2
    spacing = (ct.spacing[0] * f, ct.spacing[1] * f, ct.spacing[2])
    z_top = (ct.hu.shape[2] - 1) * spacing[2]
    return cat.Anatomy(ct.labels[::f, ::f], ct.label_names, ct.hu[::f, ::f] > -500, spacing,
                       (0.5 * z_top + 20, z_top - 20))


def test_directions_come_from_the_labels(anatomy):
    spine = anatomy.points("vertebrae_").mean(axis=0)
    sternum = anatomy.points("sternum").mean(axis=0)
    assert (sternum - spine) @ anatomy.anterior > 50  # the sternum is anterior, by ~10 cm
    left = anatomy.points("rib_left").mean(axis=0) - anatomy.points("rib_right").mean(axis=0)
    assert left @ anatomy.left > 100 and abs(anatomy.left @ anatomy.anterior) < 1e-9


def test_a_fusion_has_screws_in_pairs_in_vertebral_bodies_and_two_rods(anatomy):
    objects = cat.sample_metal(np.random.default_rng(0), anatomy, metal="fusion")
    screws = [o for o in objects if o.kind == "pedicle_screw"]
    rods = [o for o in objects if o.kind == "spinal_rod"]
    assert len(screws) % 2 == 0 and 6 <= len(screws) <= 10 and len(rods) == 2
    for s in screws:
        assert s.material == "titanium" and 5 <= s.info["diameter_mm"] <= 7
        assert 35 <= s.info["length_mm"] <= 50
        tip = np.asarray(s.parts[0].centre) + np.asarray(s.parts[0].axes[0]) * s.parts[0].size[1] / 2
        assert anatomy.inside(tip[None])[0]
    for r in rods:
        assert r.material in ("titanium", "cocr") and 80 <= r.info["length_mm"] <= 150
        assert r.parts[0].size[0] == pytest.approx(2.75)


@pytest.mark.parametrize("scenario", cat.SCENARIOS)
def test_every_scenario_is_placed_and_deterministic(anatomy, scenario):
    a = cat.sample_metal(np.random.default_rng(3), anatomy, metal=scenario)
    b = cat.sample_metal(np.random.default_rng(3), anatomy, metal=scenario)
    assert a and [o.as_dict() for o in a] == [o.as_dict() for o in b]
    internal = [o for o in a if not o.kind.startswith("ecg")]
    assert anatomy.inside(np.array([o.centre for o in internal])).mean() >= 0.5
    assert all(o.density > 0 for o in a)


def test_the_pacemaker_can_is_the_size_of_one(anatomy):
    objects = cat.sample_metal(np.random.default_rng(2), anatomy, metal="pacemaker")
    can = next(o for o in objects if o.kind == "pacemaker_can")
    assert can.material == "titanium" and can.parts[0].size == (50.0, 45.0, 7.0)
    assert any(o.kind == "pacemaker_lead" for o in objects)
    assert (np.asarray(can.centre) - anatomy.centre) @ anatomy.left > 30  # the left chest


def test_default_draws_a_scenario_and_extras(anatomy):
    kinds = set()
    for seed in range(12):
        kinds |= {o.kind for o in cat.sample_metal(np.random.default_rng(seed), anatomy)}
    assert {"pedicle_screw", "sternal_wire", "coil"} & kinds and len(kinds) >= 6


def test_unknown_kind_and_missing_anatomy_are_named(anatomy):
    with pytest.raises(ValueError, match=r"Received metal=\{'bolt': 1\}"):
        cat.sample_metal(np.random.default_rng(0), anatomy, metal={"bolt": 1})
    caudal = cat.Anatomy(anatomy.labels, anatomy.names, anatomy.body, anatomy.spacing, (0.0, 60.0))
    with pytest.raises(ValueError, match="No place for sternal wires"):
        cat.sample_metal(np.random.default_rng(0), caudal, metal="sternotomy")
