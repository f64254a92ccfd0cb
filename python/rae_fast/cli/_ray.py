"""The ``--ray ADDRESS`` option that the batch commands share (Ray is imported only when it is
given)."""
from __future__ import annotations

import argparse

from ._types import positive_int

RAY_HELP = ("run on a Ray cluster: auto (the running cluster: RAY_ADDRESS or `ray start "
            "--head` on this machine), local (start one in this process), HOST:PORT or "
            "ray://HOST:PORT; needs rae_fast[ray] on every node and the inputs at the same "
            "paths there (docs/scale.md)")

#: Library parameter -> flag, for :func:`rae_fast.cli.translate_message`.
RAY_FLAGS = {"address": "--ray"}


def add_ray_option(p: argparse.ArgumentParser, block: str = "") -> None:
    """Add ``--ray ADDRESS`` (and ``--block-size N`` when ``block`` names the items)."""
    g = p.add_argument_group("distributed (Ray)")
    g.add_argument("--ray", default=None, metavar="ADDRESS", help=RAY_HELP)
    if block:
        g.add_argument("--block-size", type=positive_int, default=None, metavar="N",
                       help=f"with --ray: {block} per Ray task (default: up to 32, at least 4 "
                            f"tasks per worker)")
