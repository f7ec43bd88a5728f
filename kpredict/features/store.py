"""The feature store: the single source of features for training and for scoring.

``training_frame`` and ``scoring_frame`` go through the same join, so a model never sees a feature
computed one way in training and another way in scoring.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from kpredict.errors import SchemaError
from kpredict.features.definitions import FeatureRepoConfig, Text
from kpredict.features.join import asof_join_view, calendar_features, cast_feature, check_entity_timestamps, evaluate_view
from kpredict.features.materialize import MaterialisedView, ViewEvents, materialise_view, needed_columns, sort_view_events
from kpredict.features.sources import load_view_source, source_fingerprint, to_epoch_ns
from kpredict.hashing import frame_hash
from kpredict.io import write_parquet, write_text

__all__ = ["FeatureStore", "MaterialisationInfo"]

logger = logging.getLogger(__name__)

_META = "meta.json"
_DATA = "data.parquet"


@dataclass(frozen=True)
class MaterialisationInfo:
    """What materialising one view produced (also stored as ``meta.json`` beside the data)."""

    view: str
    definition_hash: str
    data_hash: str
    rows: int
    path: Path | None
    source_fingerprint: dict


class FeatureStore:
    """Feature views over a data directory, materialised to parquet under ``store_dir``.

    Args:
        repo: the validated feature repository (``configs/features.yaml``).
        data_dir: where source paths are resolved.
        store_dir: where materialised views are written; None keeps them in memory only.
        inclusive: whether source rows stamped exactly at the entity time are visible
            (True: "as of the end of that moment"; False: strictly before it).

    Examples:
        >>> store = FeatureStore.from_yaml("configs/features.yaml", data_dir="data/demo")  # doctest: +SKIP
        >>> frame = store.training_frame(labels, views=["customer_orders"])  # doctest: +SKIP
    """

    def __init__(
        self,
        repo: FeatureRepoConfig,
        data_dir: str | Path,
        store_dir: str | Path | None = None,
        *,
        inclusive: bool = True,
    ) -> None:
        self.repo = repo
        self.data_dir = Path(data_dir)
        self.store_dir = Path(store_dir) if store_dir is not None else None
        self.inclusive = inclusive
        self._cache: dict[str, tuple[str, dict, MaterialisedView]] = {}

    @classmethod
    def from_yaml(cls, path: str | Path, data_dir: str | Path, store_dir: str | Path | None = None, **kwargs: Any) -> FeatureStore:
        """Load and validate ``path`` (raises ConfigError naming the file and key)."""
        from kpredict.config import load_config

        return cls(load_config(path, FeatureRepoConfig), data_dir, store_dir, **kwargs)

    # ------------------------------------------------------------------ definitions
    def view_names(self) -> list[str]:
        """Names of all feature views, in definition order."""
        return list(self.repo.feature_views)

    def view_hash(self, view: str) -> str:
        """Content hash of a view's definition (its version)."""
        self._require_view(view)
        return self.repo.view_hash(view)

    def view_hashes(self, views: list[str] | None = None) -> dict[str, str]:
        """Definition hashes of the given views (all by default), to log with a model."""
        return {name: self.view_hash(name) for name in (views or self.view_names())}

    def descriptions(self) -> dict[str, Text]:
        """Feature name → business description (zh + en), for explanations and reports."""
        return {f.name: f.description for view in self.repo.feature_views.values() for f in view.features}

    def describe(self, view: str) -> pd.DataFrame:
        """One row per feature of a view: name, transform, dtype and both descriptions."""
        self._require_view(view)
        rows = []
        for feature in self.repo.feature_views[view].features:
            spec = feature.transform.model_dump(exclude={"kind"})
            detail = ", ".join(f"{k}={v}" for k, v in spec.items() if v is not None)
            rows.append(
                {
                    "feature": feature.name,
                    "transform": f"{feature.transform.kind}({detail})",
                    "dtype": feature.dtype,
                    "description_en": feature.description.en,
                    "description_zh": feature.description.zh,
                }
            )
        return pd.DataFrame(rows)

    def _require_view(self, view: str) -> None:
        if view not in self.repo.feature_views:
            raise SchemaError(f"unknown feature view {view!r}; known views: {self.view_names()}")

    # ------------------------------------------------------------------ materialisation
    def _view_dir(self, view: str) -> Path:
        assert self.store_dir is not None
        return self.store_dir / view / self.view_hash(view)[:16]

    def _has_materialised_features(self, view: str) -> bool:
        return self.repo.feature_views[view].source is not None

    def materialize(self, views: list[str] | None = None, *, progress: bool = False) -> dict[str, MaterialisationInfo]:
        """Compute views from their sources and (with a ``store_dir``) write them to parquet.

        Writes are atomic per view: data first, then ``meta.json``; a reader trusts a view
        only when its meta exists and names the same definition hash.
        """
        for name in views or []:
            self._require_view(name)
        names = [v for v in (views or self.view_names()) if self._has_materialised_features(v)]
        infos: dict[str, MaterialisationInfo] = {}
        iterator = names
        if progress:
            from rich.progress import track

            iterator = track(names, description="materialising feature views")
        for name in iterator:
            infos[name] = self._materialise_one(name)
        return infos

    def _materialise_one(self, view: str) -> MaterialisationInfo:
        definition_hash = self.view_hash(view)
        spec = self.repo.feature_views[view]
        fingerprint = source_fingerprint(self.repo.sources[spec.source], self.data_dir, self.repo)
        loaded = load_view_source(self.repo, view, self.data_dir, needed_columns(self.repo, view))
        mat = materialise_view(self.repo, view, loaded)
        data_hash = frame_hash(mat.frame)
        meta = {
            "view": view,
            "definition_hash": definition_hash,
            "data_hash": data_hash,
            "rows": len(mat.frame),
            "keys": mat.keys,
            "tz_aware": mat.tz_aware,
            "categories": mat.categories,
            "source_fingerprint": fingerprint,
        }
        path = None
        if self.store_dir is not None:
            # The data file is named by its content and meta.json names it: replacing meta.json is the
            # one atomic step, so a kill or a failure before it leaves the previous materialisation
            # (its meta and its data file) exactly as it was.
            directory = self._view_dir(view)
            path = directory / f"data-{data_hash[:16]}.parquet"
            meta["data_file"] = path.name
            write_parquet(mat.frame, path)
            write_text(json.dumps(meta, indent=2, sort_keys=True), directory / _META)
            for stale in directory.glob("data*.parquet"):
                if stale.name != path.name:
                    stale.unlink(missing_ok=True)
        self._cache[view] = (definition_hash, fingerprint, mat)
        return MaterialisationInfo(view, definition_hash, data_hash, len(mat.frame), path, fingerprint)

    def materialised(self, view: str) -> MaterialisedView:
        """The view's materialised table: from memory, from parquet if current, else computed now."""
        self._require_view(view)
        current = self._current_materialisation(view)
        if current is not None:
            return current
        logger.info("feature view %s is not materialised for its current definition/source; computing it", view)
        self._materialise_one(view)
        return self._cache[view][2]

    def _current_materialisation(self, view: str) -> MaterialisedView | None:
        """The view's materialised table from memory or parquet when it is current, else None."""
        definition_hash = self.view_hash(view)
        spec = self.repo.feature_views[view]
        fingerprint = source_fingerprint(self.repo.sources[spec.source], self.data_dir, self.repo)
        cached = self._cache.get(view)
        if cached and cached[0] == definition_hash and cached[1] == fingerprint and not fingerprint["volatile"]:
            return cached[2]
        if self.store_dir is not None and not fingerprint["volatile"]:
            meta_path = self._view_dir(view) / _META
            if meta_path.is_file():
                meta = json.loads(meta_path.read_text())
                if meta["definition_hash"] == definition_hash and meta["source_fingerprint"] == fingerprint:
                    frame = pd.read_parquet(self._view_dir(view) / meta.get("data_file", _DATA))
                    mat = MaterialisedView(frame, meta["keys"], meta["tz_aware"], meta["categories"])
                    self._cache[view] = (definition_hash, fingerprint, mat)
                    return mat
        return None

    def _view_events(self, view: str, source_rows: dict[str, pd.DataFrame]) -> ViewEvents:
        """The view's source rows, read (once per source for all the views given) and sorted for
        evaluation at arbitrary entity times."""
        columns = needed_columns(self.repo, view)
        rows = source_rows.get(self.repo.feature_views[view].source)
        if rows is not None and not set(columns) <= set(rows.columns):
            rows = None
        loaded = load_view_source(self.repo, view, self.data_dir, columns, rows=None if rows is None else rows[columns])
        return sort_view_events(self.repo, view, loaded)

    def _read_shared_sources(self, views: list[str], given: Mapping[str, pd.DataFrame] | None = None) -> dict[str, pd.DataFrame]:
        """Rows of each source that two or more of ``views`` read, with the columns all of them need;
        a source in ``given`` (every row, already read by the caller) is taken from there."""
        from kpredict.features.sources import read_source

        by_source: dict[str, list[str]] = {}
        for view in views:
            by_source.setdefault(self.repo.feature_views[view].source, []).append(view)
        shared: dict[str, pd.DataFrame] = {}
        for source, readers in by_source.items():
            if given is not None and source in given:
                shared[source] = given[source]
                continue
            if len(readers) < 2:
                continue
            columns = list(dict.fromkeys(c for view in readers for c in needed_columns(self.repo, view)))
            rows = read_source(self.repo, source, self.data_dir, columns=columns)
            shared[source] = rows[[c for c in columns if c in rows.columns]]
        return shared

    # ------------------------------------------------------------------ retrieval
    def training_frame(
        self,
        entity_df: pd.DataFrame,
        views: list[str] | None = None,
        *,
        timestamp_column: str = "event_timestamp",
        inclusive: bool | None = None,
        source_rows: Mapping[str, pd.DataFrame] | None = None,
    ) -> pd.DataFrame:
        """Every feature of ``views`` as of each entity row's timestamp, never later.

        Args:
            entity_df: join keys of every view used + ``timestamp_column`` (+ anything else,
                e.g. labels, which is kept). Not modified.
            views: feature views to join (default: all).
            timestamp_column: the entity time column.
            inclusive: override the store's inclusive/exclusive setting for this call.
            source_rows: per source name, every row of it the caller has already read (as
                ``read_source`` returns them): views evaluated from that source use these rows
                instead of reading the file again. Not modified.

        Returns:
            ``entity_df``'s columns followed by the features, in the same row order; missing
            history gives NaN (never a dropped row). ``frame.attrs["stale_rows"]`` counts,
            per view, rows whose latest source row was older than the view's TTL.

        A view materialised for its current definition and source is read back with an as-of join;
        any other view is evaluated at the entity times directly from its source rows (the same
        values, without materialising every moment a feature can change).

        Raises:
            SchemaError: a missing key or timestamp column, or key dtypes that differ.
            PointInTimeError: unparseable timestamps or aware/naive mixes (naming both columns).
        """
        inclusive = self.inclusive if inclusive is None else inclusive
        names = list(views) if views is not None else self.view_names()
        for name in names:
            self._require_view(name)
        if timestamp_column not in entity_df.columns:
            raise SchemaError(
                f"the entity frame needs a timestamp column {timestamp_column!r}; got {list(entity_df.columns)}"
            )
        entity_ns, entity_aware = to_epoch_ns(entity_df[timestamp_column], what=f"entity frame column {timestamp_column!r}")
        clashes = [f for n in names for f in self.repo.feature_views[n].feature_names() if f in entity_df.columns]
        if clashes:
            raise SchemaError(f"the entity frame already has columns named like features: {clashes}")
        result = entity_df.reset_index(drop=True).copy()
        stale_rows: dict[str, int] = {}
        current = {name: self._current_materialisation(name) for name in names if self.repo.feature_views[name].source is not None}
        direct = [name for name, mat in current.items() if mat is None]
        source_rows = self._read_shared_sources(direct, source_rows)
        readers_left = Counter(self.repo.feature_views[name].source for name in direct)
        for name in names:
            spec = self.repo.feature_views[name]
            if spec.source is None:
                for feature in spec.features:
                    result[feature.name] = calendar_features(entity_ns, feature.transform.part)
                continue
            mat = current[name]
            if mat is not None:
                check_entity_timestamps(entity_aware, name, mat.tz_aware, timestamp_column, spec.event_timestamp)
                joined, categories = asof_join_view(name, spec, mat, result, entity_ns, inclusive=inclusive), mat.categories
            else:  # evaluating at the entity times costs less than materialising every moment a feature changes
                logger.info("feature view %s is not materialised for its current definition/source; evaluating it at the %d entity time(s)", name, len(result))
                prepared = self._view_events(name, source_rows)
                readers_left[spec.source] -= 1
                if not readers_left[spec.source]:
                    source_rows.pop(spec.source, None)  # no later view reads it: free the rows
                check_entity_timestamps(entity_aware, name, prepared.tz_aware, timestamp_column, spec.event_timestamp)
                joined, categories = evaluate_view(name, spec, prepared, result, entity_ns, inclusive=inclusive)
            for feature in spec.features:
                values = joined.features[feature.name]
                result[feature.name] = cast_feature(values, feature.dtype, categories.get(feature.name))
            stale_rows[name] = joined.stale_rows
            if joined.stale_rows:
                logger.info("feature view %s: %d row(s) beyond TTL %s set to NaN", name, joined.stale_rows, spec.ttl)
        result.index = entity_df.index
        result.attrs["stale_rows"] = stale_rows
        return result

    def history_start(self, views: list[str]) -> tuple[pd.Timestamp | None, str | None]:
        """When every one of ``views`` has data: the latest of their sources' first event times.

        Labels taken before then see some views empty (a customer with no recorded behaviour
        looks loyal), so training snapshots should start after it.

        Returns:
            The time and the view that decided it (None, None when no view has a source or data).
        """
        from kpredict.features.sources import read_source

        start, decided_by = None, None
        for name in views:
            self._require_view(name)
            view = self.repo.feature_views[name]
            if view.source is None:
                continue
            times = read_source(self.repo, view.source, self.data_dir, columns=[view.event_timestamp])[view.event_timestamp]
            first = pd.to_datetime(times).min()
            if pd.notna(first) and (start is None or first > start):
                start, decided_by = pd.Timestamp(first), name
        return start, decided_by

    def entities(self, views: list[str]) -> pd.DataFrame:
        """Distinct entity keys found in the given views' materialised tables, sorted."""
        keys: list[str] = []
        for name in views:
            for key in self.repo.join_keys(name):
                if key not in keys:
                    keys.append(key)
        frames = [self.materialised(n).frame[keys] for n in views if self.repo.feature_views[n].source is not None and set(self.repo.join_keys(n)) == set(keys)]
        if not frames:
            raise SchemaError(
                f"no single view among {views} holds all entity keys {keys}; pass `entities` explicitly"
            )
        return pd.concat(frames, ignore_index=True).drop_duplicates().sort_values(keys, kind="mergesort").reset_index(drop=True)

    def scoring_frame(
        self,
        as_of: str | pd.Timestamp,
        views: list[str] | None = None,
        entities: pd.DataFrame | None = None,
        *,
        timestamp_column: str = "event_timestamp",
    ) -> pd.DataFrame:
        """The latest feature values of every entity as of ``as_of`` (same join as training).

        Args:
            as_of: the cut-off time.
            views: feature views to join (default: all).
            entities: the entity keys to score; default every entity found in the views.
        """
        names = list(views) if views is not None else self.view_names()
        keys_frame = entities.copy() if entities is not None else self.entities(names)
        stamp = pd.Timestamp(as_of)
        keys_frame[timestamp_column] = stamp
        if keys_frame[timestamp_column].dtype == object:  # zero rows: keep a datetime column
            keys_frame[timestamp_column] = pd.to_datetime(keys_frame[timestamp_column])
        return self.training_frame(keys_frame, names, timestamp_column=timestamp_column)
