"""rae_fast._io: atomic writes, write errors that name the file, free-space checks.

The write failures are mocked (an ``OSError(ENOSPC)`` at each stage of a write); the last test
fills a real, tiny tmpfs when the tests run as root and can mount one, and skips otherwise.
"""
import errno
import os
import pickle
import subprocess
from pathlib import Path

import numpy as np
import pytest

from rae_fast import _io
from rae_fast._io import (WriteError, atomic_path, atomic_write_text, check_space, disk_full,
                          free_space, write_error)

ENOSPC = OSError(errno.ENOSPC, "No space left on device")


def leftovers(folder: Path):
    return sorted(p.name for p in Path(folder).iterdir())


# ------------------------------------------------------------------------------ WriteError

def test_write_error_reads_as_one_line_naming_the_file():
    e = WriteError(errno.ENOSPC, "No space left on device", "out/x.nc")
    assert str(e) == "no space left on device while writing out/x.nc"
    assert isinstance(e, OSError) and e.errno == errno.ENOSPC and e.filename == "out/x.nc"
    assert str(WriteError(errno.EDQUOT, "", "q.nc")) == "disk quota exceeded while writing q.nc"
    assert str(WriteError(errno.EIO, "Input/output error", "a.csv")) == \
        "cannot write a.csv: Input/output error"
    e.note = "kept x.nc.partial"
    assert str(e) == "no space left on device while writing out/x.nc; kept x.nc.partial"
    back = pickle.loads(pickle.dumps(e))
    assert str(back) == str(e) and back.errno == errno.ENOSPC


def test_write_error_maps_what_libraries_raise(tmp_path, monkeypatch):
    out = tmp_path / "out.nc"
    # an errno (also one in the chain of a library's own exception) is kept, the file named
    e = write_error(OSError(errno.ENOSPC, "No space left on device"), out)
    assert isinstance(e, WriteError) and e.errno == errno.ENOSPC and e.filename == str(out)
    try:
        try:
            raise OSError(errno.EDQUOT, "Disk quota exceeded")
        except OSError as inner:
            raise RuntimeError("wrapped") from inner
    except RuntimeError as outer:
        assert write_error(outer, out).errno == errno.EDQUOT
    # netCDF4 / torch: a RuntimeError without errno -> ENOSPC when the disk is (nearly) full
    monkeypatch.setattr(_io, "free_space", lambda path: 1000)
    e = write_error(RuntimeError("NetCDF: HDF error"), out)
    assert e.errno == errno.ENOSPC and str(e) == f"no space left on device while writing {out}"
    # numpy's short write: OSError without errno nor file name
    assert write_error(OSError("64575 requested and 24544 written"), out).errno == errno.ENOSPC
    monkeypatch.setattr(_io, "free_space", lambda path: 10 << 30)
    e = write_error(RuntimeError("NetCDF: HDF error"), out)
    assert e.errno == errno.EIO and str(e) == f"cannot write {out}: NetCDF: HDF error"
    # an OSError naming its own file (permission, missing folder) is the user's to read as is
    perm = PermissionError(errno.EACCES, "Permission denied", "/ro/out.nc")
    assert write_error(perm, out) is perm
    # not an I/O error: unchanged
    for exc in (KeyboardInterrupt(), ValueError("bad")):
        assert write_error(exc, out) is exc


def test_free_space_and_check_space(tmp_path, monkeypatch):
    assert free_space(tmp_path) > 0
    assert free_space(tmp_path / "not" / "yet" / "there.nc") == free_space(tmp_path)
    check_space(tmp_path / "x.nc", 1)
    with pytest.raises(WriteError, match=r"^no space left on device while writing NAME$"):
        check_space(tmp_path / "x.nc", 1 << 62, name="NAME")

    class NoBlocks:                      # virtual file systems that report nothing
        f_blocks = f_bfree = f_bavail = 0
        f_frsize = 4096

    monkeypatch.setattr(os, "statvfs", lambda p: NoBlocks())
    assert free_space(tmp_path) is None and not disk_full(tmp_path, 1 << 62)
    check_space(tmp_path, 1 << 62)       # unknown: no refusal


# ----------------------------------------------------------------------------- atomic_path

@pytest.mark.parametrize("stage", ["write", "close", "fsync"])
def test_atomic_path_disk_full_at_each_stage(tmp_path, monkeypatch, stage):
    """ENOSPC while writing, when the buffer is flushed at close, or at fsync: the old file
    stays, the temporary file goes, the error names the output."""
    target = tmp_path / "out.csv"
    target.write_text("old\n")

    class Full:
        def __init__(self, fh):
            self.fh = fh

        def write(self, data):
            if stage == "write":
                raise OSError(errno.ENOSPC, "No space left on device")
            return self.fh.write(data)

        def close(self):
            self.fh.close()
            if stage == "close":
                raise OSError(errno.ENOSPC, "No space left on device")

    if stage == "fsync":
        monkeypatch.setattr(_io.os, "fsync", lambda fd: (_ for _ in ()).throw(
            OSError(errno.ENOSPC, "No space left on device")))
    with pytest.raises(WriteError) as info:
        with atomic_path(target) as tmp:
            fh = Full(open(tmp, "w"))
            try:
                fh.write("new content\n")
            finally:
                fh.close()
    assert info.value.errno == errno.ENOSPC and info.value.filename == str(target)
    assert str(info.value) == f"no space left on device while writing {target}"
    assert target.read_text() == "old\n"
    assert leftovers(tmp_path) == ["out.csv"]


