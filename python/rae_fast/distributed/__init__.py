"""Past one machine: the batch stages and training on a Ray cluster (``pip install
'rae_fast[ray]'``).

Ray is imported only when one of these functions runs; ``import rae_fast.distributed`` does not
import it. Every stage is the single-machine library function with its per-item work handed to
Ray tasks (the same C++ core, the same seeds) and its output written by the calling process
(the *driver*), in input order, so that the files are byte for byte those of one machine:

- :func:`preprocess` (``rae-fast preprocess --ray ADDRESS``): audio collection -> netCDF;
- :func:`write_autocorrelograms` (``rae-fast autocorrelogram --ray ADDRESS``);
- :func:`generate` (``rae-fast generate --ray ADDRESS``): representations with ONNX Runtime;
- :func:`embed` (``rae-fast embed --ray ADDRESS``): audio files -> representations with a model
  that carries its front end;
- :func:`cross_validate`, :func:`evaluate_partitions` (``rae-fast evaluate --ray ADDRESS``);
- :func:`train` (``rae-fast train --num-workers N --ray ADDRESS``): data-parallel training
  with Ray Train (``--num-workers N`` without ``--ray`` runs N local processes instead, see
  :func:`rae_fast.model.parallel.train_parallel`).

``ADDRESS`` is ``auto`` (the running cluster), ``local`` (a cluster started inside this
process), ``HOST:PORT`` or ``ray://HOST:PORT`` (:func:`connect`). The inputs (audio files, data
sets) must be readable at the same paths on every node (a shared file system); see
docs/scale.md for clusters, throughput and costs.

>>> from rae_fast.distributed import preprocess                       # doctest: +SKIP
>>> preprocess("esc10", "esc10.nc", settings, address="auto")         # doctest: +SKIP
"""
from .cluster import RAY_MISSING_MESSAGE, ClusterError, RayCluster, connect, import_ray
from .executor import RayExecutor
from .stages import (cross_validate, embed, evaluate_partitions, generate, preprocess,
                     write_autocorrelograms)
from .training import train

__all__ = ["connect", "RayCluster", "ClusterError", "RayExecutor", "import_ray", "RAY_MISSING_MESSAGE",
           "preprocess", "write_autocorrelograms", "generate", "embed", "cross_validate",
           "evaluate_partitions", "train"]
