"""dvc.yaml: every stage depends on all the code it runs, so `dvc repro` reruns it after any change."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from pipeline import STAGES
from pipeline.cache import module_files
from tests.conftest import REPO

DVC_STAGES = yaml.safe_load((REPO / "dvc.yaml").read_text(encoding="utf-8"))["stages"]


def covered(path: str, deps: list[str]) -> bool:
    """True when `path` is one of `deps` or inside a folder of them."""
    return any(path == dep or path.startswith(dep.rstrip("/") + "/") for dep in deps)


def test_dvc_yaml_has_every_stage_in_run_order():
    assert list(DVC_STAGES) == list(STAGES)


@pytest.mark.parametrize("stage", list(STAGES))
def test_a_stage_depends_on_every_pipeline_module_it_imports(stage):
    deps = [dep if isinstance(dep, str) else next(iter(dep)) for dep in DVC_STAGES[stage]["deps"]]
    code = [path.relative_to(REPO).as_posix() for path in module_files(stage)] + ["pipeline/cli.py"]
    missing = [path for path in code if not covered(path, deps)]
    assert not missing, f"dvc.yaml stage {stage} lacks deps {missing}"


def test_the_check_sees_a_missing_module():
    assert not covered("pipeline/text.py", ["pipeline/clean.py", "schemas/lexicons"])
    assert covered("schemas/lexicons/outlets.txt", ["schemas/lexicons"])
    assert Path(REPO / "pipeline" / "cli.py").is_file()
