"""Declarative feature definitions: entities, sources and feature views (``configs/features.yaml``).

Vocabulary follows Feast: an *entity* names the join keys, a *feature view* is an entity + an
event timestamp + a source + named features, each built by one declarative transform.

Transforms come in two families:

* **materialised** (``latest``, ``lag``, ``rolling``, ``window``, ``decay``) — a step function of
  time per entity, stored as rows keyed by (entity, event_timestamp) and joined as of each entity
  time (``decay`` stores its value as of the latest row, and the join decays it to the entity time);
* **on-demand** (``recency``, ``ratio``, ``change``, ``calendar``) — computed at join time from the
  entity time and other features of the same view, so they are exact at any time.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Literal, Union

from pydantic import AfterValidator, Field, field_validator, model_validator

from kpredict.config.loader import ConfigModel
from kpredict.hashing import object_hash

__all__ = [
    "CalendarTransform",
    "ChangeTransform",
    "DecayTransform",
    "Entity",
    "Feature",
    "FeatureRepoConfig",
    "FeatureView",
    "LagTransform",
    "LatestTransform",
    "RatioTransform",
    "RecencyTransform",
    "RollingTransform",
    "Source",
    "Text",
    "PositiveDuration",
    "WindowTransform",
    "parse_duration",
]

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|min|h|d|w)\s*$")
_UNIT_SECONDS = {"s": 1, "min": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"

Aggregation = Literal["count", "sum", "mean", "min", "max", "std"]
Dtype = Literal["float64", "int64", "bool", "category", "string"]
CalendarPart = Literal[
    "day_of_week", "day_of_month", "day_of_year", "week_of_year", "month", "quarter", "is_weekend"
]


def parse_duration(text: str) -> timedelta:
    """``"30d"``, ``"12h"``, ``"2w"``, ``"90min"``, ``"45s"`` → timedelta."""
    match = _DURATION.match(str(text))
    if not match:
        raise ValueError(f"expected a duration like '30d', '12h', '2w', '90min' or '45s', got {text!r}")
    return timedelta(seconds=float(match.group(1)) * _UNIT_SECONDS[match.group(2)])


def _positive_duration(text: str) -> str:
    if parse_duration(text).total_seconds() <= 0:
        raise ValueError(f"expected a positive duration like '1d', got {text!r}")
    return text


#: a config field holding a positive duration like ``"1d"`` or ``"90min"`` (checked, kept as text)
PositiveDuration = Annotated[str, AfterValidator(_positive_duration)]


class Text(ConfigModel):
    """A business-readable text in both languages we write reports in."""

    en: str = Field(min_length=1)
    zh: str = Field(min_length=1)


class Entity(ConfigModel):
    """Who or what a feature describes, identified by its join keys."""

    join_keys: list[str] = Field(min_length=1)
    description: Text | None = None


class Source(ConfigModel):
    """Where a view's rows come from. Paths are relative to the data directory.

    ``sql`` runs in DuckDB, where every other source of the repository is a table of its own name.
    """

    kind: Literal["parquet", "csv", "duckdb", "sql"]
    path: str | None = None
    database: str | None = None
    table: str | None = None
    query: str | None = None

    @model_validator(mode="after")
    def _fields_for_kind(self) -> Source:
        needed = {"parquet": ["path"], "csv": ["path"], "duckdb": ["database", "table"], "sql": ["query"]}
        missing = [name for name in needed[self.kind] if getattr(self, name) in (None, "")]
        if missing:
            raise ValueError(f"a {self.kind} source needs {missing}")
        return self


class LatestTransform(ConfigModel):
    """The value of ``column`` in the latest row at or before the entity time."""

    kind: Literal["latest"]
    column: str


class LagTransform(ConfigModel):
    """The value of ``column`` in the ``periods``-th latest row (1 = the latest visible row)."""

    kind: Literal["lag"]
    column: str
    periods: int = Field(ge=1)


class RollingTransform(ConfigModel):
    """An aggregate of ``column`` over the last ``periods`` rows (row count, not time)."""

    kind: Literal["rolling"]
    column: str
    agg: Aggregation
    periods: int = Field(ge=1)


class WindowTransform(ConfigModel):
    """An aggregate over the rows in the ``window`` before the entity time.

    ``column`` may be omitted for ``count`` (count of rows). ``std`` is the sample standard
    deviation (NaN with fewer than two rows).
    """

    kind: Literal["window"]
    agg: Aggregation
    window: str
    column: str | None = None

    @field_validator("window")
    @classmethod
    def _check_window(cls, value: str) -> str:
        parse_duration(value)
        return value

    @model_validator(mode="after")
    def _column_needed(self) -> WindowTransform:
        if self.column is None and self.agg != "count":
            raise ValueError(f"agg {self.agg!r} needs a column (only 'count' may omit it)")
        return self


class DecayTransform(ConfigModel):
    """Time-decayed count (or sum of ``column``) of the view's rows before the entity time.

    Each row counts ``2 ** (-age / half_life)``: a row as old as the half-life counts one half.
    Unlike a window it has no edge where a row suddenly stops counting, so recent activity
    weighs more and a customer's slow fade shows as a smooth decline. Missing values count 0.
    """

    kind: Literal["decay"]
    half_life: str
    column: str | None = None

    @field_validator("half_life")
    @classmethod
    def _check_half_life(cls, value: str) -> str:
        if parse_duration(value).total_seconds() <= 0:
            raise ValueError(f"half_life must be a positive duration, got {value!r}")
        return value


class RecencyTransform(ConfigModel):
    """Time from the latest row of the view to the entity time, in ``unit``.

    With ``cycle`` the time is taken modulo the cycle: e.g. ``cycle: 365d`` on a subscription's
    start gives the day within the current contract year (renewals come at the end of it).
    """

    kind: Literal["recency"]
    unit: Literal["days", "hours"] = "days"
    cycle: str | None = None

    @field_validator("cycle")
    @classmethod
    def _check_cycle(cls, value: str | None) -> str | None:
        if value is not None:
            parse_duration(value)
        return value


class RatioTransform(ConfigModel):
    """``numerator / (denominator * denominator_scale)``, both features of the same view."""

    kind: Literal["ratio"]
    numerator: str
    denominator: str
    denominator_scale: float = 1.0


class ChangeTransform(ConfigModel):
    """Relative change ``recent / (baseline * baseline_scale) - 1`` (e.g. last 30 days vs 90-day monthly mean)."""

    kind: Literal["change"]
    recent: str
    baseline: str
    baseline_scale: float = 1.0


class CalendarTransform(ConfigModel):
    """A calendar attribute of the entity time itself."""

    kind: Literal["calendar"]
    part: CalendarPart


Transform = Annotated[
    Union[
        LatestTransform,
        LagTransform,
        RollingTransform,
        WindowTransform,
        DecayTransform,
        RecencyTransform,
        RatioTransform,
        ChangeTransform,
        CalendarTransform,
    ],
    Field(discriminator="kind"),
]

MATERIALISED_KINDS = ("latest", "lag", "rolling", "window", "decay")
ON_DEMAND_KINDS = ("recency", "ratio", "change", "calendar")


class Feature(ConfigModel):
    """One named feature: how it is built, its dtype and what it means in business words."""

    name: str = Field(pattern=_NAME)
    transform: Transform
    dtype: Dtype = "float64"
    description: Text
    value_labels: dict[str, Text] = Field(
        default_factory=dict, description="a category's values in business words, e.g. monthly: {en: monthly, zh: 月付}"
    )


class FeatureView(ConfigModel):
    """Entity key(s) + event timestamp + source + features, with an optional time-to-live."""

    entities: list[str] = Field(default_factory=list)
    source: str | None = None
    event_timestamp: str | None = None
    created_timestamp: str | None = None
    ttl: str | None = None
    description: Text | None = None
    features: list[Feature] = Field(min_length=1)

    @field_validator("ttl")
    @classmethod
    def _check_ttl(cls, value: str | None) -> str | None:
        if value is not None:
            parse_duration(value)
        return value

    @model_validator(mode="after")
    def _consistent(self) -> FeatureView:
        names = [feature.name for feature in self.features]
        duplicated = sorted({name for name in names if names.count(name) > 1})
        if duplicated:
            raise ValueError(f"feature names appear twice: {duplicated}")
        calendar_only = all(f.transform.kind == "calendar" for f in self.features)
        if self.source is None and not calendar_only:
            raise ValueError("a view without a source may only hold calendar features")
        if self.source is not None and not self.entities:
            raise ValueError("a view with a source needs at least one entity")
        if self.source is not None and not self.event_timestamp:
            raise ValueError("a view with a source needs event_timestamp (the column with each row's time)")
        for position, feature in enumerate(self.features):
            refs = _references(feature)
            earlier = set(names[:position])
            unknown = [ref for ref in refs if ref not in earlier]
            if unknown:
                raise ValueError(
                    f"feature {feature.name!r} refers to {unknown}, which must be features "
                    "defined earlier in the same view"
                )
        return self

    @property
    def ttl_timedelta(self) -> timedelta | None:
        """The time-to-live as a timedelta (None: rows never go stale)."""
        return parse_duration(self.ttl) if self.ttl else None

    def feature_names(self) -> list[str]:
        """Output feature names, in definition order."""
        return [feature.name for feature in self.features]


def _references(feature: Feature) -> list[str]:
    transform = feature.transform
    if isinstance(transform, RatioTransform):
        return [transform.numerator, transform.denominator]
    if isinstance(transform, ChangeTransform):
        return [transform.recent, transform.baseline]
    return []


class FeatureRepoConfig(ConfigModel):
    """The whole feature repository: the one governed set of feature definitions."""

    version: int = 1
    entities: dict[str, Entity] = Field(default_factory=dict)
    sources: dict[str, Source] = Field(default_factory=dict)
    # a repository of sources only is whole: a forecast from the sales history alone needs no view
    feature_views: dict[str, FeatureView] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _not_empty(self) -> FeatureRepoConfig:
        if not self.sources and not self.feature_views:
            raise ValueError("the feature repository declares no source and no feature view; declare at least one source")
        return self

    @model_validator(mode="after")
    def _references_exist(self) -> FeatureRepoConfig:
        owners: dict[str, str] = {}
        for view_name, view in self.feature_views.items():
            if not re.match(_NAME, view_name):
                raise ValueError(f"feature view name {view_name!r} must match {_NAME}")
            for entity in view.entities:
                if entity not in self.entities:
                    raise ValueError(
                        f"feature view {view_name!r} uses unknown entity {entity!r}; "
                        f"defined entities: {sorted(self.entities)}"
                    )
            if view.source is not None and view.source not in self.sources:
                raise ValueError(
                    f"feature view {view_name!r} uses unknown source {view.source!r}; "
                    f"defined sources: {sorted(self.sources)}"
                )
            for feature in view.features:
                if feature.name in owners:
                    raise ValueError(
                        f"feature {feature.name!r} is defined in both {owners[feature.name]!r} and "
                        f"{view_name!r}; a feature has one definition"
                    )
                owners[feature.name] = view_name
        return self

    def feature_definitions(self) -> dict[str, Feature]:
        """Feature name → its definition, over every view (for explanations and chart labels)."""
        return {f.name: f for view in self.feature_views.values() for f in view.features}

    def join_keys(self, view_name: str) -> list[str]:
        """All join keys of a view, in entity order."""
        keys: list[str] = []
        for entity in self.feature_views[view_name].entities:
            keys.extend(key for key in self.entities[entity].join_keys if key not in keys)
        return keys

    def view_hash(self, view_name: str) -> str:
        """Content hash of a view's definition, including its entities' keys and its source.

        Changing any of them changes the hash, so the hash versions the view.
        """
        view = self.feature_views[view_name]
        dumped = view.model_dump(mode="json")
        for feature in dumped["features"]:  # a view without value labels keeps the hash it had before they existed
            if not feature["value_labels"]:
                del feature["value_labels"]
        payload = {
            "view": dumped,
            "join_keys": self.join_keys(view_name),
            "source": self.sources[view.source].model_dump(mode="json") if view.source else None,
        }
        return object_hash(payload)
