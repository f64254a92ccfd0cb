"""A real local Ray cluster for the tests: a head node and a second worker node on this machine
(``ray.cluster_utils.Cluster``, the multi-node simulation Ray documents for testing: separate
GCS / raylet / object store / worker processes per node), one CPU each.

Token authentication is on (Ray >= 2.59 enables it for local clusters) with a random token in
the environment, so nothing is written to ``~/.ray``. Everything lives in a short temporary
folder (Unix socket paths are limited to ~100 characters) and :meth:`LocalRayCluster.stop`
checks that no process of the cluster outlives it.
"""
from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np

#: sitecustomize.py of a node whose workers cannot import rae_fast (as if not installed there)
BLOCK_RAE_FAST = '''
import sys
class _NoRaeFast:
    def find_spec(self, name, path=None, target=None):
        if name == "rae_fast" or name.startswith("rae_fast."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None
sys.meta_path.insert(0, _NoRaeFast())
'''

#: sitecustomize.py of a node whose workers run "another version" of rae_fast
OTHER_VERSION = '''
import importlib.abc, importlib.util, sys
class _OldVersion(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, name, path=None, target=None):
        if name == "rae_fast._version":
            return importlib.util.spec_from_loader(name, self)
        return None
    def create_module(self, spec):
        return None
    def exec_module(self, module):
        module.__version__ = "0.0.1"
sys.meta_path.insert(0, _OldVersion())
'''


#: One token for every cluster these helpers start in this process (a driver may join any).
_TOKEN = secrets.token_hex(16)


def _refresh_ray_auth() -> None:
    """Ray caches its authentication settings when imported; read the environment again."""
    from ray._raylet import AuthenticationTokenLoader, Config

    Config.initialize("")
    AuthenticationTokenLoader.instance().reset_cache()


def _pids_with(text: str) -> List[int]:
    """Processes whose command line contains ``text`` (Linux /proc)."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in cmd:
            out.append(int(entry.name))
    return out


def _descendants(roots: List[int]) -> List[int]:
    """``roots`` and every process below them (Linux /proc)."""
    children: Dict[int, List[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], list(roots)
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def _alive(pids: List[int]) -> List[int]:
    out = []
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            out.append(pid)
    return out


def worker_pids(title: str) -> List[int]:
    """Ray worker processes whose title starts with ``ray::<title>`` (a task running)."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if cmd.startswith(f"ray::{title}"):
            out.append(int(entry.name))
    return out


class LocalRayCluster:
    """Head + ``n_nodes - 1`` worker nodes (1 CPU each, the head ``head_cpus``) on loopback;
    :meth:`stop` tears everything down."""

    def __init__(self, n_nodes: int = 2, object_store_mb: int = 300, head_cpus: int = 1):
        from ray.cluster_utils import Cluster

        self._saved_env: Dict[str, Optional[str]] = {}
        self._set_env(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=_TOKEN,
                      RAY_USAGE_STATS_ENABLED="0", RAY_ADDRESS=None)
        self.tmp = tempfile.mkdtemp(prefix="rfr", dir="/tmp")
        self.object_store = object_store_mb << 20
        self.extra: List = []
        try:
            self.cluster = Cluster(initialize_head=True, head_node_args=dict(
                num_cpus=head_cpus, include_dashboard=False, temp_dir=self.tmp,
                object_store_memory=self.object_store))
            for _ in range(n_nodes - 1):
                self.cluster.add_node(num_cpus=1, object_store_memory=self.object_store)
            self.cluster.wait_for_nodes()
        except BaseException:
            self.stop()
            raise
        self.address = self.cluster.address

    def _set_env(self, **values) -> None:
        for key, value in values.items():
            self._saved_env.setdefault(key, os.environ.get(key))
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        _refresh_ray_auth()

    def env(self) -> Dict[str, str]:
        """Environment for a driver subprocess (the CLI) joining this cluster."""
        return dict(os.environ, RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=_TOKEN)

    def add_node(self, sitecustomize: Optional[str] = None, num_cpus: int = 1):
        """Another node, optionally with a ``sitecustomize.py`` for its worker processes."""
        env = {}
        if sitecustomize is not None:
            folder = tempfile.mkdtemp(prefix="site", dir=self.tmp)
            Path(folder, "sitecustomize.py").write_text(sitecustomize)
            env["PYTHONPATH"] = folder
        node = self.cluster.add_node(num_cpus=num_cpus, object_store_memory=self.object_store,
                                     env_vars=env)
        self.cluster.wait_for_nodes()
        self.extra.append(node)
        return node

    def remove_node(self, node) -> None:
        self.cluster.remove_node(node)
        self.extra.remove(node)

    def stop(self) -> None:
        import ray

        if ray.is_initialized():
            ray.shutdown()
        cluster = getattr(self, "cluster", None)
        # the node processes name the cluster's folder in their command line; the workers
        # (renamed ray::...) are their children
        ours = _descendants(_pids_with(self.tmp))
        if cluster is not None:
            cluster.shutdown()
        deadline = time.monotonic() + 20
        while _alive(ours) and time.monotonic() < deadline:
            time.sleep(0.2)
        left = _alive(ours)
        for pid in left:                     # only processes of this cluster
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        shutil.rmtree(self.tmp, ignore_errors=True)
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        _refresh_ray_auth()
        assert not left, f"Ray processes outlived the cluster: {left}"


# ------------------------------------------------------------------ helpers of the tests

def nc_content(path):
    """Every variable's raw values (bytes) and every global attribute of a netCDF file."""
    import netCDF4

    with netCDF4.Dataset(str(path)) as nc:
        nc.set_auto_maskandscale(False)
        out = {name: np.asarray(var[:]).tobytes() if var.dtype != str else
               "\0".join(np.asarray(var[:], dtype=object).ravel().tolist()).encode()
               for name, var in nc.variables.items()}
        out["attrs"] = {k: str(nc.getncattr(k)) for k in nc.ncattrs()}
        out["dims"] = {k: len(d) for k, d in nc.dimensions.items()}
    return out


def assert_same_file(a, b):
    from rae_fast.dataset import load

    da, db = load(a), load(b)
    assert da.equals(db)
    assert nc_content(a) == nc_content(b)


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def rae_fast_cli(*args, env=None, timeout=300, **kw):
    return subprocess.run([sys.executable, "-m", "rae_fast", *map(str, args)], env=env,
                          capture_output=True, text=True, timeout=timeout, **kw)
