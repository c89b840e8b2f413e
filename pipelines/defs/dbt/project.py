"""The dbt project and its manifest, which Dagster reads to build the asset graph.

The manifest is a build artifact (``dbt parse``): made when missing or older than any file of the
project, so a checkout and ``feelback up`` need no extra step. Deployments can build it ahead
with ``dagster-dbt project prepare-and-package``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from dagster._utils import run_with_concurrent_update_guard
from dagster_dbt import DbtCliResource, DbtProject

DBT_PROJECT_DIR = Path(__file__).resolve().parents[3] / "dbt_project"
# the dbt of this interpreter's environment, whether or not its bin folder is on PATH
DBT_EXECUTABLE = str(Path(sys.executable).with_name("dbt"))
_SOURCE_FOLDERS = ("models", "macros", "seeds", "tests")

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR)


def manifest_is_stale(project: DbtProject = dbt_project) -> bool:
    if not project.manifest_path.exists():
        return True
    built = project.manifest_path.stat().st_mtime
    files = [project.project_dir / "dbt_project.yml"]
    for folder in _SOURCE_FOLDERS:
        files += (project.project_dir / folder).rglob("*")
    return any(path.is_file() and path.stat().st_mtime > built for path in files)


def prepare_manifest(project: DbtProject = dbt_project) -> Path:
    """The path of an up-to-date manifest, running ``dbt parse`` when needed (always under ``dagster dev``)."""
    if manifest_is_stale(project) or project.preparer.using_dagster_dev():
        run_with_concurrent_update_guard(project.manifest_path, _parse, project=project)
    return project.manifest_path


def _parse(project: DbtProject) -> None:
    dbt = DbtCliResource(project_dir=project, dbt_executable=DBT_EXECUTABLE)
    dbt.cli(["parse", "--quiet"], target_path=project.target_path).wait()
