"""Config files: one pydantic model per YAML file in ``configs/``, validated strictly.

``configs/<stem>.yaml`` is validated by the model registered for ``<stem>`` in :data:`SCHEMAS`, or by
the config model of the pipeline whose config file it is (found through the pipeline descriptors);
a YAML file with no schema is itself an error (a stray file is usually a typo).
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from kpredict.config.loader import ConfigModel, load_config, load_yaml, validate_config
from kpredict.errors import ConfigError

__all__ = ["SCHEMAS", "ConfigModel", "check_configs", "load_config", "load_yaml", "schema_for", "validate_config"]

#: file stem → "module:Class" of its pydantic model, for the files that belong to no pipeline
SCHEMAS: dict[str, str] = {
    "features": "kpredict.features.definitions:FeatureRepoConfig",
    "demo": "kpredict.config.demo:DemoConfig",
    "jobs": "kpredict.jobs:JobsConfig",
}


def schema_for(stem: str) -> type[BaseModel]:
    """The model class of ``configs/<stem>.yaml``: a fixed schema, or the pipeline named ``stem``'s config."""
    if stem in SCHEMAS:
        module_name, _, class_name = SCHEMAS[stem].partition(":")
        return getattr(importlib.import_module(module_name), class_name)
    from kpredict.pipeline import discover_pipelines

    pipelines = {Path(d.default_config_path).stem: d for d in discover_pipelines().values()}
    if stem in pipelines:
        return pipelines[stem].config_model
    raise ConfigError(
        f"no schema is registered for config file '{stem}.yaml'; known files: "
        f"{sorted(f'{name}.yaml' for name in [*SCHEMAS, *pipelines])}"
    )


def check_configs(directory: str | Path = "configs") -> dict[str, Any]:
    """Validate every ``*.yaml`` file in ``directory``; returns stem → loaded model.

    Raises:
        ConfigError: listing every invalid file (all files are checked before raising).
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise ConfigError(f"config directory {directory} does not exist")
    loaded: dict[str, Any] = {}
    problems: list[str] = []
    files = sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")])
    if not files:
        raise ConfigError(f"config directory {directory} holds no *.yaml files")
    for path in files:
        try:
            loaded[path.stem] = load_config(path, schema_for(path.stem))
        except ConfigError as exc:
            problems.append(str(exc) if str(path) in str(exc) else f"{path}: {exc}")
    if problems:
        raise ConfigError("\n".join(problems))
    return loaded
