"""Rewriting one setting in the kiosk's TOML file, in place and durably (`kiosk set-staff-pin`).

The file is edited as text, so the operator's comments and layout stay; the
result is parsed again and must hold exactly the new value before it replaces
the old file. It is written beside the old one and renamed over it, fsynced
before and after (server_sync.durable): a power cut leaves the old file or the
new one. The new file keeps the old one's owner and group and is never
readable by others (0640 at most), since it holds a secret's hash.
"""

from __future__ import annotations

import os
import re
import stat
import tomllib
from pathlib import Path

from server_sync.durable import replace_file

MODE = 0o640  # owner writes, the service's group reads, nobody else


class EditError(Exception):
    """The file could not be rewritten; it is left as it was."""


def _header(section: str) -> re.Pattern:
    return re.compile(rf"^\s*\[\s*{re.escape(section)}\s*\]\s*(#.*)?$")


def edited(text: str, key: str, value: str, *, drop: tuple[str, ...] = ()) -> str:
    """``text`` with ``key`` ("section.name") set to the string ``value``, and ``drop`` (names in
    that section) removed. Raises EditError if the result does not read back as meant."""
    section, name = key.split(".")
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    assignment = re.compile(rf"^\s*({'|'.join(re.escape(n) for n in (name, *drop))})\s*=")
    new_line = f'{name} = "{value}"\n'
    header = next((i for i, line in enumerate(lines) if _header(section).match(line)), None)
    if header is None:
        lines += ["\n"] if lines and lines[-1].strip() else []
        lines += [f"[{section}]\n", new_line]
    else:
        end = next((i for i in range(header + 1, len(lines)) if lines[i].lstrip().startswith("[")), len(lines))
        body = [line for line in lines[header + 1 : end] if not assignment.match(line)]
        lines = [*lines[: header + 1], new_line, *body, *lines[end:]]
    result = "".join(lines)
    try:
        table = tomllib.loads(result).get(section, {})
    except tomllib.TOMLDecodeError as exc:
        raise EditError(f"the edited file would not be valid TOML ({exc})") from None
    if not isinstance(table, dict) or table.get(name) != value or any(n in table for n in drop):
        raise EditError(f"could not rewrite [{section}] {name} in place")
    return result


def write_setting(
    path: str | os.PathLike, key: str, value: str, *, drop: tuple[str, ...] = (), group: int | None = None
) -> None:
    """Set ``key`` to ``value`` in the TOML file at ``path`` (see ``edited``), replacing the file
    atomically with mode 0640 at most; ``group``: a group id to give it instead of the old one."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
        old = path.stat()
    except OSError as exc:
        raise EditError(f"cannot read it: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise EditError("not UTF-8 text") from None
    data = edited(text, key, value, drop=drop).encode("utf-8")
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    mode = (stat.S_IMODE(old.st_mode) & MODE) | stat.S_IRUSR | stat.S_IWUSR
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            gid = old.st_gid if group is None else group
            if (old.st_uid, gid) != (os.geteuid(), os.getegid()):
                os.fchown(fd, old.st_uid, gid)  # as root: the file stays the service's to read
            os.fchmod(fd, mode)
        finally:
            os.close(fd)
        replace_file(tmp, path)  # fsyncs the data, renames, fsyncs the folder
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise EditError(f"cannot write it: {exc.strerror}") from None
