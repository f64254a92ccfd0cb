"""Metrics against scikit-learn, validation of their inputs, the text table and the PNG plot."""
import json

import numpy as np
import pytest
from sklearn import metrics as skm

from rae_fast.evaluation.metrics import (accuracy, confusion_matrix, format_confusion_matrix,
                                         per_class_recall, plot_confusion_matrix,
                                         recall_from_confusion, uar)
from rae_fast.evaluation.results import EvaluationResult

# scikit-learn warns about the (deliberate) edge cases compared against it
pytestmark = pytest.mark.filterwarnings("ignore:y_pred contains classes:UserWarning",
                                        "ignore:A single label was found:UserWarning")


def _random_case(rng, n, k, absent=()):
    classes = np.array([c for c in range(k) if c not in absent])
    y_true = rng.choice(classes, n)
    # predictions correct about half the time, otherwise any class (also absent ones)
    y_pred = np.where(rng.random(n) < 0.5, y_true, rng.integers(0, k, n))
    return y_true, y_pred


@pytest.mark.parametrize("n,k", [(1, 2), (7, 2), (50, 3), (400, 10), (2000, 37)])
@pytest.mark.parametrize("seed", [0, 1])
def test_against_sklearn(n, k, seed):
    rng = np.random.default_rng(seed * 1000 + n)
    y_true, y_pred = _random_case(rng, n, k)
    labels = list(range(k))
    np.testing.assert_array_equal(confusion_matrix(y_true, y_pred, k),
                                  skm.confusion_matrix(y_true, y_pred, labels=labels))
    assert accuracy(y_true, y_pred) == pytest.approx(skm.accuracy_score(y_true, y_pred),
                                                     abs=1e-12)
    assert uar(y_true, y_pred, k) == pytest.approx(
        skm.balanced_accuracy_score(y_true, y_pred), abs=1e-12)
    present = np.unique(y_true)
    rec = per_class_recall(y_true, y_pred, k)
    np.testing.assert_allclose(rec[present], skm.recall_score(
        y_true, y_pred, labels=present, average=None, zero_division=0), atol=1e-12)
    assert np.all(np.isnan(np.delete(rec, present)))
    # UAR = macro recall over the classes that occur (sklearn's definition when every
    # predicted class also occurs in y_true)
    assert uar(y_true, y_pred, k) == pytest.approx(skm.recall_score(
        y_true, y_pred, labels=present, average="macro", zero_division=0), abs=1e-12)


def test_class_absent_from_truth_is_left_out_of_uar():
    rng = np.random.default_rng(3)
    y_true, y_pred = _random_case(rng, 300, 5, absent=(2, 4))
    assert np.any(np.isin(y_pred, [2, 4]))
    rec = per_class_recall(y_true, y_pred, 5)
    assert np.isnan(rec[2]) and np.isnan(rec[4])
    assert uar(y_true, y_pred, 5) == pytest.approx(np.mean(rec[[0, 1, 3]]))
    assert uar(y_true, y_pred, 5) == pytest.approx(skm.balanced_accuracy_score(y_true, y_pred))


def test_hand_checked():
    y_true = [0, 0, 0, 0, 1, 1, 2]
    y_pred = [0, 0, 0, 1, 1, 0, 2]
    assert confusion_matrix(y_true, y_pred, 3).tolist() == [[3, 1, 0], [1, 1, 0], [0, 0, 1]]
    assert accuracy(y_true, y_pred) == pytest.approx(5 / 7)
    assert per_class_recall(y_true, y_pred, 3).tolist() == [0.75, 0.5, 1.0]
    assert uar(y_true, y_pred) == pytest.approx((0.75 + 0.5 + 1.0) / 3)
    np.testing.assert_array_equal(recall_from_confusion([[3, 1], [0, 0]]), [0.75, np.nan])


@pytest.mark.parametrize("bad,exc,match", [
    (np.array([0.5, 1.0]), TypeError, "integer"),
    (np.array(["a", "b"]), TypeError, "integer"),
    (np.array([[0, 1]]), ValueError, "1-D"),
    (np.array([], dtype=int), ValueError, "empty"),
    (np.array([0, -1]), ValueError, "negative"),
    (np.array([0, 5]), ValueError, "n_classes"),
    (np.array([0, np.nan]), TypeError, "integer"),
])
def test_bad_labels(bad, exc, match):
    with pytest.raises(exc, match=match):
        confusion_matrix(bad, np.zeros(bad.shape, dtype=int) if bad.ndim == 1 else [0], 3)


def test_length_mismatch_and_bad_n_classes():
    with pytest.raises(ValueError, match="same length"):
        accuracy([0, 1], [0])
    with pytest.raises(TypeError, match="n_classes"):
        confusion_matrix([0], [0], 2.0)
    with pytest.raises(ValueError, match="n_classes"):
        confusion_matrix([0], [0], 0)
    with pytest.raises(ValueError, match="square"):
        recall_from_confusion(np.zeros((2, 3)))


def test_format_table_lists_names_counts_and_recall():
    cm = np.array([[5, 0, 1], [2, 3, 0], [0, 0, 0]])
    text = format_confusion_matrix(cm, ["dog bark", "rain", "a-very-long-class-name"])
    lines = text.splitlines()
    assert lines[0].split()[-1] == "recall"
    assert lines[1].startswith("dog bark") and lines[1].split()[-1] == "83.3%"
    assert lines[2].split()[1:] == ["2", "3", "0", "60.0%"]
    assert lines[3].startswith("a-very-long-class-name") and lines[3].endswith("-")
    assert "a-very-long~" in lines[0]  # header names are cut to 12 characters
    norm = format_confusion_matrix(cm, ["a", "b", "c"], normalize=True)
    assert norm.splitlines()[2].split()[1:4] == ["40.0", "60.0", "0.0"]
    with pytest.raises(ValueError, match="class_names"):
        format_confusion_matrix(cm, ["a", "b"])
    # many long names: rows are numbered, columns show the numbers
    names = [f"00{i} - Long class name" for i in range(6)]
    text = format_confusion_matrix(np.eye(6, dtype=int) * 3, names).splitlines()
    assert text[0].split()[-7:] == ["1", "2", "3", "4", "5", "6", "recall"]
    assert text[6].startswith("6 005 - Long class name") and text[6].endswith("100.0%")


