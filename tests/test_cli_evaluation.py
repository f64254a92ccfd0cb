"""The ``evaluate``, ``predict``, ``fuse``, ``fuse-chunks``, ``export`` and ``import`` commands."""
import csv
import json
import subprocess
import sys

import numpy as np
import pytest

from rae_fast.cli import main
from rae_fast.dataset import DataSet, load, save

pytest.importorskip("torch")


def make_reps(path, n_files=30, chunks=2, d=12, n_folds=3, partitioned=True, labelled=True,
              seed=0):
    rng = np.random.default_rng(seed)
    n = n_files * chunks
    file_idx = np.arange(n) // chunks
    y = file_idx % 3
    X = (rng.standard_normal((n, d)) + 6 * np.eye(3, d)[y]).astype(np.float32)
    cv = np.zeros((n, n_folds), np.int8)
    if n_folds:
        cv[np.arange(n), (file_idx // 3) % n_folds] = 1
    part = ((file_idx // 3) % 3).astype(np.int8) if partitioned else None
    ds = DataSet(X, ("generated",), [f"{f:03d} - clip.wav" for f in file_idx],
                 chunk_nr=np.arange(n) % chunks,
                 label_nominal=[["dog", "cat", "rain"][c] for c in y] if labelled else None,
                 cv_folds=cv, partition=part)
    save(ds, path)
    return ds


@pytest.fixture()
def reps(tmp_path):
    path = tmp_path / "reps.nc"
    make_reps(path)
    return path


def test_evaluate_cross_validation_writes_all_outputs(reps, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    out = tmp_path / "o"
    rc = main(["evaluate", "--input", str(reps), "--cross-validate", "--classifier", "svm",
               "--json", str(out / "r.json"), "--csv", str(out / "cm.csv"),
               "--scores-csv", str(out / "scores.csv"),
               "--plot", str(out / "cm.png"), "--repeat", "2"])
    assert rc == 0
    text = capsys.readouterr().out
    assert "3-fold cross-validation, svm" in text and "confusion matrix" in text
    assert "cat" in text and "recall" in text
    result = json.loads((out / "r.json").read_text())
    assert result["n_repeats"] == 2 and result["n_splits"] == 3
    assert result["class_names"] == ["cat", "dog", "rain"] and result["accuracy"] > 0.9
    assert result["settings"]["input"] == str(reps)
    rows = list(csv.reader(open(out / "cm.csv")))
    assert rows[0] == ["true\\predicted", "cat", "dog", "rain"]
    assert sum(int(v) for r in rows[1:] for v in r[1:]) == 2 * 60
    assert (out / "cm.png").read_bytes()[:4] == b"\x89PNG"
    # the scores as CSV: accuracy, UAR and per-class recall, equal to the JSON's
    scores = list(csv.DictReader(open(out / "scores.csv")))
    assert [(r["metric"], r["class"]) for r in scores] == [
        ("accuracy", ""), ("uar", ""), ("recall", "cat"), ("recall", "dog"), ("recall", "rain")]
    assert float(scores[0]["value"]) == pytest.approx(result["accuracy"], rel=1e-8)
    assert float(scores[0]["std_over_repeats"]) == pytest.approx(result["accuracy_std"],
                                                                 abs=1e-9)
    assert float(scores[1]["std_over_splits"]) == pytest.approx(result["uar_split_std"],
                                                                abs=1e-9)
    for r in scores[2:]:
        assert float(r["value"]) == pytest.approx(result["per_class_recall"][r["class"]],
                                                  rel=1e-8)


def test_evaluate_mlp_partitions_majority_vote_brief(reps, capsys):
    rc = main(["evaluate", "--input", str(reps), "--train-partitions", "train", "devel",
               "--eval-partitions", "TEST", "--num-epochs", "200",
               "--majority-vote", "--upsample", "--brief", "--seed", "3"])
    assert rc == 0
    acc, uar = (float(v) for v in capsys.readouterr().out.strip().split(","))
    assert 0.9 <= acc <= 1.0 and 0.9 <= uar <= 1.0


@pytest.mark.parametrize("argv,message", [
    (["--cross-validate", "--train-partitions", "train", "--eval-partitions", "test"],
     "mutually exclusive"),
    ([], "choose --cross-validate"),
    (["--train-partitions", "train"], "choose --cross-validate"),
    (["--cross-validate", "--dropout", "1.5"], "dropout"),
    (["--cross-validate", "--keep-prob", "0"], "--keep-prob must be in (0, 1]"),
    (["--cross-validate", "--keep-prob", "1.2"], "--keep-prob must be in (0, 1]"),
    (["--cross-validate", "--classifier", "svm", "--complexity", "0"], "complexity"),
    (["--cross-validate", "--device", "tpu"], "device"),
])
def test_evaluate_usage_errors(reps, capsys, argv, message):
    assert main(["evaluate", "--input", str(reps)] + argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("rae-fast evaluate: error:") and message in err


def test_evaluate_keep_prob_is_one_minus_dropout(reps, tmp_path, capsys):
    common = ["evaluate", "--input", str(reps), "--cross-validate", "--num-epochs", "20",
              "--num-units", "8", "--jobs", "1"]
    assert main(common + ["--keep-prob", "0.75", "--json", str(tmp_path / "k.json")]) == 0
    assert main(common + ["--dropout", "0.25", "--json", str(tmp_path / "d.json")]) == 0
    assert main(common + ["--json", str(tmp_path / "default.json")]) == 0
    k, d, default = (json.loads((tmp_path / f"{n}.json").read_text())
                     for n in ("k", "d", "default"))
    assert k["settings"]["classifier_params"]["dropout"] == pytest.approx(0.25)
    assert default["settings"]["classifier_params"]["dropout"] == pytest.approx(0.4)
    assert k["confusion_matrices"] == d["confusion_matrices"]     # the same classifier
    capsys.readouterr()
    with pytest.raises(SystemExit):                                # mutually exclusive
        main(common + ["--keep-prob", "0.6", "--dropout", "0.4"])
    assert "not allowed with argument" in capsys.readouterr().err


def test_evaluate_data_errors(tmp_path, capsys):
    make_reps(tmp_path / "unlabelled.nc", labelled=False)
    assert main(["evaluate", "--input", str(tmp_path / "unlabelled.nc"),
                 "--cross-validate"]) == 2
    assert "no labels" in capsys.readouterr().err
    make_reps(tmp_path / "nofolds.nc", n_folds=0, partitioned=False)
    assert main(["evaluate", "--input", str(tmp_path / "nofolds.nc"), "--cross-validate"]) == 2
    assert "no cross-validation folds" in capsys.readouterr().err
    assert main(["evaluate", "--input", str(tmp_path / "nofolds.nc"), "--train-partitions",
                 "train", "--eval-partitions", "test"]) == 2
    assert "no partition information" in capsys.readouterr().err
    assert main(["evaluate", "--input", str(tmp_path / "missing.nc"), "--cross-validate"]) == 2
    assert "does not exist" in capsys.readouterr().err
    (tmp_path / "text.nc").write_text("not netcdf")
    assert main(["evaluate", "--input", str(tmp_path / "text.nc"), "--cross-validate"]) == 2
    assert "netCDF" in capsys.readouterr().err


def test_predict_writes_csv(reps, tmp_path):
    out = tmp_path / "pred.csv"
    assert main(["predict", "--train-input", str(reps), "--train-partitions", "train",
                 "--eval-input", str(reps), "--eval-partitions", "test", "--output", str(out),
                 "--num-epochs", "80"]) == 0
    rows = list(csv.DictReader(open(out)))
    assert len(rows) == int(np.sum(load(reps).partition == 2)) == 18
    assert list(rows[0])[:4] == ["filename", "chunk_nr", "prediction", "true_label"]
    assert [k for k in rows[0] if k.startswith("p_")] == ["p_cat", "p_dog", "p_rain"]
    assert np.mean([r["prediction"] == r["true_label"] for r in rows]) >= 0.9
    for r in rows:
        assert sum(float(r[k]) for k in ("p_cat", "p_dog", "p_rain")) == pytest.approx(1, 1e-4)
    out2 = tmp_path / "vote.csv"
    assert main(["predict", "--train-input", str(reps), "--eval-input", str(reps),
                 "--output", str(out2), "--classifier", "svm", "--majority-vote"]) == 0
    rows = list(csv.DictReader(open(out2)))
    assert len(rows) == 30 and "chunk_nr" not in rows[0] and "p_cat" not in rows[0]


def test_predict_unlabelled_training_data_fails(tmp_path, capsys):
    make_reps(tmp_path / "u.nc", labelled=False)
    assert main(["predict", "--train-input", str(tmp_path / "u.nc"), "--eval-input",
                 str(tmp_path / "u.nc"), "--output", str(tmp_path / "p.csv")]) == 2
    assert "no labels" in capsys.readouterr().err
    assert not (tmp_path / "p.csv").exists()


def test_fuse_and_fuse_chunks(reps, tmp_path, capsys):
    other = tmp_path / "other.nc"
    make_reps(other, d=5, seed=1)
    fused = tmp_path / "fused.nc"
    assert main(["fuse", str(reps), str(other), "--weights", "1", "0.5",
                 "--output", str(fused)]) == 0
    ds = load(fused)
    assert ds.feature_shape == (17,)
    np.testing.assert_allclose(ds.features[:, 12:], 0.5 * load(other).features)
    assert ds.attrs["feature_weights"]["runs"] == [[12, 1.0], [5, 0.5]]
    # mismatching instances: the error names the first one
    bad = tmp_path / "bad.nc"
    make_reps(bad, n_files=30, chunks=2, n_folds=3, partitioned=False)
    assert main(["fuse", str(reps), str(bad), "--output", str(tmp_path / "x.nc")]) == 2
    err = capsys.readouterr().err
    assert "instance 0 ('000 - clip.wav' chunk 0" in err and "partition: 0 vs -1" in err
    assert not (tmp_path / "x.nc").exists()
    assert main(["fuse", str(reps), str(other), "--weights", "1", "--output",
                 str(tmp_path / "x.nc")]) == 2
    assert "one weight per input" in capsys.readouterr().err
    chunks_out = tmp_path / "files.nc"
    assert main(["fuse-chunks", "--input", str(reps), "--output", str(chunks_out)]) == 0
    files = load(chunks_out)
    assert len(files) == 30 and files.feature_shape == (24,)


def test_export_import_round_trip(reps, tmp_path):
    for fmt in ("csv", "arff", "parquet"):
        out = tmp_path / f"exp_{fmt}"
        assert main(["export", "--input", str(reps), "--format", fmt.upper(),
                     "--output", str(out), "--labels-last"]) == 0
        assert (out / "train" / "fold_1" / f"reps.{fmt}").exists()
        back = tmp_path / f"back_{fmt}.nc"
        assert main(["import", "--basedir", str(out), "--name", "reps", "--output",
                     str(back)]) == 0
        a, b = load(reps), load(back)
        key = lambda d: np.lexsort((d.chunk_nr, d.filenames.astype(str)))  # noqa: E731
        assert a.subset(key(a)).equals(b.subset(key(b)))


def test_import_single_file_and_errors(tmp_path, capsys):
    (tmp_path / "f.csv").write_text("filename,label,x1,x2\na.wav,dog,1,2\nb.wav,cat,3,4\n")
    out = tmp_path / "f.nc"
    assert main(["import", "--input", str(tmp_path / "f.csv"), "--label-nominal-column",
                 "label", "--output", str(out)]) == 0
    ds = load(out)
    assert ds.label_map == {"cat": 0, "dog": 1} and ds.feature_shape == (2,)
    (tmp_path / "fake.csv").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00binary")
    assert main(["import", "--input", str(tmp_path / "fake.csv"), "--output",
                 str(tmp_path / "g.nc")]) == 2
    assert "not a text file" in capsys.readouterr().err
    assert not (tmp_path / "g.nc").exists()


def test_interrupt_leaves_no_output(reps, tmp_path, monkeypatch, capsys):
    import rae_fast.evaluation.protocols as protocols

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(protocols, "evaluate_splits", interrupted)
    out = tmp_path / "r.json"
    assert main(["evaluate", "--input", str(reps), "--cross-validate", "--json",
                 str(out)]) == 130
    assert "interrupted" in capsys.readouterr().err
    assert not out.exists()


def test_subprocess_entry_point(reps, tmp_path):
    # the installed package (editable or not): never put the source tree, which has no
    # compiled extension in a plain `pip install .`, on the path
    proc = subprocess.run([sys.executable, "-m", "rae_fast", "evaluate", "--input", str(reps),
                           "--cross-validate", "--classifier", "svm", "--brief"],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    acc, uar = (float(v) for v in proc.stdout.strip().split(","))
    assert acc > 0.9
    proc = subprocess.run([sys.executable, "-m", "rae_fast", "fuse", str(reps), "--output",
                           str(tmp_path / "x.nc")], capture_output=True, text=True, cwd=tmp_path,
                          timeout=300)
    assert proc.returncode == 2 and "at least two" in proc.stderr
