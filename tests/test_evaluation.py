"""Classifiers (MLP, linear SVM) and the evaluation protocols of auDeep."""
import doctest
import importlib
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import NotFittedError
from sklearn.preprocessing import StandardScaler

from rae_fast.dataset import DataSet, Partition
from rae_fast.evaluation import mlp as mlp_module
from rae_fast.evaluation.mlp import MLPClassifier, resolve_device, torch_threads
from rae_fast.evaluation.components import (WeightedStandardScaler, make_classifier,
                                            majority_vote, upsample_indices)
from rae_fast.evaluation.engine import evaluate_splits
from rae_fast.evaluation.protocols import (cross_validate, evaluate_partitions,
                                           feature_weights_from_attrs, predict)
from rae_fast.evaluation.svm import LinearSVMClassifier

torch = pytest.importorskip("torch")


# ----------------------------------------------------------------------------- fixtures

def blobs(n_per_class=40, k=4, d=32, sep=4.0, seed=0):
    """Well separated Gaussian clusters: (X float32 (n, d), y int (n,))."""
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((k, d))
    centers *= sep / np.linalg.norm(centers, axis=1, keepdims=True)
    y = np.repeat(np.arange(k), n_per_class)
    X = rng.standard_normal((len(y), d)) * 0.5 + centers[y]
    return X.astype(np.float32), y


