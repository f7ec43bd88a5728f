"""Turn a resolved config into what a run may record: plain data with secrets masked, and params.

Why here and not in MLflow: MLflow logs whatever it is given, and params, tags and artifacts are
readable by anyone with access to the tracking store. A secret must never get that far.

A value is masked (replaced by ``"***"``) when its key looks secret (a word of the key is one of
``password``, ``passwd``, ``pwd``, ``secret``, ``token``, ``apikey``, ``credential(s)``, or ``key``
alone or after api/access/secret/private/auth/signing/encryption; ``api_key``, ``accessToken`` and
``db-password`` count, ``join_keys`` and ``entity_key`` do not) or when it is a pydantic ``SecretStr`` /
``SecretBytes``. Whole sub-trees under a secret key are masked. Passwords inside URLs
(``scheme://user:password@host``) are masked wherever they appear.
"""

from __future__ import annotations

import datetime as _dt
import enum
import json
import logging
import re
from collections.abc import Mapping
from pathlib import PurePath
from typing import Any

__all__ = ["MASK", "flatten_params", "is_secret_key", "plain_config"]

logger = logging.getLogger(__name__)

MASK = "***"

#: MLflow's limits (mlflow.utils.validation): param values up to 6000 characters, keys up to 250.
MAX_PARAM_VALUE_LENGTH = 6000
MAX_PARAM_KEY_LENGTH = 250

_SECRET_WORDS = frozenset(
    {"password", "passwd", "pwd", "secret", "token", "apikey", "credential", "credentials"}
)
# "key" alone is too common a word (join keys, sort keys): secret only with one of these before it.
_SECRET_KEY_QUALIFIERS = frozenset({"api", "access", "secret", "private", "auth", "signing", "encryption"})
_WORD_SPLIT = re.compile(r"[^A-Za-z0-9]+|(?<=[a-z0-9])(?=[A-Z])")
_URL_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.\-]*://[^/\s:@]*:)[^/\s@]+@")
_PARAM_KEY_BAD = re.compile(r"[^\w.\- /:]")


def is_secret_key(key: object) -> bool:
    """True when a config key names something secret (see the module docstring for the words)."""
    words = [word.lower() for word in _WORD_SPLIT.split(str(key)) if word]
    if set(words) & _SECRET_WORDS or words == ["key"]:
        return True
    return any(word == "key" and previous in _SECRET_KEY_QUALIFIERS for previous, word in zip(words, words[1:]))


def plain_config(config: Any) -> Any:
    """The config as plain JSON/YAML-safe data (dicts, lists, str, numbers, bools, None), masked.

    Accepts a mapping or a pydantic model (dumped with ``model_dump()``; ``SecretStr`` values stay
    objects there and are masked here). Paths, dates and enums become strings; other unknown
    objects become their ``str()``. The input is never mutated.
    """
    return _plain(config, secret=False)


def flatten_params(config: Any) -> dict[str, str]:
    """Masked config flattened to MLflow params: nested keys joined with ``.``, lists as JSON.

    Values longer than MLflow's param limit are truncated (the full value is in the
    ``config/resolved.yaml`` artifact); keys are made safe for MLflow.
    """
    flat: dict[str, str] = {}
    _flatten(plain_config(config), "", flat)
    return flat


def _plain(value: Any, *, secret: bool) -> Any:
    if secret or _is_pydantic_secret(value):
        return MASK
    if hasattr(value, "model_dump") and not isinstance(value, type):
        value = value.model_dump()
    if isinstance(value, Mapping):
        return {str(k): _plain(v, secret=is_secret_key(k)) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value, key=repr) if isinstance(value, (set, frozenset)) else value
        return [_plain(v, secret=False) for v in items]
    if isinstance(value, str):
        return _URL_PASSWORD.sub(lambda m: m.group("head") + MASK + "@", value)
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, enum.Enum):
        return _plain(value.value, secret=False)
    if isinstance(value, (_dt.date, _dt.time)):
        return value.isoformat()
    if isinstance(value, PurePath):
        return str(value)
    if hasattr(value, "item") and callable(value.item):  # numpy scalar
        try:
            return _plain(value.item(), secret=False)
        except (TypeError, ValueError):
            pass
    return _plain(str(value), secret=False)


def _is_pydantic_secret(value: Any) -> bool:
    # By name, so this module works (and stays cheap) whether or not pydantic is imported.
    return any(
        cls.__name__ in {"SecretStr", "SecretBytes", "Secret"}
        and cls.__module__.startswith("pydantic")
        for cls in type(value).__mro__
    )


def _flatten(value: Any, prefix: str, out: dict[str, str]) -> None:
    if isinstance(value, dict) and value:
        for key, item in value.items():
            _flatten(item, f"{prefix}.{key}" if prefix else key, out)
        return
    if not prefix:
        return
    if isinstance(value, (dict, list)):
        text = json.dumps(value, sort_keys=True, ensure_ascii=False)
    else:
        text = str(value)
    key = _PARAM_KEY_BAD.sub("_", prefix)[:MAX_PARAM_KEY_LENGTH]
    if len(text) > MAX_PARAM_VALUE_LENGTH:
        logger.debug("param %s truncated to %d characters", key, MAX_PARAM_VALUE_LENGTH)
        text = text[: MAX_PARAM_VALUE_LENGTH - 3] + "..."
    out[key] = text
