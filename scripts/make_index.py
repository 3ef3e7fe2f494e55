"""Write an Azure CLI extension index (index.json) listing extension wheels, for install by name.

The format is the one az reads from `extension.index_url` (azure.cli.core.extension._resolve):
{"extensions": {NAME: [{"downloadUrl", "sha256Digest", "filename", "metadata"}]}, "formatVersion": "1"},
with `metadata` built as azdev builds it for azure-cli-extensions: the wheel's METADATA
(name, version, summary, license, classifiers, requirements, contacts, project URL) with the
extension's azext_metadata.json (azext.isPreview, azext.minCliCoreVersion) merged over it.

    python scripts/make_index.py dist/prototype-*.whl --output dist/index.json --url-base http://host/ext/

Without --url-base each downloadUrl is the wheel's absolute path (az installs a local path too,
but reads the index itself over http(s) only).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
import zipfile
from email.parser import HeaderParser
from pathlib import Path
from typing import Any

INDEX_FORMAT_VERSION = "1"
_EXTRA_MARKER = re.compile(r"""extra\s*==\s*['"]([^'"]+)['"]""")


def sha256_of(path: Path) -> str:
    """The hex SHA-256 az checks a downloaded wheel against."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 16), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_wheel(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """(METADATA headers as lists, azext_metadata.json) of one wheel."""
    with zipfile.ZipFile(path) as wheel:
        names = wheel.namelist()
        [metadata_name] = [n for n in names if n.endswith(".dist-info/METADATA") and n.count("/") == 1]
        headers = HeaderParser().parsestr(wheel.read(metadata_name).decode("utf-8"))
        azext_names = [n for n in names if re.fullmatch(r"azext_[^/]+/azext_metadata\.json", n)]
        azext = json.loads(wheel.read(azext_names[0]).decode("utf-8")) if azext_names else {}
    fields = {key.lower(): headers.get_all(key) for key in set(headers.keys())}
    return fields, azext


def index_metadata(fields: dict[str, Any], azext: dict[str, Any]) -> dict[str, Any]:
    """The entry's `metadata`: the wheel's core metadata in the index's names, azext_metadata over it."""

    def one(key: str) -> str | None:
        values = fields.get(key)
        return values[0] if values else None

    requires = fields.get("requires-dist") or []
    extras = sorted({m.group(1) for r in requires for m in [_EXTRA_MARKER.search(r)] if m})
    plain = sorted(r.strip() for r in requires if not _EXTRA_MARKER.search(r))
    metadata: dict[str, Any] = {
        "name": one("name"),
        "version": one("version"),
        "summary": one("summary"),
        "license": one("license"),
        "metadata_version": one("metadata-version"),
        "classifiers": fields.get("classifier") or [],
        "extras": extras,
        "run_requires": [{"requires": plain}] if plain else [],
        "requires_python": one("requires-python"),
        "description_content_type": one("description-content-type"),
    }
    details: dict[str, Any] = {}
    if one("author"):
        details["contacts"] = [{"email": one("author-email") or "", "name": one("author"), "role": "author"}]
    urls = dict(tuple(part.strip() for part in u.split(",", 1)) for u in fields.get("project-url") or () if "," in u)
    if one("home-page"):
        urls = {"Home": one("home-page"), **urls}
    if urls:
        details["project_urls"] = urls
    if details:
        metadata["extensions"] = {"python.details": details}
    metadata.update(azext)
    return {k: v for k, v in metadata.items() if v is not None}


def index_entry(wheel: Path, url_base: str | None) -> tuple[str, dict[str, Any]]:
    """(extension name, index entry) for one wheel."""
    fields, azext = read_wheel(wheel)
    metadata = index_metadata(fields, azext)
    url = url_base.rstrip("/") + "/" + wheel.name if url_base else str(wheel.resolve())
    entry = {"downloadUrl": url, "sha256Digest": sha256_of(wheel), "filename": wheel.name, "metadata": metadata}
    return str(metadata["name"]), entry


def build_index(wheels: list[Path], url_base: str | None) -> dict[str, Any]:
    """An index listing every wheel under its extension's name, oldest version first."""
    extensions: dict[str, list[dict[str, Any]]] = {}
    for wheel in wheels:
        name, entry = index_entry(wheel, url_base)
        extensions.setdefault(name, []).append(entry)
    return {"extensions": extensions, "formatVersion": INDEX_FORMAT_VERSION}


def main(argv: list[str] | None = None) -> int:
    """Write the index for the wheels given on the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("wheels", nargs="+", type=Path)
    parser.add_argument("--output", type=Path, required=True, help="where to write index.json")
    parser.add_argument("--url-base", help="URL the wheels are served from (default: their local paths)")
    args = parser.parse_args(argv)
    index = build_index(args.wheels, args.url_base)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(index, indent=4, sort_keys=True) + "\n", encoding="utf-8")
    for name, entries in index["extensions"].items():
        for entry in entries:
            print(f"{args.output}: {name} {entry['metadata'].get('version')} -> {entry['downloadUrl']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
