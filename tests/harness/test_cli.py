"""``python -m xinpaint.harness``: a cpu execution restores the recorded runs and saves new ones."""



from tests.harness.helpers import chapter_md, fake_finished_run
from xinpaint import harness


def test_cpu_execution_restores_the_recorded_runs_and_saves_the_new_ones(tiny_book, tmp_path,
                                                                          monkeypatch):
    runs = tmp_path / "machine-runs"
    monkeypatch.setenv("XINPAINT_RUNS", str(runs))
    recorded = tiny_book / "results" / "cpu" / "runs"
    fake_finished_run(recorded / "old-lr0.001-cpu", "k1")
    # The chapter finds the recorded run where training looks, and finishes a new one.
    body = ("import json, os, pathlib; r = pathlib.Path(os.environ['XINPAINT_RUNS']); "
            "assert (r / 'old-lr0.001-cpu' / 'final.keras').read_bytes() == b'model'; "
            "n = r / 'new-lr0.001-cpu'; n.mkdir(); "
            "[(n / f).write_text(json.dumps({'key': 'k2'})) for f in ('config.json', 'done.json', "
            "'progress.json')]; (n / 'final.keras').write_bytes(b'new')")
    (tiny_book / "book" / "good.md").write_text(chapter_md("good", body))
    assert harness.main(["--root", str(tiny_book), "execute", "--profile", "cpu", "good"]) == 0
    assert (recorded / "new-lr0.001-cpu" / "final.keras").read_bytes() == b"new"
    assert not (recorded / "new-lr0.001-cpu" / "best.keras").exists()
    # --retrain: nothing restored, so the chapter does not find the recorded run.
    for folder in runs.iterdir():
        for f in folder.iterdir():
            f.unlink()
        folder.rmdir()
    assert harness.main(["--root", str(tiny_book), "execute", "--profile", "cpu", "--retrain",
                         "good"]) == 1
    # The runs command alone.
    assert harness.main(["--root", str(tiny_book), "runs", "restore", "--profile", "cpu"]) == 0
    assert sorted(p.name for p in runs.iterdir()) == ["new-lr0.001-cpu", "old-lr0.001-cpu"]
