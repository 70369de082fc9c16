"""The typed configuration of a run, loaded from `params.yaml` and checked before any work.

`load_params(path, overrides)` returns a frozen `Params`. Every section of `params.yaml` is a
frozen dataclass; unknown keys, wrong types and out-of-range values raise `ConfigError` with one
line naming the key and what is allowed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path

import yaml


class ConfigError(ValueError):
    """A parameter or path is wrong; the message is one line naming it and what is allowed."""


@dataclass(frozen=True)
class PathsParams:
    raw: str = "data/raw/sample"
    interim: str = "data/interim"
    publish: str = "data/publish"
    cache: str = ".cache/pipeline"


@dataclass(frozen=True)
class CacheParams:
    enabled: bool = True
    keep: int = 2

    def check(self) -> None:
        _at_least("cache.keep", self.keep, 1)


@dataclass(frozen=True)
class IngestParams:
    shard_size: int = 1000
    max_file_bytes: int = 50 * 2**20
    max_decompressed_bytes: int = 100 * 2**20
    max_lines: int = 200_000
    max_jsonl_records: int = 1_000_000

    def check(self) -> None:
        _at_least("ingest.shard_size", self.shard_size, 1)
        _at_least("ingest.max_file_bytes", self.max_file_bytes, 1)
        _at_least("ingest.max_decompressed_bytes", self.max_decompressed_bytes, 1)
        _at_least("ingest.max_lines", self.max_lines, 1)
        _at_least("ingest.max_jsonl_records", self.max_jsonl_records, 1)


@dataclass(frozen=True)
class CleanParams:
    html_favor: str = "balanced"
    html_min_chars: int = 200
    template_min_docs: int = 3
    template_min_share: float = 0.05
    template_max_words: int = 15
    min_body_words: int = 40
    max_parse_seconds: float = 10.0

    def check(self) -> None:
        _one_of("clean.html_favor", self.html_favor, ("precision", "balanced", "recall"))
        _at_least("clean.html_min_chars", self.html_min_chars, 0)
        _at_least("clean.template_min_docs", self.template_min_docs, 2)
        _share("clean.template_min_share", self.template_min_share)
        _at_least("clean.template_max_words", self.template_max_words, 1)
        _at_least("clean.min_body_words", self.min_body_words, 0)
        _at_least("clean.max_parse_seconds", self.max_parse_seconds, 0)


@dataclass(frozen=True)
class ExtractParams:
    ner: bool = True
    ner_batch_size: int = 64
    language_min_score: float = 0.3

    def check(self) -> None:
        _at_least("extract.ner_batch_size", self.ner_batch_size, 1)
        _share("extract.language_min_score", self.language_min_score)


@dataclass(frozen=True)
class DedupParams:
    near: bool = True
    shingle_size: int = 5
    num_perm: int = 128
    bands: int = 32
    rows: int = 4
    threshold: float = 0.5
    seed: int = 1
    splits: dict[str, float] = field(
        default_factory=lambda: {"train": 0.8, "validation": 0.1, "test": 0.1}
    )

    def check(self) -> None:
        _at_least("dedup.shingle_size", self.shingle_size, 1)
        _at_least("dedup.num_perm", self.num_perm, 1)
        _at_least("dedup.bands", self.bands, 1)
        _at_least("dedup.rows", self.rows, 1)
        if self.bands * self.rows != self.num_perm:
            raise ConfigError(
                f"dedup.bands * dedup.rows must equal dedup.num_perm "
                f"({self.bands} * {self.rows} != {self.num_perm})"
            )
        _share("dedup.threshold", self.threshold)
        if not self.splits or any(not isinstance(v, (int, float)) or v < 0 for v in self.splits.values()):
            raise ConfigError("dedup.splits must map split names to shares >= 0")
        for name in self.splits:
            if not name.replace("_", "").isalnum():
                raise ConfigError(f"dedup.splits: split name {name!r} must be letters, digits or _")
        if abs(sum(self.splits.values()) - 1.0) > 1e-9:
            raise ConfigError(f"dedup.splits shares must sum to 1 (they sum to {sum(self.splits.values())})")


@dataclass(frozen=True)
class ValidateParams:
    max_reject_rate: float = 0.5
    min_articles: int = 1

    def check(self) -> None:
        _share("validate.max_reject_rate", self.max_reject_rate)
        _at_least("validate.min_articles", self.min_articles, 0)


@dataclass(frozen=True)
class PublishParams:
    rows_per_file: int = 100_000
    duckdb: bool = True

    def check(self) -> None:
        _at_least("publish.rows_per_file", self.rows_per_file, 1)


@dataclass(frozen=True)
class ReleaseParams:
    name: str = "news-articles"
    version: str = "0.1.0"
    license: str = "cc-by-4.0"
    description: str = ""
    citation: str = ""

    def check(self) -> None:
        parts = self.version.split(".")
        if len(parts) != 3 or not all(p.isdigit() for p in parts):
            raise ConfigError(f"release.version must look like X.Y.Z (got {self.version!r})")
        if not self.name or not all(c.isalnum() or c in "-_." for c in self.name):
            raise ConfigError(f"release.name must be letters, digits, '-', '_' or '.' (got {self.name!r})")


@dataclass(frozen=True)
class Params:
    paths: PathsParams = field(default_factory=PathsParams)
    workers: int | str = "auto"
    executor: str = "local"
    cache: CacheParams = field(default_factory=CacheParams)
    ingest: IngestParams = field(default_factory=IngestParams)
    clean: CleanParams = field(default_factory=CleanParams)
    extract: ExtractParams = field(default_factory=ExtractParams)
    dedup: DedupParams = field(default_factory=DedupParams)
    validate: ValidateParams = field(default_factory=ValidateParams)
    publish: PublishParams = field(default_factory=PublishParams)
    release: ReleaseParams = field(default_factory=ReleaseParams)

    def check(self) -> None:
        if not (self.workers == "auto" or (isinstance(self.workers, int) and self.workers >= 1)):
            raise ConfigError(f"workers must be 'auto' or an integer >= 1 (got {self.workers!r})")
        _one_of("executor", self.executor, ("local", "ray"))
        for section in (self.cache, self.ingest, self.clean, self.extract, self.dedup, self.validate,
                        self.publish, self.release):
            section.check()

    @property
    def worker_count(self) -> int:
        """The number of worker processes: `workers`, or the machine's cores when 'auto'."""
        return (os.cpu_count() or 1) if self.workers == "auto" else int(self.workers)

    def section_fingerprint(self, name: str) -> str:
        """A short stable hash of one params section (used in cache keys and the card)."""
        value = dataclasses.asdict(getattr(self, name))
        return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()[:16]

    def to_dict(self) -> dict:
        """The params as plain data, in declaration order."""
        return dataclasses.asdict(self)


