import re
import subprocess
import sys

import pytest

from tests.conftest import REPO


def pipeline_cli(*args, cwd=REPO):
    return subprocess.run([sys.executable, "-m", "pipeline", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=120)


def test_help_explains_every_command():
    result = pipeline_cli("--help")
    assert result.returncode == 0
    for command in ("run", "ingest", "clean", "extract", "dedup", "validate", "publish", "schemas"):
        assert command in result.stdout
    run_help = pipeline_cli("run", "--help").stdout
    assert "--set KEY=VALUE" in run_help and "--version X.Y.Z" in run_help


@pytest.mark.parametrize("args, message", [
    (["--set", "clean.min_words=3"], "error: unknown parameter 'clean.min_words'; allowed here:"),
    (["--set", "dedup.threshold=2"], "error: dedup.threshold must be between 0 and 1 (got 2.0)"),
    (["--version", "v1"], "error: release.version must look like X.Y.Z (got 'v1')"),
])
def test_a_bad_parameter_stops_before_any_work_with_one_line(tmp_path, args, message):
    (tmp_path / "in").mkdir()
    result = pipeline_cli("run", "--input", str(tmp_path / "in"), "--output", str(tmp_path / "out"), *args)
    assert result.returncode == 2
    assert result.stderr.strip().startswith(message)
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_a_missing_input_folder_is_one_line(tmp_path):
    result = pipeline_cli("run", "--input", str(tmp_path / "nope"), "--output", str(tmp_path / "out"))
    assert result.returncode == 2
    assert result.stderr.strip() == f"error: input folder not found: {tmp_path / 'nope'}"


def test_an_output_inside_the_input_is_refused(tmp_path):
    (tmp_path / "in").mkdir()
    result = pipeline_cli("run", "--input", str(tmp_path / "in"), "--output", str(tmp_path / "in" / "out"))
    assert result.returncode == 2
    assert "is inside the input folder" in result.stderr


def test_an_unfit_dataset_stops_run_with_exit_1_and_one_line(tmp_path):
    """validate raises in its own stage process; the error reaches `run` as the same one line."""
    from tests.conftest import SAMPLE_DIR

    result = pipeline_cli("run", "--input", str(SAMPLE_DIR), "--output", str(tmp_path / "out"),
                          "--set", "validate.min_articles=100000", "--set", f"paths.cache={tmp_path / 'cache'}")
    assert result.returncode == 1
    assert re.fullmatch(r"error: the dataset is unfit: \d+ articles published, fewer than "
                        r"validate.min_articles=100000", result.stderr.strip().splitlines()[-1])
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()
