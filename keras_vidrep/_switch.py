"""Replacing several files and folders as one step (``promote``).

Each new item is first written in full beside the one it replaces, as
``.promotion-NAME`` (the same folder, so the same file system: a rename,
never a copy). Then a journal, ``.promotion.json`` in the folder given, lists
the pairs; writing it (flushed, renamed into place) is the commit point.
The switch renames each new item over its target, a folder by first moving
the old one aside as ``.replaced-NAME``; the journal is removed, then the
old items.

A crash before the journal exists leaves the old items in place and only
staged ones beside them, which ``discard_staged`` removes. A crash after it
leaves a journal that ``finish`` completes (each step can be repeated), so
the next reader sees all the new items: never a mix once ``finish`` has run.
Standard library only.
"""

import json
import os
import shutil
from pathlib import Path

JOURNAL = ".promotion.json"
STAGED_PREFIX = ".promotion-"
REPLACED_PREFIX = ".replaced-"


def staged_path(target):
    """Where the new version of ``target`` is written before the switch."""
    target = Path(target)
    return target.with_name(STAGED_PREFIX + target.name)


def _replaced_path(target):
    return target.with_name(REPLACED_PREFIX + target.name)


def _remove(path):
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def _fsync_folder(folder):
    handle = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


def commit(folder, targets):
    """Switches every staged item (``staged_path(target)``, which must exist)
    to its ``target``, as one step: see the module docstring."""
    folder = Path(folder)
    targets = [Path(target) for target in targets]
    missing = [str(staged_path(t)) for t in targets if not staged_path(t).exists()]
    if missing:
        raise FileNotFoundError(f"Nothing staged at {', '.join(missing)}.")
    journal = folder / JOURNAL
    partial = staged_path(folder / "journal.json")  # discarded if left
    with open(partial, "w") as f:
        json.dump({"targets": [str(t) for t in targets]}, f)
        f.flush()
        os.fsync(f.fileno())
    for target in targets:
        _fsync_folder(target.parent)
    os.replace(partial, journal)  # the commit point
    _fsync_folder(folder)
    finish(folder)


def finish(folder):
    """Completes a switch that a crash interrupted (after its commit point);
    returns the targets switched, or [] when there was none to finish."""
    journal = Path(folder) / JOURNAL
    if not journal.is_file():
        return []
    targets = [Path(t) for t in json.loads(journal.read_text())["targets"]]
    for target in targets:
        new, aside = staged_path(target), _replaced_path(target)
        if not new.exists():
            continue  # switched already
        if target.is_dir() and not aside.exists():
            os.rename(target, aside)
        os.replace(new, target)
    for target in targets:
        _fsync_folder(target.parent)
    journal.unlink()
    for target in targets:
        _remove(_replaced_path(target))
    return targets


def discard_staged(targets):
    """Removes what an interrupted staging left beside ``targets`` (call
    only when no journal is pending: ``finish`` first)."""
    for target in targets:
        target = Path(target)
        _remove(staged_path(target))
        _remove(_replaced_path(target))
