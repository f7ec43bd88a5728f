"""The model registry of kpredict: ``kpredict-<pipeline>`` models and their ``@champion`` alias.

A version is registered with the metric it was judged on and a hash of the holdout it was judged
on (version tags). The champion alias moves only through :func:`promote_if_better`: a challenger
must beat the champion on the same holdout (or the champion is re-scored on the challenger's
holdout), unless forced.

Version tags written by :func:`register`::

    kpredict.pipeline  kpredict.metric_name  kpredict.metric_value  kpredict.greater_is_better
    kpredict.holdout_hash  kpredict.registration_id

and by :func:`promote_if_better` on the version it promotes: ``kpredict.promotion_reason``.
"""

from __future__ import annotations

import logging
import math
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kpredict.errors import ConfigError, ModelNotFoundError
from kpredict.tracking import store
from kpredict.tracking._retry import with_retries

if TYPE_CHECKING:
    import pandas as pd
    from mlflow import MlflowClient
    from mlflow.entities.model_registry import ModelVersion

__all__ = [
    "CHAMPION",
    "PromotionDecision",
    "ResolvedModel",
    "list_models",
    "model_name",
    "promote_if_better",
    "register",
    "resolve",
]

logger = logging.getLogger(__name__)

CHAMPION = "champion"
#: the gate's reason when the first version of a model becomes champion
NO_PREVIOUS_CHAMPION = "promoted to champion (no previous champion)"
MODEL_PREFIX = "kpredict-"
TAG_PIPELINE = "kpredict.pipeline"
TAG_METRIC_NAME = "kpredict.metric_name"
TAG_METRIC_VALUE = "kpredict.metric_value"
TAG_GREATER_IS_BETTER = "kpredict.greater_is_better"
TAG_HOLDOUT_HASH = "kpredict.holdout_hash"
TAG_REGISTRATION_ID = "kpredict.registration_id"
TAG_PROMOTION_REASON = "kpredict.promotion_reason"

LIST_COLUMNS = [
    "name",
    "version",
    "aliases",
    "run_id",
    "metric_name",
    "metric_value",
    "greater_is_better",
    "holdout_hash",
    "created",
]

_PIPELINE_NAME = re.compile(r"^[a-z0-9][a-z0-9_]*$")


@dataclass(frozen=True)
class ResolvedModel:
    """A registered model version, found by alias or number, ready to load from ``uri``."""

    name: str
    version: int
    run_id: str | None
    uri: str
    tags: dict[str, str] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class PromotionDecision:
    """What the champion gate decided and why (``reason`` is meant for people and logs)."""

    promoted: bool
    reason: str
    new_value: float | None
    champion_version: int | None
    champion_value: float | None


@dataclass(frozen=True)
class _Judged:
    """The metric a version was registered with."""

    metric_name: str | None
    value: float | None
    greater_is_better: bool
    holdout_hash: str | None

    @classmethod
    def of(cls, version: ModelVersion) -> _Judged:
        tags = version.tags or {}
        raw = tags.get(TAG_METRIC_VALUE)
        try:
            value = float(raw) if raw is not None else None
        except ValueError:
            value = None
        return cls(
            metric_name=tags.get(TAG_METRIC_NAME),
            value=value,
            greater_is_better=tags.get(TAG_GREATER_IS_BETTER, "true").lower() == "true",
            holdout_hash=tags.get(TAG_HOLDOUT_HASH),
        )


def model_name(pipeline: str) -> str:
    """Registered model name of a pipeline: ``kpredict-<pipeline>``.

    Raises:
        ConfigError: ``pipeline`` is not a lower-case identifier like ``sales_forecast``.
    """
    if not isinstance(pipeline, str) or not _PIPELINE_NAME.match(pipeline):
        raise ConfigError(
            "Pipeline names are lower-case identifiers like 'churn' or 'sales_forecast'; "
            f"got {pipeline!r}."
        )
    return MODEL_PREFIX + pipeline