def make_dataset(X, y, n_folds=0, names=None, partition=None, chunks=1, seed=0):
    """Data set with labels ``names[y]``; folds assigned per file (all chunks together)."""
    names = names or [f"class_{c}" for c in range(int(y.max()) + 1)]
    n = len(y)
    files = [f"{i // chunks:04d}.wav" for i in range(n)]
    cv = None
    if n_folds:
        rng = np.random.default_rng(seed)
        file_fold = rng.permutation(np.arange(n // chunks + 1) % n_folds)
        cv = np.zeros((n, n_folds), np.int8)
        cv[np.arange(n), file_fold[np.arange(n) // chunks]] = 1
    return DataSet(X, ("generated",), files, chunk_nr=[i % chunks for i in range(n)],
                   label_nominal=[names[c] for c in y], cv_folds=cv, partition=partition)


class Recorder(ClassifierMixin, BaseEstimator):
    """Remembers what it was given; predicts the first class."""
    calls = []

    def fit(self, X, y):
        Recorder.calls.append(("fit", np.array(X, copy=True), np.array(y, copy=True)))
        self.classes_ = np.unique(y)
        return self

    def predict(self, X):
        Recorder.calls.append(("predict", np.array(X, copy=True), None))
        return np.full(len(X), self.classes_[0])


class Threshold(ClassifierMixin, BaseEstimator):
    """Class 1 where the (standardised) first feature is > 0."""

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        return self

    def predict(self, X):
        return (np.asarray(X)[:, 0] > 0).astype(np.int64)


# ----------------------------------------------------------------------------- classifiers

@pytest.mark.parametrize("k,d", [(2, 8), (4, 32), (10, 64)])
def test_mlp_and_svm_separate_separable_data(k, d):
    X, y = blobs(30, k, d, seed=k)
    Xt, yt = blobs(10, k, d, seed=k)  # same centres (same seed), fresh noise below
    Xt = Xt + np.random.default_rng(99).standard_normal(Xt.shape).astype(np.float32) * 0.1
    for clf in (make_classifier("mlp", random_state=0), make_classifier("svm", C=1.0)):
        clf.fit(X, y)
        assert (clf.predict(Xt) == yt).mean() >= 0.98


def test_mlp_paper_defaults_and_attributes():
    clf = MLPClassifier()
    assert (clf.hidden_layers, clf.hidden_units, clf.dropout, clf.learning_rate, clf.epochs,
            clf.batch_size, clf.shuffle) == (2, 150, 0.4, 1e-3, 400, None, False)
    X, y = blobs(10, 3, 12)
    labels = np.array(["b", "a", "c"])[y]
    clf = MLPClassifier(epochs=30, hidden_units=20, random_state=0).fit(X, labels)
    assert clf.classes_.tolist() == ["a", "b", "c"]
    assert [w.shape for w in clf.coefs_] == [(12, 20), (20, 20), (20, 3)]
    assert [b.shape for b in clf.intercepts_] == [(20,), (20,), (3,)]
    assert clf.loss_curve_.shape == (30,) and clf.loss_curve_[-1] < clf.loss_curve_[0]
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    assert set(clf.predict(X)) <= {"a", "b", "c"}
    np.testing.assert_array_equal(clf.classes_[proba.argmax(axis=1)], clf.predict(X))
    np.testing.assert_allclose(np.exp(clf.predict_log_proba(X)), proba, rtol=1e-10)


def test_mlp_prediction_matches_a_torch_forward_pass():
    X, y = blobs(8, 3, 10)
    clf = MLPClassifier(epochs=5, hidden_units=7, random_state=1).fit(X, y)
    h = torch.from_numpy(X.astype(np.float64))
    for w, b in zip(clf.coefs_[:-1], clf.intercepts_[:-1]):
        h = torch.relu(h @ torch.from_numpy(w).double() + torch.from_numpy(b).double())
    z = h @ torch.from_numpy(clf.coefs_[-1]).double() + torch.from_numpy(clf.intercepts_[-1])
    ref = torch.softmax(z, dim=1).numpy()
    np.testing.assert_allclose(clf.predict_proba(X), ref, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("dtype,tol", [(torch.float64, 1e-10), (torch.float32, 2e-5)])
@pytest.mark.parametrize("n,d,h,k,layers,p", [
    (5, 3, 4, 2, 1, 0.0), (17, 8, 6, 3, 2, 0.4), (64, 32, 16, 5, 3, 0.5), (9, 4, 1, 3, 0, 0.0),
    (33, 20, 12, 7, 2, 0.2)])
def test_manual_backward_matches_autograd(n, d, h, k, layers, p, dtype, tol):
    """The hand-written backward pass equals PyTorch autograd on the same network and masks."""
    g = torch.Generator().manual_seed(n * 7 + layers)
    sizes = [d] + [h] * layers + [k]
    params = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        params += [torch.randn(a, b, generator=g, dtype=dtype),
                   torch.randn(b, generator=g, dtype=dtype) * 0.1]
    x = torch.randn(n, d, generator=g, dtype=dtype)
    y = torch.randint(0, k, (n,), generator=g)
    onehot = torch.nn.functional.one_hot(y, k).to(dtype)
    masks = ((torch.rand(layers, n, h, generator=g) >= p).to(dtype) / (1 - p)) if layers else None

    class FixedMasks:
        def __call__(self, n_layers, rows, units):
            return None if p == 0 else masks

    loss = mlp_module._forward_backward(params, x, onehot, FixedMasks())
    ours = [t.grad.clone() for t in params]
    ref_params = [t.detach().clone().requires_grad_() for t in params]
    a = x
    for layer in range(layers):
        a = torch.relu(a @ ref_params[2 * layer] + ref_params[2 * layer + 1])
        if p > 0:
            a = a * masks[layer]
    ref_loss = torch.nn.functional.cross_entropy(a @ ref_params[-2] + ref_params[-1], y)
    ref_loss.backward()
    assert float(loss) == pytest.approx(float(ref_loss.detach()), rel=tol, abs=tol)
    for o, r in zip(ours, ref_params):
        torch.testing.assert_close(o, r.grad, rtol=tol, atol=tol)


def test_mlp_is_reproducible_and_seed_dependent():
    X, y = blobs(15, 3, 16)
    a = MLPClassifier(epochs=40, random_state=7).fit(X, y)
    b = MLPClassifier(epochs=40, random_state=7).fit(X, y)
    c = MLPClassifier(epochs=40, random_state=8).fit(X, y)
    for wa, wb in zip(a.coefs_, b.coefs_):
        np.testing.assert_array_equal(wa, wb)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    assert not np.array_equal(a.coefs_[0], c.coefs_[0])


@pytest.mark.parametrize("kw", [dict(batch_size=7, shuffle=True), dict(batch_size=1000),
                                dict(hidden_layers=0, learning_rate=0.05),
                                dict(dropout=0.0, shuffle=True)])
def test_mlp_variants_train(kw):
    X, y = blobs(20, 3, 8)
    clf = MLPClassifier(epochs=60, random_state=0, **kw).fit(X, y)
    assert (clf.predict(X) == y).mean() >= 0.95
    assert clf.loss_curve_[-1] < clf.loss_curve_[0]


@pytest.mark.parametrize("param,value,exc", [
    ("dropout", 1.0, ValueError), ("dropout", -0.1, ValueError), ("epochs", 0, ValueError),
    ("epochs", 2.5, TypeError), ("hidden_units", 0, ValueError), ("hidden_layers", -1, ValueError),
    ("learning_rate", 0.0, ValueError), ("learning_rate", float("nan"), ValueError),
    ("batch_size", 0, ValueError), ("shuffle", "yes", TypeError), ("device", "tpu", ValueError),
    ("device", 3, TypeError), ("n_threads", 0, ValueError)])
def test_mlp_bad_parameters_are_named(param, value, exc):
    X, y = blobs(5, 2, 3)
    with pytest.raises(exc, match=param if param != "device" else "device"):
        MLPClassifier(**{"epochs": 2, param: value}).fit(X, y)


def test_cuda_request_without_cuda_is_a_clear_error():
    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    with pytest.raises(ValueError, match="CUDA is not available"):
        resolve_device("cuda")
    assert resolve_device("auto") == "cpu"


@pytest.mark.gpu
def test_mlp_on_cuda_matches_cpu_accuracy():
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA GPU")
    X, y = blobs(30, 4, 16)
    cpu = MLPClassifier(epochs=100, random_state=0).fit(X, y)
    gpu = MLPClassifier(epochs=100, random_state=0, device="cuda").fit(X, y)
    np.testing.assert_array_equal(cpu.coefs_[0].shape, gpu.coefs_[0].shape)
    assert (gpu.predict(X) == y).mean() >= 0.98


@pytest.mark.parametrize("make", [lambda: MLPClassifier(epochs=3),
                                  lambda: LinearSVMClassifier()])
def test_classifier_input_errors(make):
    X, y = blobs(5, 2, 3)
    with pytest.raises(NotFittedError):
        make().predict(X)
    bad = X.copy()
    bad[1, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        make().fit(bad, y)
    with pytest.raises(ValueError, match="one class"):
        make().fit(X, np.zeros(len(y)))
    with pytest.raises(ValueError, match="inconsistent|samples"):
        make().fit(X, y[:-1])
    clf = make().fit(X, y)
    with pytest.raises(ValueError, match="3 features"):
        clf.predict(X[:, :2])


def test_small_problems_train_on_one_thread(monkeypatch):
    seen = []
    real = MLPClassifier._train

    def spy(self, *args):
        seen.append(torch.get_num_threads())
        return real(self, *args)

    monkeypatch.setattr(MLPClassifier, "_train", spy)
    X, y = blobs(5, 2, 3)
    with torch_threads(2):
        MLPClassifier(epochs=2).fit(X, y)
        MLPClassifier(epochs=2, n_threads=2).fit(X, y)
        assert torch.get_num_threads() == 2
    assert seen == [1, 2]


def test_torch_threads_is_restored():
    before = torch.get_num_threads()
    with torch_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before


def test_svm_matches_linearsvc_and_calibrates():
    from sklearn.svm import LinearSVC

    X, y = blobs(25, 3, 10, sep=2.0)
    ours = LinearSVMClassifier(C=0.3, random_state=0).fit(X, y)
    ref = LinearSVC(C=0.3, random_state=0, max_iter=10000).fit(X, y)
    np.testing.assert_allclose(ours.decision_function(X), ref.decision_function(X), rtol=1e-6)
    assert not hasattr(ours, "predict_proba")
    for k in (2, 3):
        Xk, yk = blobs(25, k, 10, sep=2.0)
        clf = LinearSVMClassifier(C=0.3, probability=True, random_state=0).fit(Xk, yk)
        proba = clf.predict_proba(Xk)
        assert proba.shape == (len(yk), k) and clf.temperature_ > 0
        np.testing.assert_allclose(proba.sum(axis=1), 1.0)
        np.testing.assert_array_equal(proba.argmax(axis=1), clf.predict(Xk))
    with pytest.raises(ValueError, match="at least 2 training instances"):
        LinearSVMClassifier(probability=True).fit(X[:26], y[:26])
    for bad, exc in ((0.0, ValueError), (-1, ValueError), ("1", TypeError), (np.inf, ValueError)):
        with pytest.raises(exc, match="C"):
            LinearSVMClassifier(C=bad).fit(X, y)


@pytest.mark.filterwarnings("ignore:Skipping check")
def test_sklearn_estimator_checks():
    from sklearn.utils.estimator_checks import check_estimator

    for est in (MLPClassifier(epochs=80, hidden_units=24, random_state=0),
                LinearSVMClassifier(random_state=0),
                LinearSVMClassifier(probability=True, random_state=0)):
        results = check_estimator(est, on_fail=None)
        failed = [(r["check_name"], str(r["exception"])[:200]) for r in results
                  if r["status"] == "failed"]
        assert not failed, failed


# ------------------------------------------------------------------------ building blocks

def test_weighted_scaler_equals_standard_scaler_times_weights():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((50, 6)) * rng.uniform(0.1, 10, 6) + rng.uniform(-5, 5, 6)
    w = rng.uniform(0.5, 3, 6)
    ours = WeightedStandardScaler(w).fit(X)
    ref = StandardScaler().fit(X)
    np.testing.assert_allclose(ours.transform(X), ref.transform(X) * w, rtol=1e-12)
    np.testing.assert_allclose(ours.inverse_transform(ours.transform(X)), X, rtol=1e-10)
    np.testing.assert_allclose(WeightedStandardScaler().fit_transform(X), ref.transform(X))
    with pytest.raises(ValueError, match="feature_weights"):
        WeightedStandardScaler(w[:3]).fit(X)
    with pytest.raises(ValueError, match="> 0"):
        WeightedStandardScaler(np.r_[w[:5], 0.0]).fit(X)


def test_pipeline_standardises_on_training_data_only():
    rng = np.random.default_rng(1)
    Xtr = rng.standard_normal((40, 5)) * 2 + 1
    ytr = np.repeat([0, 1], 20)
    pipe = make_classifier(Recorder()).fit(Xtr, ytr)
    np.testing.assert_allclose(pipe.named_steps["standardize"].mean_, Xtr.mean(axis=0))
    np.testing.assert_allclose(pipe.named_steps["standardize"].scale_, Xtr.std(axis=0))


def test_upsample_indices_hand_checked():
    assert upsample_indices([0, 0, 0, 0, 1, 2, 2]).tolist() == \
        [0, 1, 2, 3, 4, 4, 4, 4, 5, 5, 6, 6]
    # auDeep's factors are floor(max / count): 5 vs 2 -> 1 and 2
    idx = upsample_indices([1, 0, 0, 0, 0, 0, 1])
    assert idx.tolist() == [0, 0, 1, 2, 3, 4, 5, 6, 6]
    assert upsample_indices([3, 3, 1]).tolist() == [0, 1, 2, 2]
    with pytest.raises(ValueError, match="empty"):
        upsample_indices(np.array([], dtype=int))


def test_majority_vote_hand_checked():
    keys, voted, first = majority_vote(["b", "a", "a", "a", "b", "c"], [1, 2, 0, 2, 0, 1], 3)
    assert keys.tolist() == ["a", "b", "c"]
    assert voted.tolist() == [2, 0, 1]  # b: tie between 1 and 0 -> smallest index wins
    assert first.tolist() == [1, 0, 5]
    with pytest.raises(ValueError, match="same length"):
        majority_vote(["a"], [0, 1])


def test_feature_weights_from_attrs():
    assert feature_weights_from_attrs({}, ("generated",), (3,)) is None
    spec = {"feature_weights": {"dimension": "freq", "runs": [[1, 2.0], [1, 1.0]]}}
    w = feature_weights_from_attrs(spec, ("time", "freq"), (3, 2))
    assert w.tolist() == [2.0, 1.0] * 3  # row-major flattening of (time, freq)
    with pytest.raises(ValueError, match="covers 2"):
        feature_weights_from_attrs(spec, ("time", "freq"), (3, 4))
    with pytest.raises(ValueError, match="dimension"):
        feature_weights_from_attrs(spec, ("generated",), (2,))


# ------------------------------------------------------------------------------ protocols

def test_no_leakage_scaler_is_fitted_on_the_training_split_only():
    """Train and eval splits have very different statistics; the classifier must see the
    training split standardised with its own mean/std and the eval split with the *same*
    (training) coefficients."""
    rng = np.random.default_rng(2)
    X = rng.standard_normal((60, 4)) + np.array([1.0, -2.0, 0.0, 3.0])
    X[40:] = X[40:] * 5 + 20  # evaluation instances: shifted and scaled
    y = np.tile([0, 1], 30)
    tr, ev = np.arange(40), np.arange(40, 60)
    Recorder.calls = []
    evaluate_splits(X, y, [(tr, ev)], classifier=Recorder(), n_jobs=1)
    (_, Xfit, yfit), (_, Xpred, _) = Recorder.calls
    assert len(Xfit) == 40 and len(yfit) == 40  # (rows are shuffled)
    np.testing.assert_allclose(Xfit.mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(Xfit.std(axis=0), 1.0, atol=1e-5)
    mu, sd = X[tr].mean(axis=0), X[tr].std(axis=0)
    np.testing.assert_allclose(Xpred, (X[ev] - mu) / sd, rtol=1e-5, atol=1e-4)
    # a scaler fitted on all data (the leak) would give the training split a non-zero mean
    leaked = (X[tr] - X.mean(axis=0)) / X.std(axis=0)
    assert np.abs(leaked.mean(axis=0)).max() > 0.3


def test_cross_validate_folds_splits_and_upsampling_reach_the_classifier():
    X, y = blobs(10, 3, 4)
    y = np.r_[np.zeros(6, int), np.ones(20, int), np.full(4, 2)]  # counts 6, 20, 4
    ds = make_dataset(X, y, n_folds=2, seed=3)
    for upsample in (False, True):
        Recorder.calls = []
        res = cross_validate(ds, Recorder(), upsample=upsample, n_jobs=1)
        fits = [c for c in Recorder.calls if c[0] == "fit"]
        preds = [c for c in Recorder.calls if c[0] == "predict"]
        assert len(fits) == len(preds) == 2 and res.n_splits == 2
        for f, (_, Xf, yf) in enumerate(fits):
            tr, ev = ds.fold_indices(f)
            counts = np.bincount(ds.label_numeric[tr], minlength=3)
            got = np.bincount(yf, minlength=3)
            if upsample:
                np.testing.assert_array_equal(got, counts * (counts.max() // counts))
            else:
                np.testing.assert_array_equal(got, counts)
            assert len(preds[f][1]) == len(ev)
        # the summed confusion matrix counts every validation instance once
        assert res.confusion_matrix.sum() == sum(len(ds.fold_indices(f)[1]) for f in range(2))


def test_majority_vote_through_the_protocol():
    # train: x = -1 (class 0) and +1 (class 1): standardisation leaves them unchanged
    X = np.array([[-1.0], [1.0], [-1.0], [1.0],
                  [1.0], [1.0], [-1.0],      # file A, true 1: votes 1, 1, 0 -> 1 (right)
                  [-1.0], [-1.0], [1.0],     # file B, true 0: votes 0, 0, 1 -> 0 (right)
                  [1.0], [-1.0]], np.float32)  # file C, true 1: tie 1, 0 -> 0 (wrong)
    y = np.array([0, 1, 0, 1, 1, 1, 1, 0, 0, 0, 1, 1])
    groups = ["t0", "t1", "t2", "t3", "A", "A", "A", "B", "B", "B", "C", "C"]
    split = [(np.arange(4), np.arange(4, 12))]
    per_file = evaluate_splits(X, y, split, classifier=Threshold(), groups=groups,
                               majority_vote=True)
    assert per_file.accuracy == pytest.approx(2 / 3)
    assert per_file.confusion_matrix.tolist() == [[1, 0], [1, 1]]
    per_chunk = evaluate_splits(X, y, split, classifier=Threshold(), groups=groups)
    assert per_chunk.accuracy == pytest.approx(5 / 8)
    with pytest.raises(ValueError, match="groups"):
        evaluate_splits(X, y, split, classifier=Threshold(), majority_vote=True)
    y_bad = y.copy()
    y_bad[4] = 0
    with pytest.raises(ValueError, match="'A' have different labels"):
        evaluate_splits(X, y_bad, split, classifier=Threshold(), groups=groups,
                        majority_vote=True)


@pytest.mark.parametrize("classifier", ["mlp", "svm"])
def test_cross_validation_on_separable_data_is_perfect(classifier):
    X, y = blobs(25, 4, 24, sep=5.0, seed=5)
    ds = make_dataset(X, y, n_folds=5, names=["dog", "cat", "rain", "bird"], chunks=1)
    res = cross_validate(ds, classifier, seed=0, **({"epochs": 150} if classifier == "mlp"
                                                    else {}))
    assert res.accuracy >= 0.98 and res.uar >= 0.98
    assert res.class_names == ["bird", "cat", "dog", "rain"]
    assert res.accuracies.shape == (1, 5) and res.confusion_matrix.sum() == len(y)
    np.testing.assert_allclose(res.per_class_recall,
                               np.diag(res.confusion_matrix) / res.confusion_matrix.sum(1))
    assert "5-fold cross-validation" in res.table()


def test_repeats_are_reproducible_and_independent_of_n_jobs():
    X, y = blobs(12, 3, 16, sep=1.2, seed=9)  # overlapping classes: results vary with seeds
    ds = make_dataset(X, y, n_folds=3)
    kw = dict(repeat=3, seed=11, epochs=40, hidden_units=32)
    a = cross_validate(ds, "mlp", n_jobs=1, **kw)
    b = cross_validate(ds, "mlp", n_jobs=2, **kw)
    np.testing.assert_array_equal(a.confusion_matrices, b.confusion_matrices)
    np.testing.assert_array_equal(a.accuracies, b.accuracies)
    assert a.accuracies.shape == (3, 3) and a.n_repeats == 3
    assert a.accuracy_std == pytest.approx(np.std(a.accuracies.mean(axis=1)))
    c = cross_validate(ds, "mlp", n_jobs=2, **{**kw, "seed": 12})
    assert not np.array_equal(a.confusion_matrices, c.confusion_matrices)


class _ThreadRecordingMLP(MLPClassifier):
    """Records torch's thread count at every fit (a subclass is still treated as the MLP)."""

    seen = []

    def fit(self, X, y):
        type(self).seen.append((torch.get_num_threads(), self.n_threads))
        return super().fit(X, y)


def test_auto_device_on_a_cpu_machine_runs_splits_in_parallel(monkeypatch):
    """device="auto" is resolved first: without a GPU it is the CPU, so the splits run in
    parallel (it used to count as a GPU and force n_jobs=1)."""
    from rae_fast.evaluation import engine

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(engine, "_default_jobs", lambda n_tasks: min(3, n_tasks))
    X, y = blobs(6, 2, 4, seed=1)
    idx = np.arange(len(y))
    splits = [(idx[idx % 3 != s], idx[idx % 3 == s]) for s in range(3)]
    res = evaluate_splits(X, y, splits, classifier="mlp",
                          classifier_params={"device": "auto", "epochs": 3, "hidden_units": 4})
    assert res.settings["device"] == "cpu" and res.settings["n_jobs"] == 3
    assert res.settings["classifier_params"]["device"] == "auto"
    cpu = evaluate_splits(X, y, splits, classifier="mlp",
                          classifier_params={"device": "cpu", "epochs": 3, "hidden_units": 4})
    np.testing.assert_array_equal(res.confusion_matrices, cpu.confusion_matrices)


def test_user_n_threads_is_honoured_sequentially_and_warned_about_in_parallel(caplog):
    import logging

    X, y = blobs(6, 2, 4, seed=2)
    idx = np.arange(len(y))
    splits = [(idx[idx % 2 == 0], idx[idx % 2 == 1]), (idx[idx % 2 == 1], idx[idx % 2 == 0])]
    clf = _ThreadRecordingMLP(epochs=2, hidden_units=4, n_threads=2)
    before = torch.get_num_threads()
    _ThreadRecordingMLP.seen = []
    with caplog.at_level(logging.WARNING, logger="rae_fast.evaluation.protocols"):
        res = evaluate_splits(X, y, splits, classifier=clf)      # n_jobs defaults to 1 here
    assert res.settings["n_jobs"] == 1 and res.settings["torch_threads"] == 2
    assert res.settings["classifier_params"]["n_threads"] == 2
    assert _ThreadRecordingMLP.seen == [(2, 2), (2, 2)]          # the MLP got n_threads
    assert "n_threads" not in caplog.text
    assert torch.get_num_threads() == before                    # and was restored
    _ThreadRecordingMLP.seen = []
    with caplog.at_level(logging.WARNING, logger="rae_fast.evaluation.protocols"):
        res = evaluate_splits(X, y, splits, classifier="mlp", n_jobs=2,
                              classifier_params={"epochs": 2, "hidden_units": 4,
                                                 "n_threads": 3})
    assert res.settings["torch_threads"] == 1
    assert res.settings["classifier_params"]["n_threads"] is None
    assert "n_threads=3 of the MLP is replaced by 1 torch thread per split" in caplog.text
    assert "pass n_jobs=1" in caplog.text
    with pytest.raises(ValueError, match="n_threads"):
        evaluate_splits(X, y, splits, classifier="mlp", classifier_params={"n_threads": 0})


def test_partitioned_evaluation():
    X, y = blobs(20, 3, 12, seed=4)
    part = np.tile([Partition.TRAIN, Partition.DEVEL, Partition.TEST], 20)
    ds = make_dataset(X, y, partition=part)
    res = evaluate_partitions(ds, "train", ["devel"], "svm")
    assert res.split_names == ["train -> devel"] and res.accuracy >= 0.95
    assert res.confusion_matrix.sum() == 20
    res2 = evaluate_partitions(ds, ["TRAIN", 1], Partition.TEST, "svm")
    assert res2.split_names == ["train+devel -> test"] and res2.confusion_matrix.sum() == 20
    with pytest.raises(ValueError, match="unknown partition"):
        evaluate_partitions(ds, "training", "test", "svm")


def test_protocol_errors_are_clear():
    X, y = blobs(6, 2, 4)
    no_folds = make_dataset(X, y)
    with pytest.raises(ValueError, match="no cross-validation folds"):
        cross_validate(no_folds, "svm")
    with pytest.raises(ValueError, match="no partition information"):
        evaluate_partitions(no_folds, "train", "test", "svm")
    unlabelled = DataSet(X, ("generated",), [f"{i}.wav" for i in range(12)],
                         cv_folds=np.eye(12, 2, dtype=np.int8))
    with pytest.raises(ValueError, match="no labels"):
        cross_validate(unlabelled, "svm")
    labels = ["a"] * 6 + ["b"] * 5 + [None]
    folds = np.zeros((12, 2), np.int8)
    folds[::2, 0] = 1
    folds[1::2, 1] = 1
    partly = DataSet(X, ("generated",), [f"{i}.wav" for i in range(12)], label_nominal=labels,
                     cv_folds=folds)
    with pytest.raises(ValueError, match="'11.wav'"):
        cross_validate(partly, "svm")
    # class "b" only in the validation split of fold 1 -> no training instances there
    folds = np.zeros((12, 2), np.int8)
    folds[6:, 0] = 1
    folds[:6, 1] = 1
    ds = DataSet(X, ("generated",), [f"{i}.wav" for i in range(12)],
                 label_nominal=["a"] * 6 + ["b"] * 6, cv_folds=folds)
    with pytest.raises(ValueError, match="fold 1: class 'b' has no instances in the training"):
        cross_validate(ds, "svm")
    empty_valid = DataSet(X, ("generated",), [f"{i}.wav" for i in range(12)],
                          label_nominal=["a", "b"] * 6, cv_folds=np.zeros((12, 2), np.int8))
    with pytest.raises(ValueError, match="fold 1: the validation split is empty"):
        cross_validate(empty_valid, "svm")
    ds_ok = make_dataset(X, y, n_folds=2)
    with pytest.raises(ValueError, match="classifier must be one of"):
        cross_validate(ds_ok, "forest")
    with pytest.raises(TypeError, match="unknown parameter"):
        cross_validate(ds_ok, "svm", epochs=3)
    with pytest.raises(ValueError, match="repeat"):
        cross_validate(ds_ok, "svm", repeat=0)
    with pytest.raises(TypeError, match="DataSet"):
        cross_validate(X, "svm")
    part = DataSet(X, ("generated",), [f"{i}.wav" for i in range(12)],
                   label_nominal=["a", "b"] * 6, partition=[0] * 12)
    with pytest.raises(ValueError, match="evaluation partition"):
        evaluate_partitions(part, "train", "test", "svm")


def test_evaluate_splits_validates_arrays():
    X, y = blobs(5, 2, 3)
    idx = np.arange(10)
    ok = [(idx[:6], idx[6:])]
    bad_x = X.copy()
    bad_x[0, 0] = np.inf
    with pytest.raises(ValueError, match="NaN or Inf"):
        evaluate_splits(bad_x, y, ok, classifier="svm")
    with pytest.raises(TypeError, match="floating"):
        evaluate_splits(X.astype(int), y, ok, classifier="svm")
    with pytest.raises(ValueError, match="2-D"):
        evaluate_splits(X[:, 0], y, ok, classifier="svm")
    with pytest.raises(ValueError, match="evaluation split is empty"):
        evaluate_splits(X, y, [(idx, idx[:0])], classifier="svm")
    with pytest.raises(ValueError, match="outside"):
        evaluate_splits(X, y, [(idx, np.array([10]))], classifier="svm")
    with pytest.raises(ValueError, match="only one class"):
        evaluate_splits(X, y, [(idx[:5], idx[:3])], classifier="svm")
    with pytest.raises(ValueError, match="at least 2 classes"):
        evaluate_splits(X, y, ok, classifier="svm", class_names=["a"])
    with pytest.raises(ValueError, match="n_classes"):
        evaluate_splits(X, y + 1, ok, classifier="svm", class_names=["a", "b"])
    with pytest.raises(ValueError, match="splits is empty"):
        evaluate_splits(X, y, [], classifier="svm")


def test_fused_feature_weights_reach_the_classifier():
    X, y = blobs(10, 2, 4)
    ds = make_dataset(X, y, n_folds=2)
    ds = DataSet(ds.features, ds.feature_dims, ds.filenames, label_nominal=ds.label_nominal,
                 cv_folds=ds.cv_folds,
                 attrs={"feature_weights": {"dimension": "generated",
                                            "runs": [[2, 3.0], [2, 1.0]]}})
    Recorder.calls = []
    cross_validate(ds, Recorder(), n_jobs=1)
    Xfit = Recorder.calls[0][1]
    np.testing.assert_allclose(Xfit.std(axis=0), [3.0, 3.0, 1.0, 1.0], rtol=1e-5)


def test_predict_api():
    X, y = blobs(20, 3, 8, seed=1)
    part = np.where(np.arange(60) % 4 == 0, Partition.TEST, Partition.TRAIN)
    ds = make_dataset(X, y, partition=part, chunks=2)
    preds = predict(ds, ds, "mlp", train_partitions="train", eval_partitions="test",
                    epochs=100, hidden_units=32)
    test_idx = np.flatnonzero(part == Partition.TEST)
    assert preds.filenames == list(ds.filenames[test_idx])
    assert preds.chunk_nr.tolist() == ds.chunk_nr[test_idx].tolist()
    assert np.mean(np.array(preds.predicted) == ds.label_nominal[test_idx]) >= 0.95
    np.testing.assert_allclose(preds.probabilities.sum(axis=1), 1.0)
    assert preds.class_names == ["class_0", "class_1", "class_2"]
    voted = predict(ds, ds, "svm", majority_vote=True, probability=True)
    assert len(voted) == 30 and voted.chunk_nr is None
    assert voted.filenames == sorted(set(ds.filenames))
    np.testing.assert_allclose(voted.probabilities.sum(axis=1), 1.0)
    plain = predict(ds, ds, "svm")
    assert plain.probabilities is None
    unlabelled = DataSet(X, ("generated",), [f"u{i}.wav" for i in range(60)])
    assert predict(ds, unlabelled, "svm").true_labels is None
    with pytest.raises(ValueError, match="no labels"):
        predict(unlabelled, ds, "svm")
    with pytest.raises(ValueError, match="must match"):
        predict(ds, DataSet(X[:, :4], ("generated",), ["a.wav"] * 60), "svm")


def test_module_docstring_examples_run():
    for name in ("metrics", "mlp", "svm", "components", "engine", "protocols", "results"):
        mod = importlib.import_module(f"rae_fast.evaluation.{name}")
        res = doctest.testmod(mod, optionflags=doctest.NORMALIZE_WHITESPACE)
        assert res.failed == 0, name


def test_package_exports_the_public_api():
    """``from rae_fast.evaluation import cross_validate, ...`` (the API the demo uses)."""
    import importlib.util

    import rae_fast.evaluation as pkg
    from rae_fast.evaluation import protocols

    if getattr(pkg, "__file__", None) is None:
        # An editable install made before evaluation/__init__.py existed treats the folder as
        # a namespace package until `pip install -e .` is re-run: check the file directly.
        init = Path(protocols.__file__).with_name("__init__.py")
        spec = importlib.util.spec_from_file_location("rae_fast.evaluation", init,
                                                      submodule_search_locations=[])
        pkg = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(pkg)
    for name in pkg.__all__:
        assert hasattr(pkg, name), name
    assert pkg.cross_validate is protocols.cross_validate
    assert pkg.MLPClassifier is MLPClassifier and pkg.EvaluationResult is not None


ESC10 = Path(__file__).resolve().parents[2] / "shared" / "data" / "esc10"


@pytest.mark.skipif(not ESC10.is_dir(), reason=f"ESC-10 recordings not found at {ESC10}")
def test_real_recordings_esc10_mel_statistics():
    """End to end on real audio: 400 ESC-10 clips -> mel spectrogram statistics -> 5-fold
    cross-validation over the dataset's own folds (first character of the file name)."""
    import soundfile as sf

    import rae_fast

    files = sorted(ESC10.glob("*/*.ogg"))
    if len(files) != 400:
        pytest.skip(f"expected the 400 ESC-10 clips, found {len(files)}")
    length = 5 * 44100
    audio = np.zeros((len(files), length), np.float32)
    for i, f in enumerate(files):
        y, sr = sf.read(f, dtype="float32", always_2d=True)
        assert sr == 44100
        y = y.mean(axis=1)[:length]
        audio[i, :len(y)] = y
    S = rae_fast.spectrogram(audio, 44100, n_mels=64)  # (400, 64, frames)
    feats = np.concatenate([S.mean(axis=2), S.std(axis=2)], axis=1).astype(np.float32)
    fold = np.array([int(f.name[0]) - 1 for f in files])
    cv = np.zeros((len(files), 5), np.int8)
    cv[np.arange(len(files)), fold] = 1
    ds = DataSet(feats, ("generated",), [str(f.relative_to(ESC10)) for f in files],
                 label_nominal=[f.parent.name for f in files], cv_folds=cv)
    res = cross_validate(ds, "svm", C=0.1)
    # 10 balanced classes: chance is 10 %; these simple features give about 70 %
    assert res.accuracy > 0.6 and res.uar > 0.6
    assert res.class_names[0] == "001 - Dog bark" and res.confusion_matrix.sum() == 400
