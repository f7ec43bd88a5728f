"""Load YAML config files into pydantic models, with errors that name the file and the key path.

Precedence, highest first: explicit overrides (the CLI) > environment (``KPREDICT_<FILE>__<KEY>__...``)
> the YAML file > the model's defaults. YAML is read with a safe loader only: tags that would build
Python objects are refused, and so are duplicate keys (a silent last-one-wins hides typos).
"""

from __future__ import annotations

import difflib
import os
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from kpredict.errors import ConfigError

__all__ = ["ConfigModel", "env_overrides", "format_location", "load_config", "load_pipeline_config", "load_yaml"]

ModelT = TypeVar("ModelT", bound=BaseModel)

ENV_PREFIX = "KPREDICT_"
ENV_DELIMITER = "__"


class ConfigModel(BaseModel):
    """Base of every config section: unknown keys are errors, values are validated on assignment."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, frozen=False)


class _StrictSafeLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate mapping keys."""


def _construct_mapping(loader: _StrictSafeLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise ConfigError(
                f"duplicate key {key!r} at line {key_node.start_mark.line + 1} "
                f"(first at line {seen[key] + 1}) in {loader.name}"
            )
        seen[key] = key_node.start_mark.line
    return loader.construct_mapping(node, deep=deep)


_StrictSafeLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping safely; an empty file is an empty mapping."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist")
    text = path.read_text(encoding="utf-8")
    loader = _StrictSafeLoader(text)
    loader.name = str(path)
    try:
        data = loader.get_single_data()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or type(exc).__name__
        raise ConfigError(f"{path}{where}: invalid YAML ({problem}); only plain YAML is accepted") from None
    finally:
        loader.dispose()
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level, got {type(data).__name__}")
    return data


def env_overrides(section: str, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Nested overrides for one config file from ``KPREDICT_<SECTION>__<KEY>[__<KEY>...]`` variables.

    Values are parsed as YAML scalars/flow collections, so ``KPREDICT_DEMO__SEED=3`` gives an int.
    """
    environ = os.environ if environ is None else environ
    prefix = f"{ENV_PREFIX}{section.upper()}{ENV_DELIMITER}"
    result: dict[str, Any] = {}
    for name, raw in sorted(environ.items()):
        if not name.startswith(prefix):
            continue
        keys = [part.lower() for part in name[len(prefix) :].split(ENV_DELIMITER)]
        try:
            value = yaml.safe_load(raw)
        except yaml.YAMLError:
            raise ConfigError(f"environment variable {name} is not a valid YAML value") from None
        _set_nested(result, keys, value)
    return result


def _set_nested(target: dict[str, Any], keys: list[str], value: Any) -> None:
    for key in keys[:-1]:
        target = target.setdefault(key, {})
        if not isinstance(target, dict):
            raise ConfigError(f"override for {'.'.join(keys)} conflicts with a scalar value")
    target[keys[-1]] = value


def _deep_merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def format_location(loc: tuple[Any, ...]) -> str:
    """``('views', 'orders', 'features', 0, 'name')`` → ``views.orders.features[0].name``."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or "<root>"


def _known_keys(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """Field names valid at the parent of ``loc`` (best effort; [] when the path leaves models)."""
    current: Any = model
    for part in loc[:-1]:
        current = _descend(current, part)
        if current is None:
            return []
    if isinstance(current, type) and issubclass(current, BaseModel):
        return sorted(current.model_fields)
    return []


def _descend(annotation: Any, part: Any) -> Any:
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _descend(typing.get_args(annotation)[0], part)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        field = annotation.model_fields.get(part) if isinstance(part, str) else None
        return field.annotation if field is not None else None
    args = typing.get_args(annotation)
    if origin in (list, tuple, set, frozenset) and args:
        return args[0]
    if origin is dict and len(args) == 2:
        return args[1]
    if args:  # a union: follow the member that has this field, if exactly one model does
        models = [arg for arg in args if isinstance(arg, type) and issubclass(arg, BaseModel)]
        if isinstance(part, str):
            # a discriminated union tag appears in the location as the member's tag value
            for member in models:
                if part in member.model_fields:
                    return member.model_fields[part].annotation
                tag = member.model_fields.get("kind")
                if tag is not None and part in typing.get_args(tag.annotation):
                    return member
    return None


def validation_message(exc: ValidationError, model: type[BaseModel], source: str) -> str:
    """A readable, value-free summary of a pydantic error: file, key path and what was expected."""
    lines = [f"{source}: {exc.error_count()} invalid setting(s)"]
    for error in exc.errors(include_input=False, include_url=False):
        loc = tuple(error["loc"])
        where = format_location(loc)
        if error["type"] == "extra_forbidden":
            known = _known_keys(model, loc)
            hint = difflib.get_close_matches(str(loc[-1]), known, n=1)
            section = f"in section {format_location(loc[:-1])!r}" if len(loc) > 1 else "at the top level"
            text = f"  - unknown key {loc[-1]!r} {section}"
            if hint:
                text += f"; did you mean {hint[0]!r}?"
            elif known:
                text += f"; expected one of {known}"
            lines.append(text)
        elif error["type"] == "missing":
            lines.append(f"  - {where}: required key is missing")
        else:
            lines.append(f"  - {where}: {error['msg']}")
    return "\n".join(lines)


def load_config(
    path: str | Path,
    model: type[ModelT],
    *,
    overrides: Mapping[str, Any] | None = None,
    section: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> ModelT:
    """Load ``path`` into ``model`` applying environment then explicit overrides.

    Args:
        path: the YAML file.
        model: the pydantic model of that file.
        overrides: nested values that win over everything (what the CLI passed).
        section: name used for environment overrides; defaults to the file's stem.
        environ: environment mapping (tests pass their own).

    Raises:
        ConfigError: naming the file, each bad key path and what was expected.
    """
    path = Path(path)
    data = load_yaml(path)
    data = _deep_merge(data, env_overrides(section or path.stem, environ))
    if overrides:
        data = _deep_merge(data, overrides)
    return validate_config(data, model, source=str(path))


def validate_config(data: Mapping[str, Any], model: type[ModelT], *, source: str) -> ModelT:
    """Validate an already-loaded mapping, turning pydantic errors into a ConfigError."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(validation_message(exc, model, source)) from None


def load_pipeline_config(config: Any, model: type[ModelT], default_path: str | Path, **overrides: Any) -> ModelT:
    """A pipeline's settings from an object, a YAML path, or ``default_path`` (defaults if absent).

    ``overrides`` are dotted keys (``**{"model.n_trials": 5}``) that win over file and environment;
    ``None`` values are ignored so CLI options left unset change nothing.
    """
    overrides = {k: v for k, v in overrides.items() if v is not None}
    nested: dict[str, Any] = {}
    for key, value in overrides.items():
        _set_nested(nested, key.split("."), value)
    if isinstance(config, model):
        # Re-validated from a dump: model_copy(update=...) would neither validate the values nor
        # reach a nested key such as "model.n_trials" (it would set an attribute of that name).
        if not nested:
            return config
        return validate_config(_deep_merge(config.model_dump(), nested), model, source=f"{model.__name__} object")
    path = Path(config) if config is not None else Path(default_path)
    if path.is_file():
        return load_config(path, model, overrides=nested)
    if config is not None:
        from kpredict.errors import ConfigError

        raise ConfigError(f"config file {path} does not exist")
    return validate_config(nested, model, source="defaults")
