"""Joining a Ray cluster (or starting one in this process) and checking that its workers can
run rae_fast: :func:`connect`, :class:`RayCluster`.

``address`` is what ``--ray`` takes on the command line:

* ``"auto"``: the running cluster (``RAY_ADDRESS``, else the one ``ray start --head`` started on
  this machine);
* ``"local"``: a new single-machine cluster inside this process, stopped at the end;
* ``"HOST:PORT"`` (the GCS address ``ray start --head`` prints) or ``"ray://HOST:10001"``
  (Ray Client): that cluster. It is first reached with a plain TCP connection, so that a wrong
  address fails in seconds, with a clear message, instead of hanging.

Before any work, one tiny task runs on every alive node and imports rae_fast there: a node
whose workers cannot import it, or run another version, is named in the error (results would
otherwise depend on where a file was processed).
"""
from __future__ import annotations

import logging
import os
import socket
import time
from typing import Any, Dict, List, Optional

from .._validation import check_float, check_int
from .._version import __version__

log = logging.getLogger(__name__)

__all__ = ["RAY_MISSING_MESSAGE", "ClusterError", "RayCluster", "connect", "import_ray"]

#: Ray's own command that starts a cluster (a command of Ray, not a flag of rae-fast: the CLI
#: leaves it as it is).
RAY_START = "`ray start --head`"

RAY_MISSING_MESSAGE = ("Ray is not installed: pip install 'rae_fast[ray]' (on the driver and on "
                       "every node of the cluster, the same versions of Ray and rae_fast)")


class ClusterError(RuntimeError):
    """The cluster cannot run the work: a node cannot import rae_fast or runs another version,
    a worker process died more often than the retries allow, a node does not answer."""


def import_ray():
    """Import ``ray`` or raise ``ImportError`` naming the extra to install."""
    try:
        import ray
    except ImportError as exc:
        raise ImportError(RAY_MISSING_MESSAGE) from exc
    return ray


def _split_host_port(address: str):
    text = address[len("ray://"):] if address.startswith("ray://") else address
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ValueError(f"address={address!r}: expected 'auto', 'local', HOST:PORT or "
                         f"ray://HOST:PORT")
    return host.strip("[]"), int(port)


def _reachable(address: str, timeout: float) -> None:
    host, port = _split_host_port(address)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        if isinstance(exc, socket.timeout):
            reason = f"no answer within {timeout:g} s"
        raise ConnectionError(
            f"address={address!r}: no Ray cluster answers there ({reason}); start one with "
            f"{RAY_START} and give the address it prints, or use 'local' to start one in this "
            f"process") from None


class RayCluster:
    """A connection to a Ray cluster (see :func:`connect`); closing it stops the cluster only
    when :func:`connect` started it (``address="local"``) and disconnects only when it
    connected.

    Attributes
    ----------
    ray : module
        The ``ray`` module.
    address : str
        What was asked for.
    owns_connection, started_cluster : bool
    nodes : list of dict
        ``{"node_id", "ip", "host", "cpus", "gpus", "rae_fast"}`` of the alive nodes checked.
    """

    def __init__(self, ray, address: str, owns_connection: bool, started_cluster: bool):
        self.ray = ray
        self.address = address
        self.owns_connection = owns_connection
        self.started_cluster = started_cluster
        self._nodes: Optional[List[Dict[str, Any]]] = None
        self._pending_check = None
        self._check_timeout = 60.0
        self._closed = False

    @property
    def nodes(self) -> List[Dict[str, Any]]:
        """The alive nodes checked by :func:`connect` (waits for a check still running)."""
        self.check()
        return list(self._nodes or [])

    def check(self) -> None:
        """Wait for the worker check that :func:`connect` started (if it is still running) and
        raise :class:`ClusterError` when a node cannot run rae_fast; no-op afterwards."""
        if self._pending_check is not None:
            pending, self._pending_check = self._pending_check, None
            self._nodes = _collect_check(self.ray, *pending, timeout=self._check_timeout)

    @property
    def num_cpus(self) -> int:
        """CPUs of the cluster (its ``CPU`` resource) now."""
        return int(self.ray.cluster_resources().get("CPU", 0))

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self.owns_connection and self.ray.is_initialized():
            self.ray.shutdown()

    def __enter__(self) -> "RayCluster":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return (f"RayCluster(address={self.address!r}, started_cluster="
                f"{self.started_cluster})")


