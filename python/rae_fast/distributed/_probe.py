"""The worker check: a function that Ray sends *by value* (its code, not a reference to this
module), so that it runs even where rae_fast cannot be imported, and says why.

Nothing of rae_fast is imported at the top of this module, and :func:`probe` imports what it
needs inside its body.
"""


def probe():
    """``{"version", "host", "pid", "error"}`` of the worker process it runs in."""
    import os
    import socket
    import traceback

    out = {"host": socket.gethostname(), "pid": os.getpid(), "version": None, "error": None}
    try:
        from rae_fast import _core  # noqa: F401  (the compiled core must load too)
        from rae_fast._version import __version__
        out["version"] = __version__
    except BaseException as exc:  # noqa: BLE001 - reported to the driver
        last = traceback.format_exception_only(type(exc), exc)[-1].strip()
        out["error"] = last
    return out


def _register_by_value() -> None:
    """Make Ray's pickler send this module's functions by value."""
    import sys

    from ray import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])


_register_by_value()
