"""Cross-validated evaluation speed: 400 x 1024 features, 10 classes, 5 folds, 400 epochs.

Peers in the same run (group ``evaluate-cv``), all doing the same 5-fold protocol with
train-only standardisation:

- ``rae_fast`` : :func:`rae_fast.evaluation.protocols.cross_validate` (folds in parallel
  threads, one torch thread each, hand-written backward pass);
- ``rae_fast_1job`` : the same with ``n_jobs=1`` (folds one after the other);
- ``torch_eager`` : the straightforward PyTorch port (``nn.Sequential`` with ``Dropout``,
  autograd, ``torch.optim.Adam``, torch's default threads), folds one after the other;
- ``sklearn_mlp`` : ``sklearn.neural_network.MLPClassifier`` with the same layers, Adam,
  full-batch, 400 iterations (no dropout: scikit-learn has none, so it does a bit less work).

Group ``evaluate-cv-svm``: the linear SVM protocol on the same data, for scale.

Run: ``python -m pytest benchmarks/bench_evaluate.py --benchmark-only``
"""
import numpy as np
import pytest

from rae_fast.dataset import DataSet
from rae_fast.evaluation.protocols import cross_validate

torch = pytest.importorskip("torch")
pytest.importorskip("pytest_benchmark")

N, D, K, FOLDS, EPOCHS = 400, 1024, 10, 5, 400


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    y = np.arange(N) % K
    centers = rng.standard_normal((K, D)) * 0.15
    X = (rng.standard_normal((N, D)) + centers[y]).astype(np.float32)
    cv = np.zeros((N, FOLDS), np.int8)
    cv[np.arange(N), rng.permutation(N) % FOLDS] = 1
    ds = DataSet(X, ("generated",), [f"{i}.wav" for i in range(N)],
                 label_nominal=[f"class_{c}" for c in y], cv_folds=cv)
    return ds, X, y, cv


def _folds(cv):
    for f in range(cv.shape[1]):
        yield np.flatnonzero(cv[:, f] == 0), np.flatnonzero(cv[:, f] == 1)


def _scale(X, tr, ev):
    mu, sd = X[tr].mean(axis=0), X[tr].std(axis=0)
    sd[sd == 0] = 1
    return (X[tr] - mu) / sd, (X[ev] - mu) / sd


def _torch_eager_cv(X, y, cv):
    accs = []
    for tr, ev in _folds(cv):
        xtr, xev = (torch.from_numpy(a.astype(np.float32)) for a in _scale(X, tr, ev))
        ytr = torch.from_numpy(y[tr])
        torch.manual_seed(0)
        net = torch.nn.Sequential(torch.nn.Linear(D, 150), torch.nn.ReLU(), torch.nn.Dropout(0.4),
                                  torch.nn.Linear(150, 150), torch.nn.ReLU(),
                                  torch.nn.Dropout(0.4), torch.nn.Linear(150, K))
        opt = torch.optim.Adam(net.parameters(), lr=1e-3)
        net.train()
        for _ in range(EPOCHS):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(net(xtr), ytr).backward()
            opt.step()
        net.eval()
        with torch.no_grad():
            accs.append(float((net(xev).argmax(1).numpy() == y[ev]).mean()))
    return float(np.mean(accs))


def _sklearn_cv(X, y, cv):
    from sklearn.neural_network import MLPClassifier as SkMLP

    accs = []
    for tr, ev in _folds(cv):
        xtr, xev = _scale(X, tr, ev)
        clf = SkMLP(hidden_layer_sizes=(150, 150), solver="adam", learning_rate_init=1e-3,
                    batch_size=len(tr), max_iter=EPOCHS, alpha=0.0, tol=0.0,
                    n_iter_no_change=EPOCHS + 1, shuffle=False, random_state=0)
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            clf.fit(xtr, y[tr])
        accs.append(float((clf.predict(xev) == y[ev]).mean()))
    return float(np.mean(accs))


def _run(benchmark, fn, rounds=2):
    return benchmark.pedantic(fn, rounds=rounds, iterations=1)


@pytest.fixture(scope="module", autouse=True)
def warm_up(data):
    """Initialise torch / MKL once (a few epochs) so that no peer pays for it."""
    cross_validate(data[0], "mlp", seed=0, epochs=3)


def test_rae_fast(benchmark, data):
    benchmark.group = "evaluate-cv"
    ds = data[0]
    res = _run(benchmark, lambda: cross_validate(ds, "mlp", seed=0, epochs=EPOCHS))
    benchmark.extra_info["accuracy"] = res.accuracy
    assert res.accuracy > 0.5


def test_rae_fast_1job(benchmark, data):
    benchmark.group = "evaluate-cv"
    ds = data[0]
    res = _run(benchmark, lambda: cross_validate(ds, "mlp", seed=0, epochs=EPOCHS, n_jobs=1))
    benchmark.extra_info["accuracy"] = res.accuracy


def test_torch_eager(benchmark, data):
    benchmark.group = "evaluate-cv"
    _, X, y, cv = data
    # one round: with default torch threads this peer can be very slow on a busy machine
    benchmark.extra_info["accuracy"] = _run(benchmark, lambda: _torch_eager_cv(X, y, cv),
                                            rounds=1)


def test_sklearn_mlp(benchmark, data):
    benchmark.group = "evaluate-cv"
    _, X, y, cv = data
    benchmark.extra_info["accuracy"] = _run(benchmark, lambda: _sklearn_cv(X, y, cv), rounds=1)


def test_rae_fast_svm(benchmark, data):
    benchmark.group = "evaluate-cv-svm"
    ds = data[0]
    res = _run(benchmark, lambda: cross_validate(ds, "svm", seed=0), rounds=3)
    benchmark.extra_info["accuracy"] = res.accuracy