def connect(address: str = "auto", *, num_cpus: Optional[int] = None,
            runtime_env: Optional[Dict[str, Any]] = None, check: bool = True,
            timeout: float = 10.0, wait: bool = True) -> RayCluster:
    """Join a Ray cluster (or start one here) and check that every node can run rae_fast.

    Parameters
    ----------
    address : str
        ``"auto"``, ``"local"``, ``"HOST:PORT"`` or ``"ray://HOST:PORT"`` (see the module
        docstring). When this process is already connected (``ray.init`` was called), that
        connection is used whatever the address, and left open.
    num_cpus : int, optional
        With ``"local"``: CPUs of the new cluster (default: all cores).
    runtime_env : dict, optional
        Ray runtime environment of the job (``ray.init(runtime_env=...)``), e.g.
        ``{"env_vars": {...}}``. rae_fast itself must be installed on every node.
    check : bool
        Run the worker check (see the module docstring).
    timeout : float
        Seconds to wait for the cluster's port to answer, and (x 6) for each node's check.
    wait : bool
        Wait for the check here (default). ``False`` returns at once and lets the check run
        while the caller prepares its work; :meth:`RayCluster.check` (which
        :class:`RayExecutor` calls before using any result) waits for it and raises.

    Returns
    -------
    RayCluster
        Use it as a context manager.

    Raises
    ------
    ImportError
        Ray is not installed.
    ConnectionError
        Nothing answers at ``address``; ``"auto"`` finds no running cluster.
    ClusterError
        A node cannot import rae_fast, runs another version of it, or does not answer.

    >>> with connect("local", num_cpus=2) as cluster:        # doctest: +SKIP
    ...     cluster.num_cpus
    2
    """
    ray = import_ray()
    if not isinstance(address, str) or not address.strip():
        raise ValueError(f"address must be 'auto', 'local', HOST:PORT or ray://HOST:PORT, got "
                         f"{address!r}")
    address = address.strip()
    timeout = check_float(timeout, "timeout", 0.0, strict_min=True)
    if num_cpus is not None:
        num_cpus = check_int(num_cpus, "num_cpus", 1)
    kwargs: Dict[str, Any] = dict(logging_level=logging.WARNING, runtime_env=runtime_env)
    if ray.is_initialized():
        cluster = RayCluster(ray, address, owns_connection=False, started_cluster=False)
    elif address == "local":
        # address="local" always starts a new cluster (a bare ray.init() would join one that
        # RAY_ADDRESS names or that `ray start` recorded on this machine)
        ray.init(address="local", num_cpus=num_cpus, include_dashboard=False, **kwargs)
        cluster = RayCluster(ray, address, owns_connection=True, started_cluster=True)
    else:
        if num_cpus is not None:
            raise ValueError("num_cpus applies to address='local' (a cluster started here); a "
                             "running cluster has its own CPUs")
        if address == "auto":
            env = os.environ.get("RAY_ADDRESS")
            if env and env not in ("auto", "local"):
                _reachable(env, timeout)
        else:
            _reachable(address, timeout)
        try:
            ray.init(address=address, **kwargs)
        except ConnectionError as exc:
            if address != "auto":
                raise ConnectionError(f"address={address!r}: could not join the Ray cluster "
                                      f"there ({str(exc).splitlines()[0]})") from None
            raise ConnectionError(
                f"address='auto': no running Ray cluster was found (it looks at RAY_ADDRESS and "
                f"at a cluster started on this machine with {RAY_START}); start one, give its "
                f"address, or use 'local' to start one in this process") from None
        cluster = RayCluster(ray, address, owns_connection=True, started_cluster=False)
    try:
        if check:
            cluster._pending_check = _submit_check(ray)
            cluster._check_timeout = 6 * timeout
            if wait:
                cluster.check()
    except BaseException:
        cluster.close()
        raise
    return cluster


# ----------------------------------------------------------------------------- the check

def check_workers(ray, timeout: float = 60.0) -> List[Dict[str, Any]]:
    """Import rae_fast on every alive node of the connected cluster; raise ``ClusterError``
    naming the nodes that cannot, or that run another version. Returns the nodes."""
    return _collect_check(ray, *_submit_check(ray), timeout=timeout)


def _submit_check(ray):
    """Start the probe on every alive node: ``(nodes, refs, start time)``."""
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    from ._probe import probe

    remote = ray.remote(num_cpus=0, max_retries=1)(probe)
    nodes = [n for n in ray.nodes() if n.get("Alive")]
    refs = []
    for n in nodes:
        strategy = NodeAffinitySchedulingStrategy(n["NodeID"], soft=False)
        refs.append(remote.options(scheduling_strategy=strategy).remote())
    return nodes, refs, time.monotonic()


def _collect_check(ray, nodes, refs, t0: float, timeout: float) -> List[Dict[str, Any]]:
    ready, waiting = ray.wait(refs, num_returns=len(refs), timeout=timeout)
    problems, out = [], []
    for n, ref in zip(nodes, refs):
        where = f"node {n.get('NodeManagerAddress', '?')} ({n.get('NodeManagerHostname', '?')})"
        if ref in waiting:
            problems.append(f"{where} did not answer within {timeout:g} s")
            continue
        try:
            info = ray.get(ref)
        except Exception as exc:  # noqa: BLE001 - Ray wraps anything that failed there
            problems.append(f"{where}: the check failed ({type(exc).__name__}: "
                            f"{str(exc).splitlines()[0] if str(exc) else ''})")
            continue
        if info.get("error"):
            problems.append(f"{where}: its workers cannot import rae_fast ({info['error']}); "
                            f"install rae_fast {__version__} there")
        elif info.get("version") != __version__:
            problems.append(f"{where}: its workers run rae_fast {info.get('version')}, this "
                            f"process runs {__version__}; install the same version on every "
                            f"node (results must not depend on where a file was processed)")
        out.append({"node_id": n["NodeID"], "ip": n.get("NodeManagerAddress"),
                    "host": info.get("host"), "cpus": n.get("Resources", {}).get("CPU", 0),
                    "gpus": n.get("Resources", {}).get("GPU", 0),
                    "rae_fast": info.get("version")})
    for ref in waiting:
        ray.cancel(ref, force=True)
    if problems:
        raise ClusterError("the Ray cluster cannot run rae_fast on every node:\n  "
                           + "\n  ".join(problems))
    log.debug("checked %d Ray node(s) in %.2f s", len(out), time.monotonic() - t0)
    return out
