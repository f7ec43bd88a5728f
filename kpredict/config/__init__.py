"""Config files: one pydantic model per YAML file in ``configs/``, validated strictly.

``configs/<stem>.yaml`` is validated by the model registered for ``<stem>`` in :data:`SCHEMAS`;
a YAML file with no registered schema is itself an error (a stray file is usually a typo).
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from kpredict.config.loader import ConfigModel, load_config, load_yaml, validate_config
from kpredict.errors import ConfigError

__all__ = ["SCHEMAS", "ConfigModel", "check_configs", "load_config", "load_yaml", "schema_for", "validate_config"]

#: file stem → "module:Class" of its pydantic model (imported only when that file is checked)
SCHEMAS: dict[str, str] = {
    "features": "kpredict.features.definitions:FeatureRepoConfig",
    "demo": "kpredict.config.demo:DemoConfig",
    "churn": "kpredict.pipelines.churn.config:ChurnConfig",
    "sales_forecast": "kpredict.pipelines.sales_forecast.config:SalesForecastConfig",
}


def schema_for(stem: str) -> type[BaseModel]:
    """The model class registered for a config file stem."""
    try:
        target = SCHEMAS[stem]
    except KeyError:
        raise ConfigError(
            f"no schema is registered for config file '{stem}.yaml'; known files: "
            f"{sorted(f'{name}.yaml' for name in SCHEMAS)}"
        ) from None
    module_name, _, class_name = target.partition(":")
    return getattr(importlib.import_module(module_name), class_name)


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