def test_plot_writes_png_atomically(tmp_path):
    pytest.importorskip("matplotlib")
    out = tmp_path / "cm.png"
    plot_confusion_matrix(np.array([[3, 1], [0, 4]]), ["cat", "dog"], out, title="t")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cm.png"]
    with pytest.raises(ValueError, match="square"):
        plot_confusion_matrix(np.zeros((2, 3)), None, tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()


def _result():
    cms = np.array([[[[2, 0], [1, 1]], [[1, 1], [0, 2]]],
                    [[[2, 0], [0, 2]], [[2, 0], [0, 2]]]])
    acc = np.array([[0.75, 0.75], [1.0, 1.0]])
    return EvaluationResult(class_names=["cat", "dog"], accuracies=acc, uars=acc,
                            confusion_matrices=cms, split_names=["fold 1", "fold 2"],
                            settings={"protocol": "2-fold cross-validation", "classifier": "svm"})


def test_result_summary_json_and_csv(tmp_path):
    r = _result()
    assert r.accuracy == pytest.approx(0.875)
    assert r.accuracy_std == pytest.approx(np.std([0.75, 1.0], ddof=0))      # population std
    assert r.accuracy_split_std == 0.0
    np.testing.assert_array_equal(r.confusion_matrix, [[7, 1], [1, 7]])
    np.testing.assert_allclose(r.per_class_recall, [7 / 8, 7 / 8])
    table = r.table()
    assert "87.50 %" in table and "over 2 repeats" in table and "fold 2" in table
    r.save_json(tmp_path / "r.json")
    d = json.loads((tmp_path / "r.json").read_text())
    assert d["accuracy"] == pytest.approx(0.875) and d["class_names"] == ["cat", "dog"]
    assert d["per_class_recall"] == {"cat": 0.875, "dog": 0.875}
    back = EvaluationResult.from_dict(d)
    np.testing.assert_array_equal(back.confusion_matrices, r.confusion_matrices)
    r.save_confusion_csv(tmp_path / "cm.csv")
    assert (tmp_path / "cm.csv").read_text().splitlines() == [
        "true\\predicted,cat,dog", "cat,7,1", "dog,1,7"]


def test_scores_csv_has_accuracy_uar_and_per_class_recall(tmp_path):
    """Random results of several sizes: the CSV rows equal the numpy computations; the spread
    over repeats is the population std (ddof=0), over splits too (as auDeep's np.std)."""
    import csv

    rng = np.random.default_rng(3)
    for repeat, n_splits, k in [(1, 1, 2), (3, 4, 3), (2, 5, 4)]:
        cms = rng.integers(0, 6, (repeat, n_splits, k, k))
        cms[..., -1, :] = 0                      # the last class never occurs: recall NaN
        acc = rng.uniform(0.3, 1.0, (repeat, n_splits))
        uars = rng.uniform(0.3, 1.0, (repeat, n_splits))
        names = [f"c,{i}" if i == 0 else f"class {i}" for i in range(k)]   # a comma is quoted
        r = EvaluationResult(class_names=names, accuracies=acc, uars=uars,
                             confusion_matrices=cms)
        r.save_scores_csv(tmp_path / "scores.csv")
        rows = list(csv.DictReader(open(tmp_path / "scores.csv", newline="")))
        assert list(rows[0]) == ["metric", "class", "value", "std_over_repeats",
                                 "std_over_splits"]
        assert [(row["metric"], row["class"]) for row in rows] == \
            [("accuracy", ""), ("uar", "")] + [("recall", c) for c in names]
        assert float(rows[0]["value"]) == pytest.approx(acc.mean(), rel=1e-8)
        assert float(rows[1]["value"]) == pytest.approx(uars.mean(), rel=1e-8)
        if repeat > 1:
            want = np.std(acc.mean(axis=1), ddof=0)
            assert float(rows[0]["std_over_repeats"]) == pytest.approx(want, rel=1e-8)
            assert float(rows[1]["std_over_repeats"]) == \
                pytest.approx(np.std(uars.mean(axis=1), ddof=0), rel=1e-8)
            assert want != pytest.approx(np.std(acc.mean(axis=1), ddof=1))
        else:
            assert rows[0]["std_over_repeats"] == rows[1]["std_over_repeats"] == ""
        if n_splits > 1:
            assert float(rows[0]["std_over_splits"]) == \
                pytest.approx(acc.std(axis=1).mean(), rel=1e-8)
        else:
            assert rows[0]["std_over_splits"] == ""
        summed = cms.sum(axis=(0, 1))
        for c in range(k - 1):
            assert float(rows[2 + c]["value"]) == \
                pytest.approx(summed[c, c] / summed[c].sum(), rel=1e-8)
        assert rows[-1]["value"] == ""           # undefined recall is an empty cell


def test_result_shape_checks():
    with pytest.raises(ValueError, match="confusion_matrices"):
        EvaluationResult(class_names=["a", "b", "c"], accuracies=np.ones((1, 2)),
                         uars=np.ones((1, 2)), confusion_matrices=np.zeros((1, 2, 2, 2)))
