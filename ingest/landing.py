"""The landing zone: ``<landing>/<system>/<entity>/<file>``, immutable files keyed by SHA-256."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

_CHUNK = 1 << 20
#: The page part of a list page's name (``time_entries_updated_2026-03-04_page_0002.json``).
_PAGE_PART = re.compile(r"_page_([0-9]+)\.json$")


@dataclass(frozen=True)
class LandedFile:
    """One file found in the landing zone."""

    path: Path
    relative_path: str
    system: str
    entity: str
    size_bytes: int
    #: Modification time (ns): with the size, what tells a file already registered apart
    #: from a new version without reading its bytes again (None: not to be trusted).
    mtime_ns: int | None = None
    #: Where the file leads when it is a symbolic link out of the landing zone (or sits in a
    #: folder that is one): such a file is refused, never read.
    escapes_to: str | None = None

    def sha256(self) -> str:
        """Hex SHA-256 of the file's bytes, read in chunks.

        A symbolic link out of the landing zone is not followed: its hash is that of its
        target path (git's rule for a link), so its registration never reads the bytes.
        """
        if self.escapes_to is not None:
            return hashlib.sha256(self.escapes_to.encode()).hexdigest()
        return file_sha256(self.path)


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of ``path``'s bytes, read in chunks so memory stays flat."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def files_under(directory: Path) -> Iterator[Path]:
    """Every file below ``directory`` (none when it does not exist), in no set order."""
    return (path for path in directory.rglob("*") if path.is_file())


def has_files(directory: Path) -> bool:
    """Whether ``directory`` exists and holds a file at any depth."""
    return any(files_under(directory))


def discover(landing: Path, system: str | None = None) -> list[LandedFile]:
    """List the files of the landing zone (or of one ``system``) in a stable order.

    Hidden files and files being written (``*.tmp``, ``*.part``) are skipped, so a
    producer can write ``x.part`` and rename it when complete. A symbolic link whose target
    lies outside ``landing`` is listed with ``escapes_to`` set, its own size and mtime, and is
    never followed (folders that are links are not descended into, except a system folder,
    whose files are then all outside when it leads out).
    """
    if not landing.exists():
        return []
    zone = landing.resolve()
    roots = [landing / system] if system else sorted(p for p in landing.iterdir() if p.is_dir())
    found: list[LandedFile] = []
    for root in roots:
        if not root.is_dir():
            continue
        root_escapes = not root.resolve().is_relative_to(zone)
        for path in sorted(root.rglob("*")):
            relative = path.relative_to(landing)
            if not path.is_file() or _is_skipped(relative):
                continue
            if len(relative.parts) < 3:
                continue  # a file must sit in <system>/<entity>/
            escapes_to = None
            if root_escapes or path.is_symlink():
                target = path.resolve()
                if not target.is_relative_to(zone):
                    escapes_to = str(target)
            stat = path.lstat() if escapes_to is not None else path.stat()
            found.append(
                LandedFile(
                    path=path,
                    relative_path=relative.as_posix(),
                    system=relative.parts[0],
                    entity=relative.parts[1],
                    size_bytes=stat.st_size,
                    mtime_ns=stat.st_mtime_ns,
                    escapes_to=escapes_to,
                )
            )
    return found


def _is_skipped(relative: Path) -> bool:
    return any(part.startswith(".") for part in relative.parts) or relative.suffix in {
        ".tmp",
        ".part",
    }


def export_run(relative_path: str) -> str:
    """The export run a list page belongs to: its path without ``_page_<n>.json``.

    The pages of one run share account folder, entity, window and name (docs/sources.md,
    "harvest"); a file without a page part is a run of its own.
    """
    return _PAGE_PART.sub("", relative_path)


def page_number(relative_path: str) -> int | None:
    """The ``<n>`` of a list page's ``_page_<n>.json`` name (None without one)."""
    match = _PAGE_PART.search(relative_path)
    return int(match.group(1)) if match else None