def test_atomic_path_cleanup_never_hides_the_error(tmp_path, monkeypatch):
    real_unlink = Path.unlink

    def unlink(self, *a, **kw):
        if self.name.endswith(".tmp"):
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return real_unlink(self, *a, **kw)

    monkeypatch.setattr(Path, "unlink", unlink)
    with pytest.raises(WriteError, match="no space left on device while writing"):
        with atomic_path(tmp_path / "a.txt"):
            raise OSError(errno.ENOSPC, "No space left on device")
    with pytest.raises(KeyboardInterrupt):
        with atomic_path(tmp_path / "b.txt"):
            raise KeyboardInterrupt


def test_atomic_path_keep_partial_only_for_interruptions(tmp_path):
    target = tmp_path / "r.bin"
    with pytest.raises(KeyboardInterrupt):
        with atomic_path(target, keep_partial=True) as tmp:
            tmp.write_bytes(b"abc")
            raise KeyboardInterrupt
    assert leftovers(tmp_path) == ["r.bin.partial"]          # resumable
    with pytest.raises(WriteError):
        with atomic_path(target, keep_partial=True) as tmp:
            tmp.write_bytes(b"abcdef")
            raise OSError(errno.ENOSPC, "No space left on device")
    assert leftovers(tmp_path) == []                          # half-written: good for nothing


def test_atomic_path_does_not_turn_other_errors_into_write_errors(tmp_path):
    with pytest.raises(ValueError):
        with atomic_path(tmp_path / "a.txt"):
            raise ValueError("bad input")
    with pytest.raises(FileNotFoundError):
        with atomic_path(tmp_path / "b.txt"):
            open(tmp_path / "missing-input.txt")
    assert leftovers(tmp_path) == []


def test_atomic_files_get_ordinary_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        p = atomic_write_text(tmp_path / "a.txt", "x")
    finally:
        os.umask(old)
    assert (p.stat().st_mode & 0o777) == 0o644       # not mkstemp's 0o600
    assert p.read_text() == "x"


# ---------------------------------------------------------------------- a real full disk

@pytest.fixture
def tiny_tmpfs(tmp_path):
    """A 4 MiB tmpfs (root only; skips when it cannot be mounted)."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mnt = tmp_path / "tmpfs"
    mnt.mkdir()
    try:
        res = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4M", "tmpfs", str(mnt)],
                             capture_output=True, timeout=20)
    except (OSError, subprocess.SubprocessError) as exc:
        pytest.skip(f"cannot mount a tmpfs: {exc}")
    if res.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {res.stderr.decode(errors='replace').strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True, timeout=20)


def test_real_full_disk(tiny_tmpfs, monkeypatch):
    """On a real full file system every writer fails with one clear error and leaves nothing;
    a netCDF file whose write failed is deleted and its space is given back."""
    torch = pytest.importorskip("torch")
    from rae_fast import obj
    from rae_fast.dataset import DataSet, DataSetWriter, load, save
    from rae_fast.dataset import writer as netcdf
    from rae_fast.model import checkpoints

    total = free_space(tiny_tmpfs)
    big = DataSet(np.random.default_rng(0).standard_normal((800, 40, 32)).astype(np.float32),
                  ("time", "freq"), [f"f{i}.wav" for i in range(800)])       # ~4 MiB
    # 1. found out before writing (free-space check): nothing written, nothing left
    with pytest.raises(WriteError, match="no space left on device while writing"):
        save(big, tiny_tmpfs / "a.nc")
    assert leftovers(tiny_tmpfs) == []
    # 2. HDF5 fails in the middle of a write (check bypassed): file deleted, space back
    monkeypatch.setattr(netcdf, "check_space", lambda *a, **k: None)
    monkeypatch.setattr(DataSetWriter, "_FLUSH_BYTES", 256 << 10)
    with pytest.raises(WriteError, match=r"no space left on device while writing .*b\.nc$"):
        save(big, tiny_tmpfs / "b.nc")
    assert leftovers(tiny_tmpfs) == []
    assert free_space(tiny_tmpfs) >= total - (64 << 10)
    monkeypatch.undo()
    small = DataSet(big.features[:10], big.feature_dims, big.filenames[:10])
    save(small, tiny_tmpfs / "small.nc")                      # the disk works again
    assert load(tiny_tmpfs / "small.nc").equals(small)
    (tiny_tmpfs / "small.nc").unlink()
    # 3. the other writers, on a disk filled up to a few KiB
    with open(tiny_tmpfs / "fill", "wb") as fh:
        fh.write(b"\0" * (free_space(tiny_tmpfs) - (8 << 10)))
    with pytest.raises(WriteError, match="no space left on device while writing .*c.csv"):
        atomic_write_text(tiny_tmpfs / "c.csv", "x" * (64 << 10))
    A = np.random.default_rng(1).standard_normal((40, 30)).astype(np.float32)
    with pytest.raises(WriteError, match=r"no space left on device while writing .*acf\.obj"):
        obj.write_autocorrelogram(tiny_tmpfs / "acf.obj", A, np.arange(30.0), np.arange(40.0))
    model = torch.nn.Linear(200, 200)
    opt = torch.optim.Adam(model.parameters())
    (tiny_tmpfs / "run" / "checkpoints").mkdir(parents=True)
    with pytest.raises(WriteError, match=r"no space left on device while writing "
                                         r".*epoch_0001\.pt"):
        checkpoints._save_checkpoint(tiny_tmpfs / "run", 1, model, opt, torch.device("cpu"),
                                     type("C", (), {"to_dict": lambda self: {}})(),
                                     type("T", (), {"to_dict": lambda self: {}})(), 0.5, 3)
    assert leftovers(tiny_tmpfs) == ["fill", "run"]
    assert leftovers(tiny_tmpfs / "run" / "checkpoints") == []