def register(
    run_id: str,
    artifact_path_or_model_uri: str,
    pipeline: str,
    *,
    metric_name: str | None,
    metric_value: float | None,
    greater_is_better: bool = True,
    holdout_hash: str | None = None,
) -> int:
    """Register a logged model as a new version of ``kpredict-<pipeline>``; safe across processes.

    Several processes may register at once: the first creates the registered model, the others
    see it exists; sqlite lock conflicts are retried a bounded number of times, and a retry never
    creates a second version for the same call.

    Args:
        run_id: The training run that logged the model.
        artifact_path_or_model_uri: ``runs:/...`` or ``models:/...`` URI (e.g.
            ``ModelInfo.model_uri``), or the model's name / artifact path within ``run_id``.
        pipeline: Pipeline name.
        metric_name: Holdout metric the version is judged on, e.g. ``"auc"``; None registers a
            model that has no criterion (an unsupervised detector without labels): it becomes
            champion when there is none, and replaces one only when forced.
        metric_value: Its value on the holdout (finite; None exactly when ``metric_name`` is).
        greater_is_better: Direction of the metric.
        holdout_hash: Full-data hash of the holdout the metric was computed on.

    Returns:
        The new version number.

    Raises:
        ValueError: ``metric_value`` is not a finite number, or the URI belongs to another run.
    """
    import mlflow

    name = model_name(pipeline)
    model_uri = _model_uri(run_id, artifact_path_or_model_uri)
    registration_id = uuid.uuid4().hex
    tags = {TAG_PIPELINE: pipeline, TAG_REGISTRATION_ID: registration_id}
    if metric_name is None:
        if metric_value is not None:
            raise ValueError(f"metric_value was given ({metric_value!r}) without a metric_name; name the metric or pass neither.")
    else:
        value = float(metric_value) if metric_value is not None else math.nan
        if not math.isfinite(value):
            raise ValueError(
                f"metric_value for {metric_name!r} must be a finite number to compare versions; got {metric_value!r}. "
                "Check the evaluation on the holdout, or register without a metric (metric_name=None)."
            )
        tags |= {
            TAG_METRIC_NAME: metric_name,
            TAG_METRIC_VALUE: repr(value),
            TAG_GREATER_IS_BETTER: str(bool(greater_is_better)).lower(),
        }
        if holdout_hash is not None:
            tags[TAG_HOLDOUT_HASH] = holdout_hash
    store.configure()
    client = _client()

    def attempt() -> ModelVersion:
        return mlflow.register_model(model_uri, name, tags=tags)

    def already_done() -> ModelVersion | None:
        # An attempt can fail after its version was committed; find it instead of adding another.
        versions = _versions(client, name)
        mine = (mv for mv in versions if mv.tags.get(TAG_REGISTRATION_ID) == registration_id)
        return next(mine, None)

    version = with_retries(attempt, what=f"register {name}", before_retry=already_done)
    if version.run_id and version.run_id != run_id:
        logger.warning("Model version %s of %s belongs to another run", version.version, name)
    logger.info("Registered %s version %s", name, version.version)
    return int(version.version)


def promote_if_better(
    pipeline: str,
    version: int | str,
    *,
    force: bool = False,
    evaluate_champion: Callable[[str], float] | None = None,
) -> PromotionDecision:
    """Move ``@champion`` to ``version`` when it beats the current champion (or when forced).

    Rules: no champion -> promote. Same holdout hash and metric -> compare the registered values:
    strictly better promotes, a tie keeps the champion. Different holdout (or metric) -> score the
    champion on the challenger's holdout with ``evaluate_champion(champion_uri)`` and compare;
    without an evaluator the champion stays. ``force`` always promotes.

    Args:
        pipeline: Pipeline name.
        version: The challenger version.
        force: Promote whatever the metrics say.
        evaluate_champion: Called with the champion's ``models:/`` URI; returns its value of the
            challenger's metric on the challenger's holdout.

    Returns:
        The decision with its reason and the values compared.

    Raises:
        ModelNotFoundError: The model or the version does not exist.
    """
    name = model_name(pipeline)
    store.configure()
    client = _client()
    challenger = _get_version(client, name, _version_number(name, version))
    number = int(challenger.version)
    new = _Judged.of(challenger)

    champion = _champion(client, name)
    champion_version = int(champion.version) if champion is not None else None
    old = _Judged.of(champion) if champion is not None else None
    champion_value = old.value if old is not None and _comparable(new, old) else None

    if champion is not None and champion_version == number:
        return PromotionDecision(
            False, f"version {number} is already the champion", new.value, number, champion_value
        )
    if force:
        reason = "forced" + (
            "" if champion is None else f" over champion version {champion_version}"
        )
        return _promote(client, name, number, reason, new.value, champion_version, champion_value)
    if champion is None or old is None:
        return _promote(client, name, number, NO_PREVIOUS_CHAMPION, new.value, None, None)
    if new.value is None or new.metric_name is None:
        return PromotionDecision(
            False,
            f"version {number} has no registered metric to compare; promote it with force",
            None,
            champion_version,
            champion_value,
        )

    if _comparable(new, old):
        basis = "on the same holdout"
    elif evaluate_champion is not None:
        champion_value = float(evaluate_champion(f"models:/{name}/{champion_version}"))
        basis = "with the champion re-scored on the new holdout"
        if not math.isfinite(champion_value):
            return PromotionDecision(
                False,
                f"the evaluator gave champion version {champion_version} a non-finite "
                f"{new.metric_name}; cannot compare, promote with force if intended",
                new.value,
                champion_version,
                None,
            )
    else:
        what = "holdout" if new.metric_name == old.metric_name else "metric"
        return PromotionDecision(
            False,
            f"champion version {champion_version} was judged on a different {what}; pass an "
            "evaluator to re-score it on the new holdout, or force the promotion",
            new.value,
            champion_version,
            None,
        )

    assert champion_value is not None
    better = new.value > champion_value if new.greater_is_better else new.value < champion_value
    comparison = f"{new.metric_name} {new.value:.6g} vs {champion_value:.6g} {basis}"
    if better:
        return _promote(
            client,
            name,
            number,
            f"beats champion version {champion_version}: {comparison}",
            new.value,
            champion_version,
            champion_value,
        )
    verdict = "ties" if new.value == champion_value else "does not beat"
    return PromotionDecision(
        False,
        f"{verdict} champion version {champion_version}: {comparison}",
        new.value,
        champion_version,
        champion_value,
    )


