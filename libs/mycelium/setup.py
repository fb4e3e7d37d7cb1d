"""Build the optional C fast path of the send path (``mycelium._speedups``).

``optional=True``: when the extension cannot be compiled (no compiler, no Python headers), the
build still succeeds and ``mycelium`` runs on its pure-Python ``MailboxCore`` (see ``_core.py``).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "mycelium._speedups",
            ["src/mycelium/_speedups.c"],
            optional=True,  # compiled with the interpreter's own flags (-O3 for CPython)
        )
    ]
)
