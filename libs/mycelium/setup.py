"""Build the optional C fast path of the send path (``mycelium._speedups``).

``optional=True``: when the extension cannot be compiled (no compiler, no Python headers), the
build still succeeds and ``mycelium`` runs on its pure-Python ``MailboxCore`` (see ``_core.py``).

Build output never lands in the source tree: setuptools' ``build/`` (objects, the staged
package) and the ``*.egg-info`` metadata go to a fresh temporary directory, removed when the
build ends. So a ``pip install ./libs/mycelium`` leaves nothing for pyright to trip over, and
no build reuses an object compiled from an older ``_speedups.c``.
"""

import atexit
import shutil
import tempfile

from setuptools import Extension, setup

_BUILD = tempfile.mkdtemp(prefix="mycelium-actors-build-")
atexit.register(shutil.rmtree, _BUILD, ignore_errors=True)

setup(
    ext_modules=[
        Extension(
            "mycelium._speedups",
            ["src/mycelium/_speedups.c"],
            optional=True,  # compiled with the interpreter's own flags (-O3 for CPython)
        )
    ],
    options={"build": {"build_base": _BUILD}, "egg_info": {"egg_base": _BUILD}},
)