def _at_least(key: str, value: int | float, low: int | float) -> None:
    if value < low:
        raise ConfigError(f"{key} must be >= {low} (got {value!r})")


def _share(key: str, value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ConfigError(f"{key} must be between 0 and 1 (got {value!r})")


def _one_of(key: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ConfigError(f"{key} must be one of {', '.join(allowed)} (got {value!r})")


def _type_name(annotation) -> str:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in typing.get_args(annotation))
    return getattr(annotation, "__name__", str(annotation))


def _coerce(key: str, value, annotation):
    """Check `value` against a field annotation; ints are accepted where floats are expected."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        for option in typing.get_args(annotation):
            try:
                return _coerce(key, value, option)
            except ConfigError:
                continue
        raise ConfigError(f"{key} must be {_type_name(annotation)} (got {value!r})")
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{key} must be a mapping (got {value!r})")
        _, value_type = typing.get_args(annotation)
        return {str(k): _coerce(f"{key}.{k}", v, value_type) for k, v in value.items()}
    if annotation is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if annotation is int and isinstance(value, bool):
        raise ConfigError(f"{key} must be int (got {value!r})")
    if annotation is str and isinstance(value, (int, float)) and key == "release.version":
        raise ConfigError(f"{key} must be a string like X.Y.Z (got {value!r})")
    if not isinstance(value, annotation):
        raise ConfigError(f"{key} must be {_type_name(annotation)} (got {value!r})")
    return value


def _build(cls, data: dict, prefix: str):
    if not isinstance(data, dict):
        raise ConfigError(f"{prefix or 'params'} must be a mapping (got {data!r})")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    values = {}
    for key, value in data.items():
        dotted = f"{prefix}.{key}" if prefix else str(key)
        if key not in names:
            raise ConfigError(f"unknown parameter {dotted!r}; allowed here: {', '.join(names)}")
        annotation = hints[key]
        if dataclasses.is_dataclass(annotation):
            values[key] = _build(annotation, value, dotted)
        else:
            values[key] = _coerce(dotted, value, annotation)
    return cls(**values)


def apply_overrides(data: dict, overrides: list[str]) -> dict:
    """Return `data` with each `KEY=VALUE` override (dotted key, YAML value) applied."""
    data = json.loads(json.dumps(data))  # deep copy of plain data
    for override in overrides:
        key, sep, raw_value = override.partition("=")
        if not sep or not key:
            raise ConfigError(f"--set expects KEY=VALUE (got {override!r})")
        try:
            value = yaml.safe_load(raw_value) if raw_value else ""
        except yaml.YAMLError:
            value = raw_value
        node = data
        parts = key.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"--set {key}: {part!r} is not a section")
        node[parts[-1]] = value
    return data


def load_params(path: str | Path | None = "params.yaml", overrides: list[str] = ()) -> Params:
    """Load and check `params.yaml` (or the defaults when `path` is None) plus `--set` overrides.

    Raises ConfigError (one line) for a missing or unreadable file, unknown keys, wrong types or
    out-of-range values.
    """
    data: dict = {}
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"params file not found: {path}")
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as error:
            raise ConfigError(f"{path} is not valid YAML: {str(error).splitlines()[0]}") from None
    data = apply_overrides(data, list(overrides))
    params = _build(Params, data, "")
    params.check()
    return params
