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
import os
import shlex
from pathlib import Path

import numpy as np
import pytest

from rae_fast import _io
from rae_fast._io import WriteError
from rae_fast.cli import main
from rae_fast.dataset import DataSet, DataSetWriter, load, netcdf, save

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
