"""Creating a Unix socket file safely: never over an existing file unless asked, and with an
error that names the path and the next step for every way it can fail."""

from __future__ import annotations

import errno
import os
import socket
import stat
from typing import Final

from mycelium.errors import SocketPathError, SocketPathInUse

__all__ = ["MAX_PATH_BYTES", "bind_unix_socket", "identity"]

MAX_PATH_BYTES: Final = 107
"""Longest socket path: ``sun_path`` holds 108 bytes on Linux, with the terminating NUL."""


def identity(path: str) -> tuple[int, int]:
    """(device, inode) of ``path``: tells our socket file from one that replaced it."""
    st = os.stat(path)
    return st.st_dev, st.st_ino


def bind_unix_socket(path: str, *, replace: bool) -> socket.socket:
    """A non-blocking socket bound at ``path``, with every failure explained."""
    size = len(os.fsencode(path))
    if size > MAX_PATH_BYTES:
        raise SocketPathError(
            path,
            f"the path is {size} bytes long and Unix socket paths are limited to "
            f"{MAX_PATH_BYTES}; use a shorter path (e.g. in /tmp)",
        )
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise SocketPathError(path, f"cannot inspect the path ({exc.strerror})") from exc
    else:
        if not replace:
            raise SocketPathInUse(path)
        if not stat.S_ISSOCK(mode):
            raise SocketPathError(
                path, "the path exists and is not a socket; replace=True only replaces sockets"
            )
        try:
            os.unlink(path)
        except OSError as exc:
            raise SocketPathError(path, f"cannot remove the old socket ({exc.strerror})") from exc
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(path)
    except BaseException as exc:
        sock.close()
        directory = os.path.dirname(os.path.abspath(path))
        if isinstance(exc, FileExistsError) or (
            isinstance(exc, OSError) and exc.errno == errno.EADDRINUSE  # created meanwhile
        ):
            raise SocketPathInUse(path) from exc
        if isinstance(exc, FileNotFoundError):
            raise SocketPathError(
                path, f"the directory {directory!r} does not exist; create it first"
            ) from exc
        if isinstance(exc, PermissionError):
            raise SocketPathError(
                path,
                f"the directory {directory!r} is not writable by this process (uid "
                f"{os.geteuid()}); pick a writable directory or fix its permissions",
            ) from exc
        if isinstance(exc, OSError):
            raise SocketPathError(path, f"bind failed ({exc})") from exc
        raise
    sock.setblocking(False)
    return sock
