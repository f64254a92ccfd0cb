"""A full disk, everywhere: the netCDF writer at every stage of a write, the commands built on
it, and every ``rae-fast`` command: one line ``rae-fast CMD: error: no space left on device
while writing FILE``, exit status 2, no traceback, and nothing left behind but the files meant
for resuming.

The failures are mocked: netCDF4/HDF5 reports a full disk as ``RuntimeError: NetCDF: HDF
error`` (no errno), torch as ``RuntimeError: [enforce fail at inline_container.cc] ...``, Python
writes as ``OSError(ENOSPC)``; the file system's free space (``rae_fast._io.free_space``) is
set to 0 when the disk "fills up". tests/test_io.py also fills a real tmpfs.
"""
import errno
import shlex
from pathlib import Path

import numpy as np
import pytest

from rae_fast import _io
from rae_fast._io import WriteError
from rae_fast.cli import main
from rae_fast.dataset import DataSet, DataSetWriter, load, save
from rae_fast.dataset import writer as netcdf

HDF_ERROR = "NetCDF: HDF error"
TORCH_ERROR = "[enforce fail at inline_container.cc:672] . unexpected pos 576 vs 534"


class Disk:
    """The free space the writers see: real until ``full`` is set (then 0)."""

    def __init__(self):
        self.full = False


@pytest.fixture
def disk(monkeypatch):
    d = Disk()
    real = _io.free_space
    monkeypatch.setattr(_io, "free_space", lambda path: 0 if d.full else real(path))
    return d


def fill_after_checks(monkeypatch, disk, n):
    """The disk fills up after the netCDF writer's ``n``-th free-space check (flush)."""
    real = netcdf.check_space
    calls = {"n": 0}

    def check(*a, **kw):
        calls["n"] += 1
        if calls["n"] > n:
            disk.full = True
        return real(*a, **kw)

    monkeypatch.setattr(netcdf, "check_space", check)
    return calls


class FailingVar:
    def __init__(self, var, owner):
        self._var, self._owner = var, owner

    def __setitem__(self, idx, value):
        self._owner.maybe_fail("write:" + self._var.name)
        self._var[idx] = value

    def __getitem__(self, idx):
        return self._var[idx]

    def __getattr__(self, name):
        return getattr(self._var, name)


class FailingNC:
    """A netCDF4.Dataset whose operation ``stage`` fails once as HDF5 fails on a full disk;
    from then on the disk is full."""

    def __init__(self, nc, stage, disk, after=0):
        self._nc, self._stage, self._disk, self._after = nc, stage, disk, after
        self.fired = False

    def maybe_fail(self, op):
        if op == self._stage and not self.fired:
            if self._after:
                self._after -= 1
                return
            self.fired = True
            self._disk.full = True
            raise RuntimeError(HDF_ERROR)

    @property
    def variables(self):
        return {k: FailingVar(v, self) for k, v in self._nc.variables.items()}

    def setncattr(self, key, value):
        self.maybe_fail("attr:" + key)
        self._nc.setncattr(key, value)

    def sync(self):
        self.maybe_fail("sync")
        self._nc.sync()

    def close(self):
        self.maybe_fail("close")
        self._nc.close()

    def __getattr__(self, name):
        return getattr(self._nc, name)


def fail_netcdf(monkeypatch, disk, stage, after=0):
    """Every DataSetWriter made from now on fails at ``stage`` (after ``after`` successes)."""
    real_create = DataSetWriter._create
    made = []

    def create(self):
        real_create(self)
        self._nc = FailingNC(self._nc, stage, disk, after)
        made.append(self._nc)

    monkeypatch.setattr(DataSetWriter, "_create", create)
    return made


def leftovers(folder):
    folder = Path(folder)
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def one_error_line(capsys, command):
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if not line.startswith("INFO:")]
    assert len(lines) == 1, err
    assert lines[0].startswith(f"rae-fast {command}: error: no space left on device while "
                               f"writing "), lines[0]
    return lines[0]


# =========================================================================== DataSetWriter

def feats(n, seed=0):
    return np.random.default_rng(seed).standard_normal((n, 6, 4)).astype(np.float32)


