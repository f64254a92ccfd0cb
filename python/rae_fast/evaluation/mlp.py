"""The auDeep MLP classifier (PyTorch), with scikit-learn's estimator interface.

The network of the paper: ``hidden_layers`` (2) fully connected layers of ``hidden_units``
(150) ReLU units, each followed by dropout (40 %), then a linear layer with a softmax output;
trained on the cross-entropy with Adam (learning rate 1e-3) for 400 full-batch epochs.
(auDeep's TensorFlow code also put a ReLU on the output logits; we follow the paper and use
plain logits, so that the softmax is not clipped at zero.) Weights start Glorot-uniform and
biases at zero, as TensorFlow's defaults that auDeep used.

Training runs on the CPU or a CUDA device; the trained weights are kept as numpy arrays
(``coefs_``, ``intercepts_`` as in :class:`sklearn.neural_network.MLPClassifier`), so a fitted
model pickles and predicts anywhere. Same ``random_state`` and same torch thread count -> the
same predictions.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> X = np.vstack([rng.normal(-2, 1, (20, 5)), rng.normal(2, 1, (20, 5))]).astype(np.float32)
>>> y = np.array(["a"] * 20 + ["b"] * 20)
>>> clf = MLPClassifier(epochs=50, random_state=0).fit(X, y)
>>> float((clf.predict(X) == y).mean())
1.0
"""
from __future__ import annotations

import contextlib
from typing import Iterator, List, Optional

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_array, check_is_fitted, check_random_state, check_X_y
from .._validation import check_bool, check_float, check_int

__all__ = ["MLPClassifier", "torch_threads", "resolve_device"]

#: Below this many multiply-adds per layer-1 pass, ``fit`` trains on one torch thread.
_SMALL_WORK = 1 << 27


@contextlib.contextmanager
def torch_threads(n_threads: Optional[int]) -> Iterator[None]:
    """Temporarily set torch's intra-op thread count (``None``: leave it as it is).

    torch's setting is process-wide: do not change it from several threads at once.

    >>> with torch_threads(1):                # doctest: +SKIP
    ...     clf.fit(X, y)
    """
    if n_threads is None:
        yield
        return
    import torch

    old = torch.get_num_threads()
    if old == int(n_threads):
        yield
        return
    torch.set_num_threads(int(n_threads))
    try:
        yield
    finally:
        torch.set_num_threads(old)


def resolve_device(device) -> str:
    """``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"auto"`` (CUDA when available) -> a torch
    device string, checking that a requested CUDA device exists.

    >>> resolve_device("cpu")
    'cpu'
    """
    if not isinstance(device, str):
        raise TypeError(f"device must be a str ('cpu', 'cuda', 'cuda:N' or 'auto'), got "
                        f"{device!r}")
    import torch

    dev = device.strip().lower()
    if dev == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if dev == "cpu":
        return "cpu"
    if dev == "cuda" or dev.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise ValueError(f"device={device!r} was requested but CUDA is not available "
                             "(no GPU, or a CPU-only torch build); use device='cpu' or 'auto'")
        if ":" in dev:
            try:
                idx = int(dev.split(":", 1)[1])
            except ValueError:
                raise ValueError(f"device {device!r} is not a valid CUDA device name") from None
            if not 0 <= idx < torch.cuda.device_count():
                raise ValueError(f"device {device!r} does not exist: "
                                 f"{torch.cuda.device_count()} CUDA device(s) available")
        return dev
    raise ValueError(f"device must be 'cpu', 'cuda', 'cuda:N' or 'auto', got {device!r}")


