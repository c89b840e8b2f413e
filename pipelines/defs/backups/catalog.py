"""The backups folder: one sub-folder per backup, each described by its ``manifest.json``.

```
<backup_dir>/<id>/manifest.json     what is inside, its base, the row counts at backup time
<backup_dir>/<id>/clickhouse/       ClickHouse BACKUP of the databases (incremental: only new parts)
<backup_dir>/<id>/control.db        the control-plane DB (SQLite) or control.sql (PostgreSQL dump)
```
Ids are UTC times (``20250303T020000.000Z``), so they sort by age. An incremental backup needs its base
(the last full backup) next to it; removing a full backup breaks the incrementals on top of it.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

MANIFEST = "manifest.json"


@dataclass
class Manifest:
    id: str
    kind: str  # "full" or "incremental"
    base: str | None
    created_at: str
    databases: list[str]
    warehouse_counts: dict[str, int]
    control_plane_file: str
    control_plane_dialect: str
    control_plane_counts: dict[str, int]
    complete: bool = False
    notes: list[str] = field(default_factory=list)

    def save(self, folder: Path) -> None:
        temporary = folder / (MANIFEST + ".tmp")
        temporary.write_text(json.dumps(asdict(self), indent=2, sort_keys=True))
        temporary.replace(folder / MANIFEST)

    @classmethod
    def load(cls, folder: Path) -> Manifest:
        return cls(**json.loads((folder / MANIFEST).read_text()))


def new_backup_id(now: dt.datetime) -> str:
    moment = now.astimezone(dt.UTC)
    return moment.strftime("%Y%m%dT%H%M%S") + f".{moment.microsecond // 1000:03d}Z"


def backups(backup_dir: Path) -> list[Manifest]:
    """Complete backups, oldest first."""
    if not backup_dir.is_dir():
        return []
    found = []
    for folder in sorted(backup_dir.iterdir()):
        if (folder / MANIFEST).is_file():
            manifest = Manifest.load(folder)
            if manifest.complete:
                found.append(manifest)
    return found


def last_full(backup_dir: Path) -> Manifest | None:
    fulls = [manifest for manifest in backups(backup_dir) if manifest.kind == "full"]
    return fulls[-1] if fulls else None


def resolve(backup_dir: Path, backup_id_or_path: str | Path) -> Path:
    """The folder of a backup named by id (``20250303T020000.000Z``), ``latest``, or its path."""
    if str(backup_id_or_path) == "latest":
        complete = backups(backup_dir)
        if not complete:
            raise FileNotFoundError(f"no complete backup in {backup_dir}")
        return backup_dir / complete[-1].id
    candidate = Path(backup_id_or_path)
    folder = candidate if candidate.is_absolute() or candidate.exists() else backup_dir / candidate
    if not (folder / MANIFEST).is_file():
        raise FileNotFoundError(f"{backup_id_or_path!s} is not a backup: no {MANIFEST} in {folder}")
    return folder.resolve()