def write_all(path, x, writer=None, **kw):
    w = writer or DataSetWriter(path, ("time", "freq"), (6, 4), **kw)
    with w:
        for i in range(0, len(x), 5):
            w.append(x[i:i + 5], [f"f{j}.wav" for j in range(i, min(len(x), i + 5))])
            w.flush()
    return w


@pytest.mark.parametrize("keep_partial", [True, False])
@pytest.mark.parametrize("stage", ["write:filename", "write:label_nominal", "write:features",
                                   "attr:rae_fast_n_complete", "sync", "close", "attr:note",
                                   "fsync"])
def test_writer_disk_full_inside_a_write_deletes_the_file(tmp_path, monkeypatch, disk, stage,
                                                          keep_partial):
    """A write into the file that fails may leave HDF5's structures half-updated: the file
    is deleted (never renamed into place, never kept for resuming), the first error raised,
    naming the output, and the next writer works."""
    out = tmp_path / "out.nc"
    x = feats(20)
    if stage == "fsync":
        monkeypatch.setattr(netcdf, "fsync_file", lambda p: (_ for _ in ()).throw(
            OSError(errno.ENOSPC, "No space left on device")))
    else:
        fail_netcdf(monkeypatch, disk, stage, after=0 if stage in ("close", "attr:note") else 2)
    w = DataSetWriter(out, ("time", "freq"), (6, 4), keep_partial=keep_partial)
    with pytest.raises(WriteError) as info:
        for i in range(0, 20, 5):
            w.append(x[i:i + 5], [f"f{j}.wav" for j in range(i, i + 5)])
            w.flush()
        w.close(extra_attrs={"note": "x"})
    w.abort()                                           # what `with` / preprocess do next
    assert info.value.errno == errno.ENOSPC and info.value.filename == str(out)
    assert str(info.value) == f"no space left on device while writing {out}"
    assert leftovers(tmp_path) == []
    monkeypatch.undo()
    write_all(out, x)
    assert np.array_equal(load(out).features, x)


def test_writer_disk_too_full_for_the_next_batch_keeps_a_resumable_file(tmp_path, monkeypatch,
                                                                       disk):
    """The free space is checked before each write: when the next batch cannot fit, nothing
    is written, and the file stays complete up to its recorded count, for resuming."""
    out = tmp_path / "out.nc"
    x = feats(20)
    write_all(tmp_path / "ref.nc", x)
    fill_after_checks(monkeypatch, disk, 2)              # room for 2 batches of 5
    with pytest.raises(WriteError) as info:
        write_all(out, x)
    err = info.value
    assert err.errno == errno.ENOSPC and err.filename == str(out)
    assert str(err) == (f"no space left on device while writing {out}; the 10 instances "
                        f"written before are kept in {out}.partial: free some space and run "
                        "again to resume")
    assert leftovers(tmp_path) == ["out.nc.partial", "ref.nc"]
    kept = load(out.with_name("out.nc.partial"))        # complete up to its count
    assert len(kept) == 10 and np.array_equal(kept.features, x[:10])
    disk.full = False
    monkeypatch.undo()
    w = DataSetWriter(out, ("time", "freq"), (6, 4), resume=True)
    assert w.resumed and w.n_written == 10
    with w:
        w.append(x[10:], [f"f{j}.wav" for j in range(10, 20)])
    assert leftovers(tmp_path) == ["out.nc", "ref.nc"]
    a, b = load(out), load(tmp_path / "ref.nc")
    assert a.equals(b) and a.features.tobytes() == b.features.tobytes()


def test_writer_without_keep_partial_or_without_instances_leaves_nothing(tmp_path, monkeypatch,
                                                                          disk):
    fill_after_checks(monkeypatch, disk, 2)
    with pytest.raises(WriteError):
        write_all(tmp_path / "a.nc", feats(20), keep_partial=False)
    assert leftovers(tmp_path) == []
    fill_after_checks(monkeypatch, disk, 0)
    with pytest.raises(WriteError) as info:
        write_all(tmp_path / "b.nc", feats(20))
    assert leftovers(tmp_path) == [] and info.value.note is None


