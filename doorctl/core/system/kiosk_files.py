"""Files in a user's home, read and written by root for `doorctl kiosk install`.

The user owns their home and may plant a symbolic link anywhere in it (say
`~/.local/share/doorctl-kiosk/start` to /etc/shadow). So no link is ever followed below
the trusted folder a path starts from: each folder is opened by name from the one above
with O_NOFOLLOW, a file is written as a new file beside it then renamed over it (a
rename replaces a link, never what it points to), and a link met is refused with a
message that names it. Folders made in the home belong to the user, with their group.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import shutil
import stat
from pathlib import Path

FOLDER = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
Owner = tuple[int, int] | None


class InstallError(Exception):
    """The install can't go on; the message says why and what to do."""


def _refused(fd: int, name: str, path: Path) -> InstallError:
    """Why `name` could not be opened as a folder: a link, or no folder."""
    if stat.S_ISLNK(os.lstat(name, dir_fd=fd).st_mode):
        return InstallError(
            f"{path} is a symbolic link: doorctl follows no link in a home. "
            "Remove it, then run the command again."
        )
    return InstallError(f"{path} is not a folder: move it away, then run the command again.")


def _folder(base: Path, parts: tuple[str, ...], owner: Owner, make: bool) -> int | None:
    """A descriptor of base/parts, each part opened without following a link; made
    (and given to `owner`) where missing when `make`; None when missing otherwise."""
    try:
        fd = os.open(base, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except FileNotFoundError:
        if make:
            raise
        return None
    here = base
    try:
        for name in parts:
            here = here / name
            if make:
                try:
                    os.mkdir(name, 0o755, dir_fd=fd)
                    if owner:
                        os.chown(name, *owner, dir_fd=fd, follow_symlinks=False)
                except FileExistsError:
                    pass
            try:
                inner = os.open(name, FOLDER, dir_fd=fd)
            except FileNotFoundError:
                os.close(fd)
                return None
            except OSError as error:
                if error.errno in (errno.ELOOP, errno.ENOTDIR):
                    raise _refused(fd, name, here) from None
                raise
            os.close(fd)
            fd = inner
        return fd
    except BaseException:
        os.close(fd)
        raise


def _split(base: Path, path: Path) -> tuple[str, ...]:
    return path.parent.relative_to(base).parts


def read(base: Path, path: Path) -> str:
    """The text of a regular file under `base` ('' when missing); a link is refused."""
    fd = _folder(base, _split(base, path), None, make=False)
    if fd is None:
        return ""
    try:
        flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
        try:
            file = os.open(path.name, flags, dir_fd=fd)
        except FileNotFoundError:
            return ""
        except OSError as error:
            if error.errno == errno.ELOOP:
                raise InstallError(
                    f"{path} is a symbolic link: doorctl follows no link in a home. "
                    "Remove it, then run the command again."
                ) from None
            raise
        with os.fdopen(file, "rb") as opened:
            if not stat.S_ISREG(os.fstat(opened.fileno()).st_mode):
                raise InstallError(f"{path} is not a regular file: move it away, then run again.")
            return opened.read().decode()
    finally:
        os.close(fd)


def write(base: Path, path: Path, text: str, mode: int | None, owner: Owner) -> None:
    """Write `path` under `base` whole: a new file beside it, renamed over it; a link
    there is refused. `mode` None keeps the mode of the file replaced (0644 if new)."""
    fd = _folder(base, _split(base, path), owner, make=True)
    temporary = f".{path.name}.{secrets.token_hex(6)}.tmp"
    try:
        try:
            old = os.lstat(path.name, dir_fd=fd)
        except FileNotFoundError:
            old = None
        if old and stat.S_ISLNK(old.st_mode):
            raise InstallError(
                f"{path} is a symbolic link: doorctl writes through no link in a home. "
                "Remove it, then run the command again."
            )
        kept = stat.S_IMODE(old.st_mode) if old else 0o644
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        file = os.open(temporary, flags, 0o600, dir_fd=fd)
        with os.fdopen(file, "wb") as opened:
            opened.write(text.encode())
            os.fchmod(opened.fileno(), kept if mode is None else mode)
            if owner:
                os.fchown(opened.fileno(), *owner)
        os.rename(temporary, path.name, src_dir_fd=fd, dst_dir_fd=fd)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary, dir_fd=fd)
        raise
    finally:
        os.close(fd)


def remove(base: Path, path: Path) -> bool:
    """Remove the file (or the link itself) at `path`; whether there was one."""
    fd = _folder(base, _split(base, path), None, make=False)
    if fd is None:
        return False
    try:
        os.unlink(path.name, dir_fd=fd)
        return True
    except FileNotFoundError:
        return False
    finally:
        os.close(fd)


def remove_tree(base: Path, path: Path) -> bool:
    """Remove the folder at `path` and all in it (a link there: the link only)."""
    fd = _folder(base, _split(base, path), None, make=False)
    if fd is None:
        return False
    try:
        try:
            found = os.lstat(path.name, dir_fd=fd)
        except FileNotFoundError:
            return False
        if stat.S_ISDIR(found.st_mode):
            shutil.rmtree(path.name, dir_fd=fd)
        else:
            os.unlink(path.name, dir_fd=fd)
        return True
    finally:
        os.close(fd)


def remove_if_empty(base: Path, path: Path) -> None:
    """Remove the folder at `path` if it is an empty folder (not a link)."""
    fd = _folder(base, _split(base, path), None, make=False)
    if fd is None:
        return
    try:
        os.rmdir(path.name, dir_fd=fd)
    except OSError:
        pass  # not empty, missing, or not a folder: left as it is
    finally:
        os.close(fd)