class MLPClassifier(ClassifierMixin, BaseEstimator):
    """auDeep's MLP: ReLU hidden layers with dropout, softmax output, Adam, full-batch epochs.

    Parameters
    ----------
    hidden_layers : int, default 2
        Number of hidden layers (0 gives multinomial logistic regression).
    hidden_units : int, default 150
        Units per hidden layer.
    dropout : float in [0, 1), default 0.4
        Probability of dropping a hidden activation during training (auDeep's ``keep_prob``
        is ``1 - dropout``). Not applied to the inputs or at prediction time.
    learning_rate : float, default 1e-3
        Adam's step size.
    epochs : int, default 400
        Passes over the training data.
    batch_size : int or None, default None
        ``None``: full-batch training, one update per epoch (the paper). An int: mini-batches
        of that size.
    shuffle : bool, default False
        Reshuffle the training instances every epoch (matters for mini-batches).
    device : str, default "cpu"
        ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"auto"`` (CUDA when available).
    n_threads : int or None, default None
        torch intra-op threads during ``fit``. ``None``: one thread for small problems
        (instances x features x hidden units < 2**27, e.g. auDeep's 320 x 1024 x 150), where
        more threads gain little and slow down badly on a busy machine; torch's current
        setting for larger ones. The evaluation protocols run folds in parallel instead.
    random_state : int, RandomState or None
        Seeds the weights, dropout masks and shuffling. An int makes ``fit`` reproducible.

    Attributes
    ----------
    classes_ : ndarray ``(K,)``
        Class labels, sorted (as ``np.unique(y)``).
    n_features_in_ : int
    coefs_ : list of float32 ndarrays
        Weights ``(in, out)`` of each layer, the last one ``(hidden_units, K)``.
    intercepts_ : list of float32 ndarrays
    loss_curve_ : float64 ndarray ``(epochs,)``
        Training cross-entropy of each epoch (mean over the epoch's batches).

    Examples
    --------
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> pipe = make_pipeline(StandardScaler(), MLPClassifier(epochs=100, random_state=0))
    >>> pipe.fit(X, y).score(X, y)                 # doctest: +SKIP
    1.0
    """

    def __init__(self, hidden_layers: int = 2, hidden_units: int = 150, dropout: float = 0.4,
                 learning_rate: float = 1e-3, epochs: int = 400,
                 batch_size: Optional[int] = None, shuffle: bool = False, device: str = "cpu",
                 n_threads: Optional[int] = None, random_state=None):
        self.hidden_layers = hidden_layers
        self.hidden_units = hidden_units
        self.dropout = dropout
        self.learning_rate = learning_rate
        self.epochs = epochs
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.device = device
        self.n_threads = n_threads
        self.random_state = random_state

    # ------------------------------------------------------------------------------ fitting
    def _check_params(self):
        check_int(self.hidden_layers, "hidden_layers", 0)
        check_int(self.hidden_units, "hidden_units", 1)
        check_float(self.dropout, "dropout", 0.0, 1.0, strict_max=True)
        check_float(self.learning_rate, "learning_rate", 0.0, strict_min=True)
        check_int(self.epochs, "epochs", 1)
        check_int(self.batch_size, "batch_size", 1, allow_none=True)
        check_bool(self.shuffle, "shuffle")
        check_int(self.n_threads, "n_threads", 1, allow_none=True)
        return resolve_device(self.device)

    def fit(self, X, y) -> "MLPClassifier":
        """Train on ``X`` (float ``(n, d)``) and labels ``y`` (``(n,)``, any sortable type).

        Raises ``ValueError`` for NaN/Inf, mismatched lengths, fewer than two classes, or
        invalid hyper-parameters (naming the parameter).
        """
        device = self._check_params()
        X, y = check_X_y(X, y, dtype=(np.float32, np.float64), y_numeric=False)
        check_classification_targets(y)
        classes, y_idx = np.unique(y, return_inverse=True)
        if len(classes) < 2:
            raise ValueError(f"MLPClassifier needs instances of at least 2 classes, got only "
                             f"one class ({classes[0]!r})")
        self.classes_ = classes
        self.n_features_in_ = X.shape[1]
        rng = check_random_state(self.random_state)
        seed = int(rng.randint(0, 2**31 - 1))
        threads = self.n_threads
        if threads is None and device == "cpu" and \
                X.shape[0] * X.shape[1] * max(1, int(self.hidden_units)) < _SMALL_WORK:
            threads = 1
        with torch_threads(threads):
            coefs, intercepts, losses = self._train(np.ascontiguousarray(X, dtype=np.float32),
                                                    y_idx.astype(np.int64), len(classes),
                                                    seed, device)
        self.coefs_ = coefs
        self.intercepts_ = intercepts
        self.loss_curve_ = losses
        return self

    def _train(self, X: np.ndarray, y: np.ndarray, n_classes: int, seed: int, device: str):
        import torch

        n, d = X.shape
        sizes = [d] + [int(self.hidden_units)] * int(self.hidden_layers) + [n_classes]
        # Glorot-uniform weights (TensorFlow's default, as in auDeep), zero biases; drawn on
        # the CPU so that the initial weights do not depend on the device. Weights are stored
        # (in, out) so that every layer is ``addmm(b, a, W)``.
        g_init = torch.Generator().manual_seed(seed)
        params: List = []
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
            a = float(np.sqrt(6.0 / (fan_in + fan_out)))
            w = torch.empty(fan_in, fan_out).uniform_(-a, a, generator=g_init)
            params += [w.to(device), torch.zeros(fan_out, device=device)]
        xt = torch.from_numpy(X).to(device)
        yt = torch.from_numpy(y).to(device)
        onehot = torch.zeros(n, n_classes, device=device)
        onehot[torch.arange(n, device=device), yt] = 1.0
        masks = _DropoutMasks(float(self.dropout), seed + 1, device)
        shuffle = _Shuffler(seed + 2, device) if self.shuffle else None
        try:
            opt = torch.optim.Adam(params, lr=float(self.learning_rate), fused=True)
        except (RuntimeError, TypeError, ValueError):  # pragma: no cover - older torch
            opt = torch.optim.Adam(params, lr=float(self.learning_rate))
        bs = n if self.batch_size is None else min(int(self.batch_size), n)
        n_batches = -(-n // bs)
        losses = torch.zeros(int(self.epochs), device=device)
        with torch.no_grad():
            for epoch in range(int(self.epochs)):
                if shuffle is not None:
                    order = shuffle(n)
                    xe, oe = xt[order], onehot[order]
                else:
                    xe, oe = xt, onehot
                for b in range(n_batches):
                    sl = slice(b * bs, (b + 1) * bs)
                    loss = _forward_backward(params, xe[sl], oe[sl], masks)
                    opt.step()
                    losses[epoch] += loss
        if n_batches > 1:
            losses /= n_batches
        coefs = [params[2 * i].cpu().numpy().astype(np.float32) for i in range(len(sizes) - 1)]
        intercepts = [params[2 * i + 1].cpu().numpy().astype(np.float32)
                      for i in range(len(sizes) - 1)]
        return coefs, intercepts, losses.cpu().numpy().astype(np.float64)

    # ---------------------------------------------------------------------------- predicting
    def _check_X(self, X) -> np.ndarray:
        check_is_fitted(self, "coefs_")
        X = check_array(X, dtype=(np.float32, np.float64))
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} features, but MLPClassifier is expecting "
                             f"{self.n_features_in_} features as input")
        return np.ascontiguousarray(X, dtype=np.float32)

    def _logits(self, X: np.ndarray) -> np.ndarray:
        # float64 products: a BLAS's float32 kernels round a row differently depending on
        # where it falls in the blocking, so a row's logits would depend on its neighbours
        # (scikit-learn's check_methods_sample_order_invariance); rounded to float32 at the end.
        out = np.empty((X.shape[0], len(self.classes_)), dtype=np.float32)
        step = 16384
        for a in range(0, X.shape[0], step):
            h = X[a:a + step].astype(np.float64)
            for w, b in zip(self.coefs_[:-1], self.intercepts_[:-1]):
                h = np.maximum(h @ w.astype(np.float64) + b, 0.0)
            out[a:a + step] = h @ self.coefs_[-1].astype(np.float64) + self.intercepts_[-1]
        return out

    def decision_function(self, X) -> np.ndarray:
        """Output logits, float32 ``(n, K)`` (before the softmax); for two classes the logit
        difference ``(n,)`` (positive -> ``classes_[1]``), as scikit-learn classifiers do."""
        z = self._logits(self._check_X(X))
        return z[:, 1] - z[:, 0] if z.shape[1] == 2 else z

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities (softmax of the logits), float64 ``(n, K)``, columns in the
        order of ``classes_``; rows sum to 1."""
        z = self._logits(self._check_X(X)).astype(np.float64)
        z -= z.max(axis=1, keepdims=True)
        np.exp(z, out=z)
        z /= z.sum(axis=1, keepdims=True)
        return z

    def predict_log_proba(self, X) -> np.ndarray:
        """Natural log of :meth:`predict_proba`, float64 ``(n, K)``."""
        z = self._logits(self._check_X(X)).astype(np.float64)
        z -= z.max(axis=1, keepdims=True)
        return z - np.log(np.exp(z).sum(axis=1, keepdims=True))

    def predict(self, X) -> np.ndarray:
        """Most probable class of each row, ``(n,)`` with the dtype of ``classes_``."""
        best = np.argmax(self._logits(self._check_X(X)), axis=1)
        return self.classes_[best]


# ------------------------------------------------------------------------------ training core

class _DropoutMasks:
    """Dropout masks (already scaled by ``1 / (1 - p)``), generated quickly and reproducibly:
    on the CPU from numpy's PCG64 in one call per batch, on CUDA with a torch generator."""

    def __init__(self, p: float, seed: int, device: str):
        import torch

        self.p = p
        self.scale = 1.0 / (1.0 - p)
        self.device = device
        if device == "cpu":
            self.rng = np.random.default_rng(seed)
        else:
            self.gen = torch.Generator(device=device).manual_seed(seed)

    def __call__(self, n_layers: int, rows: int, units: int):
        """``(n_layers, rows, units)`` float32 masks, or None without dropout."""
        if self.p == 0.0 or n_layers == 0:
            return None
        import torch

        if self.device == "cpu":
            u = torch.from_numpy(self.rng.random((n_layers, rows, units), dtype=np.float32))
        else:
            u = torch.rand((n_layers, rows, units), generator=self.gen, device=self.device)
        return u.ge_(self.p).mul_(self.scale)


