import pytest

from pipeline.config import ConfigError, load_params
from tests.conftest import REPO


def test_the_project_params_load_and_pass_their_checks():
    params = load_params(REPO / "params.yaml")
    assert params.dedup.bands * params.dedup.rows == params.dedup.num_perm
    assert abs(sum(params.dedup.splits.values()) - 1) < 1e-9


def test_overrides_are_typed_like_dvc_exp_run_set():
    params = load_params(REPO / "params.yaml", ["dedup.threshold=0.8", "extract.ner=false", "workers=2"])
    assert params.dedup.threshold == 0.8
    assert params.extract.ner is False
    assert params.worker_count == 2


@pytest.mark.parametrize("override, words", [
    ("dedup.treshold=0.8", "unknown parameter 'dedup.treshold'"),
    ("clean.min_body_words=many", "clean.min_body_words must be int"),
    ("validate.max_reject_rate=1.5", "validate.max_reject_rate must be between 0 and 1"),
    ("dedup.bands=10", "dedup.bands * dedup.rows must equal dedup.num_perm"),
    ("executor=spark", "executor must be one of local, ray"),
    ("workers=0", "workers must be 'auto' or an integer >= 1"),
    ("release.version=1.2", "release.version must"),
    ("dedup.splits.train=0.5", "dedup.splits shares must sum to 1"),
    ("novalue", "--set expects KEY=VALUE"),
])
def test_a_bad_parameter_is_one_line_naming_the_key(override, words):
    with pytest.raises(ConfigError) as raised:
        load_params(REPO / "params.yaml", [override])
    message = str(raised.value)
    assert words in message
    assert "\n" not in message


def test_a_missing_params_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="params file not found"):
        load_params(tmp_path / "nope.yaml")
