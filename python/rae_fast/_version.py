"""The package version, in a module of its own so that low-level modules need not import the
package root (which would run ``rae_fast/__init__.py`` and close an import circle)."""
__version__ = "0.1.0"