class _Shuffler:
    """Per-epoch permutations of the training instances (reproducible)."""

    def __init__(self, seed: int, device: str):
        self.rng = np.random.default_rng(seed)
        self.device = device

    def __call__(self, n: int):
        import torch

        return torch.from_numpy(self.rng.permutation(n)).to(self.device)


def _forward_backward(params, x, onehot, masks: _DropoutMasks):
    """One forward and backward pass of the MLP; stores the gradients in ``p.grad``.

    ``params`` = ``[W1, b1, ..., Wout, bout]`` with ``W`` of shape ``(in, out)``; ``onehot``
    ``(rows, K)``. Equivalent to autograd on ``cross_entropy(mlp(x), y)`` (tested), without
    its bookkeeping: ReLU and dropout are applied in place and the gradient of the softmax
    cross-entropy is ``(softmax(z) - onehot) / rows``. Returns the mean cross-entropy (a 0-d
    tensor, no device sync).
    """
    import torch

    n_layers = len(params) // 2
    n_hidden = n_layers - 1
    rows = x.shape[0]
    m = masks(n_hidden, rows, params[0].shape[1]) if n_hidden else None
    acts = [x]
    a = x
    for layer in range(n_hidden):
        a = torch.addmm(params[2 * layer + 1], a, params[2 * layer]).clamp_min_(0.0)
        if m is not None:
            a.mul_(m[layer])
        acts.append(a)
    z = torch.addmm(params[-1], a, params[-2])
    logp = torch.log_softmax(z, dim=1)
    loss = -(logp * onehot).sum() / rows
    dz = logp.exp_().sub_(onehot).div_(rows)
    for layer in range(n_hidden, -1, -1):
        w = params[2 * layer]
        a_in = acts[layer]
        w.grad = a_in.T @ dz
        params[2 * layer + 1].grad = dz.sum(dim=0)
        if layer > 0:
            da = dz @ w.T
            # d/dz of dropout(relu(z)): the mask where the unit was active, else 0
            if m is not None:
                da.mul_(m[layer - 1])
            dz = da.mul_(a_in > 0)
    return loss
