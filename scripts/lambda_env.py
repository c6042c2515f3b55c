"""What a Lambda function sees, rebuilt on this machine: the deployment bundle unpacked, and beside it
only the libraries the Lambda runtime provides (boto3 and what it needs). Used by the bundle's smoke
test and the cold-start benchmark; never deployed."""

from __future__ import annotations

import zipfile
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name


def unpack(bundle_zip: Path, target: Path) -> set[str]:
    """Unpack ``bundle_zip`` into ``target``; returns the (canonical) names of the packages it ships."""
    with zipfile.ZipFile(bundle_zip) as archive:
        archive.extractall(target)
        return {canonicalize_name(n.split("/")[0].split("-")[0]) for n in archive.namelist() if ".dist-info/" in n}


def link_libraries(target: Path, roots: list[str], exclude: set[str]) -> Path:
    """A directory of links to the installed ``roots`` and everything they require, minus ``exclude``."""
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        name = canonicalize_name(todo.pop())
        if name in seen or name in exclude:
            continue
        seen.add(name)
        try:
            dist = distribution(name)
        except PackageNotFoundError:
            continue
        for raw in dist.requires or []:
            req = Requirement(raw)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(req.name)
        for file in dist.files or []:
            top = file.parts[0]
            link = target / top
            if top == ".." or link.exists() or top == "__pycache__":
                continue
            link.symlink_to(Path(str(dist.locate_file(top))))
    return target