def test_writer_disk_full_when_creating_the_file(tmp_path, monkeypatch, disk):
    import netCDF4

    def refuse(path, mode="r", **kw):
        Path(path).touch()
        raise PermissionError(errno.EACCES, "Permission denied", str(path))  # netCDF4 says so

    monkeypatch.setattr(netCDF4, "Dataset", refuse)
    disk.full = True
    with pytest.raises(WriteError, match=r"^no space left on device while writing .*out\.nc$"):
        DataSetWriter(tmp_path / "out.nc", ("time", "freq"), (6, 4))
    assert leftovers(tmp_path) == []
    disk.full = False                                    # a real permission problem stays one
    with pytest.raises(PermissionError):
        DataSetWriter(tmp_path / "out.nc", ("time", "freq"), (6, 4))


def test_save_leaves_nothing_and_keeps_an_existing_file(tmp_path, monkeypatch, disk,
                                                        make_dataset):
    ds = make_dataset(n=30)
    save(ds, tmp_path / "d.nc")
    before = (tmp_path / "d.nc").read_bytes()
    fail_netcdf(monkeypatch, disk, "write:features")
    with pytest.raises(WriteError, match="no space left on device while writing"):
        save(make_dataset(n=30, seed=1), tmp_path / "d.nc")
    assert leftovers(tmp_path) == ["d.nc"] and (tmp_path / "d.nc").read_bytes() == before


# ========================================================================= the commands

def test_fuse_files_and_reconstruct_leave_nothing(tmp_path, monkeypatch, disk, make_dataset):
    pytest.importorskip("onnxruntime")
    torch = pytest.importorskip("torch")
    from rae_fast.fusion import fuse_files
    from rae_fast.inference import reconstruct
    from rae_fast.model import AutoencoderConfig, RecurrentAutoencoder, export_autoencoder

    reps = make_dataset(n=12, feature_shape=(5,))
    save(reps, tmp_path / "a.nc")
    torch.manual_seed(0)
    model = RecurrentAutoencoder(AutoencoderConfig(num_features=8, num_units=4)).eval()
    ae = export_autoencoder(model, tmp_path / "ae.onnx")
    save(make_dataset(n=12, feature_shape=(7, 8)), tmp_path / "specs.nc")
    before = leftovers(tmp_path)
    disk.full = True
    with pytest.raises(WriteError, match="while writing .*f.nc$"):
        fuse_files([tmp_path / "a.nc", tmp_path / "a.nc"], tmp_path / "f.nc")
    disk.full = False
    fail_netcdf(monkeypatch, disk, "write:features")
    with pytest.raises(WriteError, match="while writing .*r.nc$"):
        reconstruct(ae, tmp_path / "specs.nc", tmp_path / "r.nc", progress=False)
    assert leftovers(tmp_path) == before
    # the RMSE file cannot be written: neither output stays
    monkeypatch.undo()
    real = _io.atomic_write_text

    def full(path, *a, **kw):
        if str(path).endswith(".rmse.csv"):
            raise WriteError(errno.ENOSPC, "No space left on device", str(path))
        return real(path, *a, **kw)

    import rae_fast.inference.batch as batch
    monkeypatch.setattr(batch, "atomic_write_text", full)
    with pytest.raises(WriteError, match=r"r\.nc\.rmse\.csv"):
        reconstruct(ae, tmp_path / "specs.nc", tmp_path / "r.nc", progress=False)
    assert leftovers(tmp_path) == before


# ====================================================================== the command line

SMALL = ["--window-width", "0.04", "--window-overlap", "0.02", "--mel-spectrum", "24",
         "--fixed-length", "1.0", "--center-fixed", "--quiet", "--workers", "1"]


@pytest.fixture
def collection(make_collection):
    root, _ = make_collection("cross_validated", labels=("a", "b", "c"), per_label=4,
                              duration=1.1)
    return root