def resolve(pipeline: str, model: int | str = CHAMPION) -> ResolvedModel:
    """Find a registered version of a pipeline's model by alias or version number.

    Args:
        pipeline: Pipeline name.
        model: An alias (``"champion"``) or a version number (``3`` or ``"3"``).

    Returns:
        The version, with its ``models:/kpredict-<pipeline>/<version>`` URI and tags.

    Raises:
        ModelNotFoundError: No such registered model, alias or version; the message lists the
            known versions and says what to do.
    """
    name = model_name(pipeline)
    store.configure()
    client = _client()
    registered = _get_registered(client, name, pipeline)
    if isinstance(model, int) or (isinstance(model, str) and model.strip().isdigit()):
        found = _get_version(client, name, int(model))
    else:
        alias = str(model).strip()
        aliases = dict(registered.aliases or {})
        if alias not in aliases:
            known = ", ".join(sorted(aliases)) or "none"
            raise ModelNotFoundError(
                f"Model {name!r} has no alias {alias!r} (aliases: {known}; known versions: "
                f"{_known_versions(client, name)}). Promote a version with "
                f"'kpredict models promote {pipeline} VERSION', or ask for a version number (model=VERSION; CLI: --model VERSION)."
            )
        found = _get_version(client, name, int(aliases[alias]))
    number = int(found.version)
    return ResolvedModel(
        name=name,
        version=number,
        run_id=found.run_id or None,
        uri=f"models:/{name}/{number}",
        tags=dict(found.tags or {}),
        aliases=tuple(_aliases_by_version(registered).get(number, [])),
    )


def list_models(pipeline: str | None = None) -> pd.DataFrame:
    """All registered versions of kpredict's models (or one pipeline's), newest first per model.

    Returns:
        One row per version with columns ``name, version, aliases, run_id, metric_name,
        metric_value, greater_is_better, holdout_hash, created`` (UTC timestamp); empty (with
        these columns) when nothing is registered.
    """
    import pandas as pd

    store.configure()
    client = _client()
    if pipeline is not None:
        registered = [_registered_or_none(client, model_name(pipeline))]
    else:
        registered = _paged(
            lambda token: client.search_registered_models(
                filter_string=f"name LIKE '{MODEL_PREFIX}%'", page_token=token
            )
        )
    # Aliases come from the registered model: search results of versions do not carry them.
    aliases_by_name = {
        rm.name: _aliases_by_version(rm) for rm in registered if rm is not None
    }
    rows = []
    for name in sorted(aliases_by_name):
        for mv in _versions(client, name):
            judged = _Judged.of(mv)
            rows.append(
                {
                    "name": name,
                    "version": int(mv.version),
                    "aliases": ",".join(aliases_by_name[name].get(int(mv.version), [])),
                    "run_id": mv.run_id or None,
                    "metric_name": judged.metric_name,
                    "metric_value": judged.value,
                    "greater_is_better": judged.greater_is_better if judged.metric_name else None,
                    "holdout_hash": judged.holdout_hash,
                    "created": pd.Timestamp(mv.creation_timestamp, unit="ms", tz="UTC"),
                }
            )
    frame = pd.DataFrame(rows, columns=LIST_COLUMNS)
    if rows:
        frame = frame.sort_values(["name", "version"], ascending=[True, False], kind="stable")
    frame["created"] = pd.to_datetime(frame["created"], utc=True)
    return frame.reset_index(drop=True)


# -- helpers -------------------------------------------------------------------------------------


def _client() -> MlflowClient:
    from mlflow import MlflowClient

    return MlflowClient()


