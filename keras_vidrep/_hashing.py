"""The sha256 of a file, the one checksum every record of ours uses
(preset tables, preset directories, training checkpoints)."""

import hashlib


def file_sha256(path):
    """The sha256 of the bytes of the file at ``path``, in hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