@pytest.mark.parametrize("how", ["too_full_for_next_batch", "write_fails"])
def test_cli_preprocess(tmp_path, collection, monkeypatch, disk, capsys, how):
    ref, out = tmp_path / "ref.nc", tmp_path / "out" / "specs.nc"
    args = ["preprocess", "--basedir", str(collection)] + SMALL
    assert main(args + ["--output", str(ref)]) == 0
    capsys.readouterr()
    monkeypatch.setattr(DataSetWriter, "_FLUSH_BYTES", 1)          # a write per file
    if how == "too_full_for_next_batch":
        fill_after_checks(monkeypatch, disk, 5)
    else:
        fail_netcdf(monkeypatch, disk, "write:features", after=5)
    assert main(args + ["--output", str(out)]) == 2
    line = one_error_line(capsys, "preprocess")
    assert f"while writing {out}" in line
    if how == "too_full_for_next_batch":
        # decided: the instances written before stay in OUT.partial, for resuming
        assert f"the 5 instances written before are kept in {out}.partial" in line
        assert leftovers(out.parent) == ["specs.nc.partial"]
    else:
        # the file HDF5 failed to write cannot be trusted: deleted
        assert line == f"rae-fast preprocess: error: no space left on device while writing {out}"
        assert leftovers(out.parent) == []
    monkeypatch.undo()
    disk.full = False
    assert main(args + ["--output", str(out)]) == 0
    text = capsys.readouterr().out
    assert ("resumed after 5 files" in text) == (how == "too_full_for_next_batch")
    a, b = load(out), load(ref)
    assert a.equals(b) and a.features.tobytes() == b.features.tobytes()
    assert leftovers(out.parent) == ["specs.nc"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """specs.nc, a trained run (2 epochs) with its ONNX exports, and reps.nc."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("onnxruntime")
    d = tmp_path_factory.mktemp("trained")
    rng = np.random.default_rng(0)
    n = 24
    x = np.tanh(rng.standard_normal((n, 10, 6))).astype(np.float32)
    f = np.arange(n) // 2                                 # two chunks per file
    save(DataSet(x, ("time", "freq"), [f"{k % 3}-{k:03d}-A.wav" for k in f],
                 chunk_nr=np.arange(n) % 2, label_nominal=[["a", "b"][k % 2] for k in f],
                 cv_folds=[[(k // 2) % 2, 1 - (k // 2) % 2] for k in f], partition=f % 3),
         d / "specs.nc")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        assert main(["train", "--input", str(d / "specs.nc"), "--run-dir", str(d / "run"),
                     "--num-epochs", "2", "--num-units", "4", "--batch-size", "8",
                     "--quiet"]) == 0
        assert main(["export-onnx", str(d / "run")]) == 0
        assert main(["generate", "--model", str(d / "run"), "--input", str(d / "specs.nc"),
                     "--output", str(d / "reps.nc"), "--quiet"]) == 0
    finally:
        torch.set_num_threads(threads)
    return d


@pytest.mark.parametrize("how", ["too_full_for_next_batch", "write_fails"])
def test_cli_generate(tmp_path, trained, monkeypatch, disk, capsys, how):
    out = tmp_path / "reps.nc"
    args = ["generate", "--model", str(trained / "run" / "encoder.onnx"), "--input",
            str(trained / "specs.nc"), "--output", str(out), "--batch-size", "4", "--quiet"]
    monkeypatch.setattr(DataSetWriter, "_FLUSH_BYTES", 1)
    if how == "too_full_for_next_batch":
        fill_after_checks(monkeypatch, disk, 3)
    else:
        fail_netcdf(monkeypatch, disk, "sync", after=3)
    capsys.readouterr()
    assert main(args) == 2
    line = one_error_line(capsys, "generate")
    if how == "too_full_for_next_batch":
        assert f"the 12 instances written before are kept in {out}.partial" in line
        assert leftovers(tmp_path) == ["reps.nc.partial"]
    else:
        assert line == f"rae-fast generate: error: no space left on device while writing {out}"
        assert leftovers(tmp_path) == []
    monkeypatch.undo()
    disk.full = False
    assert main(args) == 0
    a, b = load(out), load(trained / "reps.nc")
    assert a.equals(b) and a.features.tobytes() == b.features.tobytes()   # resume: bitwise
    assert leftovers(tmp_path) == ["reps.nc"]


def test_cli_train_disk_full_then_the_named_command_continues(tmp_path, trained, monkeypatch,
                                                              disk, capsys):
    torch = pytest.importorskip("torch")
    from rae_fast.model import load_model

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        run, ref = tmp_path / "run", tmp_path / "ref"
        args = ["train", "--input", str(trained / "specs.nc"), "--num-epochs", "3",
                "--num-units", "4", "--batch-size", "8", "--quiet"]
        assert main(args + ["--run-dir", str(ref)]) == 0
        real_save = torch.save
        calls = {"n": 0}

        def save_fails_at_epoch_2(obj, f, *a, **kw):
            calls["n"] += 1
            if calls["n"] == 2:
                Path(f).write_bytes(b"PK\x03\x04 half")
                disk.full = True
                raise RuntimeError(TORCH_ERROR)
            return real_save(obj, f, *a, **kw)

        monkeypatch.setattr(torch, "save", save_fails_at_epoch_2)
        capsys.readouterr()
        assert main(args + ["--run-dir", str(run)]) == 2
        line = one_error_line(capsys, "train")
        assert line.startswith(f"rae-fast train: error: no space left on device while writing "
                               f"{run / 'checkpoints' / 'epoch_0002.pt'}; free some space, then "
                               f"continue from epoch 1")
        assert leftovers(run) == ["checkpoints", "checkpoints/epoch_0001.pt", "config.json",
                                  "loss.csv"]
        command = shlex.split(line.split(" with: ", 1)[1])
        assert command[0] == "rae-fast" and command[-1] == "--continue"
        monkeypatch.undo()
        disk.full = False
        assert main(command[1:]) == 0
        a, b = load_model(run).state_dict(), load_model(ref).state_dict()
        assert all(torch.equal(a[k], b[k]) for k in a)
        assert (run / "loss.csv").read_text().splitlines()[1:] != []
    finally:
        torch.set_num_threads(threads)


def test_cli_train_disk_full_in_the_first_epoch_leaves_nothing(tmp_path, trained, monkeypatch,
                                                               disk, capsys):
    torch = pytest.importorskip("torch")

    def full(obj, f, *a, **kw):
        disk.full = True
        raise RuntimeError(TORCH_ERROR)

    monkeypatch.setattr(torch, "save", full)
    run = tmp_path / "new" / "run"
    args = ["train", "--input", str(trained / "specs.nc"), "--run-dir", str(run),
            "--num-epochs", "1", "--num-units", "4", "--quiet"]
    assert main(args) == 2
    line = one_error_line(capsys, "train")
    assert line.endswith("free some space, then run the same command again (no epoch was "
                         "completed)")
    assert leftovers(tmp_path) == []
    monkeypatch.undo()
    disk.full = False
    assert main(args) == 0


@pytest.mark.parametrize("fmt", ["csv", "arff", "parquet"])
def test_cli_export_is_all_or_nothing(tmp_path, trained, monkeypatch, capsys, fmt):
    """The second file of the layout does not fit: the first is removed again, and the
    folders the export made."""
    if fmt == "parquet":
        pq = pytest.importorskip("pyarrow.parquet")
    from rae_fast.export import writers

    calls = {"n": 0}
    if fmt == "parquet":
        real = pq.ParquetWriter.write_table

        def write_table(self, *a, **kw):
            calls["n"] += 1
            if calls["n"] == 2:
                raise OSError(errno.ENOSPC, "Error writing bytes to file. Detail: [errno 28] "
                                            "No space left on device")
            return real(self, *a, **kw)

        monkeypatch.setattr(pq.ParquetWriter, "write_table", write_table)
    else:
        class FullFile:
            def __init__(self, fh):
                self.fh = fh

            def write(self, text):
                if calls["n"] == 2:
                    raise OSError(errno.ENOSPC, "No space left on device")
                return self.fh.write(text)

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                self.fh.close()

        def opener(path, *a, **kw):
            calls["n"] += 1
            return FullFile(open(path, *a, **kw))

        monkeypatch.setattr(writers, "open", opener, raising=False)
    out = tmp_path / "exported"
    assert main(["export", "--input", str(trained / "reps.nc"), "--format", fmt, "--output",
                 str(out)]) == 2
    line = one_error_line(capsys, "export")
    assert line == (f"rae-fast export: error: no space left on device while writing "
                    f"{out / 'train' / 'fold_2' / ('reps.' + fmt)}")
    assert leftovers(tmp_path) == []
    monkeypatch.undo()
    assert main(["export", "--input", str(trained / "reps.nc"), "--format", fmt, "--output",
                 str(out)]) == 0
    assert f"test/fold_2/reps.{fmt}" in leftovers(out)


@pytest.mark.parametrize("how", ["too_full", "write_fails"])
def test_cli_fuse(tmp_path, trained, monkeypatch, disk, capsys, how):
    out = tmp_path / "fused.nc"
    reps = str(trained / "reps.nc")
    if how == "too_full":
        disk.full = True
    else:
        fail_netcdf(monkeypatch, disk, "write:features")
    assert main(["fuse", reps, reps, "--output", str(out)]) == 2
    assert one_error_line(capsys, "fuse") == \
        f"rae-fast fuse: error: no space left on device while writing {out}"
    assert leftovers(tmp_path) == []


# every other command that writes: the disk is full when the output is flushed to it
# (fsync), or, for the netCDF writer, before its first write
def _full_everywhere(monkeypatch, disk):
    disk.full = True

    def no_room(path):
        if "autocorrelogram_settings.json" not in Path(path).name:   # a few bytes still fit
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(_io, "fsync_file", no_room)
    monkeypatch.setattr(netcdf, "fsync_file", no_room)
    real_save = np.save

    def np_save(fh, *a, **kw):                   # .npy outputs are not fsync'ed: full at write
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(np, "save", np_save)
    return real_save


@pytest.mark.parametrize("command,output", [
    ("reconstruct --model {run}/autoencoder.onnx --input {specs} --output {out}/r.nc", "r.nc"),
    ("reconstruct --model {run} --input {specs} --output {out}/r.nc --device cpu", "r.nc"),
    ("fuse-chunks --input {reps} --output {out}/c.nc", "c.nc"),
    ("modify {reps} --output {out}/m.nc --remove-cv-setup", "m.nc"),
    ("import --input {exported} --output {out}/i.nc", "i.nc"),
    ("evaluate --input {reps} --cross-validate --num-epochs 2 --json {out}/e.json", "e.json"),
    ("evaluate --input {reps} --cross-validate --num-epochs 2 --csv {out}/e.csv", "e.csv"),
    ("evaluate --input {reps} --cross-validate --num-epochs 2 --scores-csv {out}/s.csv",
     "s.csv"),
    ("evaluate --input {reps} --cross-validate --num-epochs 2 --plot {out}/e.png", "e.png"),
    ("predict --train-input {reps} --eval-input {reps} --num-epochs 2 --output {out}/p.csv",
     "p.csv"),
    ("export-onnx {run} --output {out}/e.onnx --autoencoder-output {out}/a.onnx", "e.onnx"),
    ("train --input {specs} --run-dir {out}/run --num-epochs 1 --num-units 4",
     "run/config.json"),
    ("autocorrelogram {audio} --out {out}/acf --max-lag 32 --frame-length 256", None),
    ("autocorrelogram {audio} --out {out}/acf --max-lag 32 --frame-length 256 --format obj",
     None),
    ("autocorrelogram {audio} --out {out}/acf --max-lag 32 --frame-length 256 --format png",
     None),
])
def test_cli_every_command_says_one_line(tmp_path, trained, monkeypatch, disk, capsys,
                                         write_audio, command, output):
    if "png" in command or "--plot" in command:
        pytest.importorskip("matplotlib")
    out = tmp_path / "out"
    out.mkdir()
    exported = tmp_path / "exported"
    assert main(["export", "--input", str(trained / "reps.nc"), "--format", "csv",
                 "--output", str(exported)]) == 0
    audio = write_audio(tmp_path / "audio" / "a.wav", duration=0.3)
    argv = shlex.split(command.format(run=trained / "run", specs=trained / "specs.nc",
                                      reps=trained / "reps.nc", out=out, exported=exported,
                                      audio=audio.parent))
    _full_everywhere(monkeypatch, disk)
    capsys.readouterr()
    if argv[0] in ("autocorrelogram", "train", "reconstruct", "generate"):
        argv.append("--quiet")
    assert main(argv) == 2
    line = one_error_line(capsys, argv[0])
    if output is not None:
        assert line.split(" while writing ", 1)[1].split(";")[0] == str(out / output)
    else:
        assert "/acf/a." in line
    left = [p for p in leftovers(out) if p.endswith((".tmp", ".partial", ".nc", ".csv", ".json",
                                                     ".png", ".onnx", ".pt", ".npy", ".obj",
                                                     ".npz")) and
            not p.endswith("autocorrelogram_settings.json")]
    assert left == []