def _model_uri(run_id: str, artifact_path_or_model_uri: str) -> str:
    target = artifact_path_or_model_uri.strip()
    if target.startswith("runs:/"):
        owner = target[len("runs:/") :].split("/", 1)[0]
        if owner != run_id:
            raise ValueError(
                f"Model URI belongs to run {owner!r}, not to run {run_id!r}. "
                "Pass the URI of the model logged by this run."
            )
        return target
    if "://" in target or target.startswith("models:/"):
        return target
    return f"runs:/{run_id}/{target.strip('/')}"


def _registered_or_none(client: MlflowClient, name: str) -> Any:
    from mlflow.exceptions import MlflowException

    try:
        return client.get_registered_model(name)
    except MlflowException as exc:
        if exc.error_code != "RESOURCE_DOES_NOT_EXIST":
            raise
        return None


def _aliases_by_version(registered: Any) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    for alias, version in sorted((registered.aliases or {}).items()):
        found.setdefault(int(version), []).append(alias)
    return found


def _version_number(name: str, version: int | str) -> int:
    text = str(version).strip()
    if not text.isdigit():
        raise ModelNotFoundError(
            f"Model versions of {name!r} are numbers like 3; got {text!r}. "
            "List them with 'kpredict models list'."
        )
    return int(text)


def _get_registered(client: MlflowClient, name: str, pipeline: str) -> Any:
    from mlflow.exceptions import MlflowException

    try:
        return client.get_registered_model(name)
    except MlflowException as exc:
        if exc.error_code != "RESOURCE_DOES_NOT_EXIST":
            raise
        raise ModelNotFoundError(
            f"No registered model {name!r} in the tracking store. Train it with "
            f"'kpredict train {pipeline}', or check MLFLOW_TRACKING_URI / KPREDICT_MODELS_DIR."
        ) from None


def _get_version(client: MlflowClient, name: str, number: int) -> ModelVersion:
    from mlflow.exceptions import MlflowException

    try:
        return client.get_model_version(name, str(number))
    except MlflowException as exc:
        if exc.error_code != "RESOURCE_DOES_NOT_EXIST":
            raise
        known = _known_versions(client, name)
        pipeline = name[len(MODEL_PREFIX) :]
        if not known:
            raise ModelNotFoundError(
                f"No registered model {name!r} (asked for version {number}). Train it with "
                f"'kpredict train {pipeline}'."
            ) from None
        raise ModelNotFoundError(
            f"Model {name!r} has no version {number}; known versions: {known}. "
            "Ask for one of them (model=VERSION; CLI: --model VERSION), or for the champion."
        ) from None


def _champion(client: MlflowClient, name: str) -> ModelVersion | None:
    from mlflow.exceptions import MlflowException

    registered = client.get_registered_model(name)
    if CHAMPION not in (registered.aliases or {}):
        return None
    try:
        return client.get_model_version(name, str(registered.aliases[CHAMPION]))
    except MlflowException as exc:
        if exc.error_code != "RESOURCE_DOES_NOT_EXIST":
            raise
        return None


def _comparable(new: _Judged, old: _Judged) -> bool:
    """Registered values can be compared directly: same metric on the same holdout."""
    return (
        old.value is not None
        and new.metric_name is not None
        and new.metric_name == old.metric_name
        and new.holdout_hash is not None
        and new.holdout_hash == old.holdout_hash
    )


def _promote(
    client: MlflowClient,
    name: str,
    number: int,
    reason: str,
    new_value: float | None,
    champion_version: int | None,
    champion_value: float | None,
) -> PromotionDecision:
    with_retries(
        lambda: client.set_registered_model_alias(name, CHAMPION, str(number)),
        what=f"move {name}@{CHAMPION}",
    )
    with_retries(
        lambda: client.set_model_version_tag(name, str(number), TAG_PROMOTION_REASON, reason),
        what=f"tag {name} version",
    )
    logger.info("Promoted %s version %s to @%s: %s", name, number, CHAMPION, reason)
    return PromotionDecision(True, reason, new_value, champion_version, champion_value)


def _versions(client: MlflowClient, name: str) -> list[ModelVersion]:
    return list(
        _paged(
            lambda token: client.search_model_versions(
                filter_string=f"name = '{name}'", page_token=token
            )
        )
    )


def _known_versions(client: MlflowClient, name: str) -> list[int]:
    return sorted(int(mv.version) for mv in _versions(client, name))


def _paged(search: Callable[[str | None], Any]) -> list[Any]:
    items: list[Any] = []
    token: str | None = None
    while True:
        page = search(token)
        items.extend(page)
        token = getattr(page, "token", None)
        if not token:
            return items
