"""The pipeline descriptor: what one pipeline tells the rest of kpredict, and how pipelines are found.

Each ``pipelines/<name>/__init__.py`` declares ``PIPELINE = PipelineDescriptor(...)``: its config
model, its ``train`` recipe, its scoring plugin, its demo step and its report section. The CLI,
``config check``, the demo and the report discover pipelines here, so a new pipeline is one new
folder. A pipeline shipped in another distribution registers its descriptor under the
``kpredict.pipelines`` entry-point group::

    [project.entry-points."kpredict.pipelines"]
    my_pipeline = "my_package.pipeline:PIPELINE"

Descriptors reference their heavy parts lazily (:class:`Ref`): discovering pipelines, or
``kpredict --help``, imports no pandas, MLflow or LightGBM.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from kpredict.errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    from kpredict.config.store import StoreSettings
    from kpredict.reports.scored_outputs import ScoredOutput
    from kpredict.reports.section import Section
    from kpredict.scoring.plugin import FrameScoringPlugin, RowScoringPlugin
    from kpredict.tracking.publish import TrainingResult

__all__ = [
    "ENTRY_POINT_GROUP",
    "DemoContext",
    "PipelineDescriptor",
    "Ref",
    "discover_pipelines",
    "get_pipeline",
    "trusted_module",
]

logger = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "kpredict.pipelines"
T = TypeVar("T")


class Ref(Generic[T]):
    """An object named ``"module:attribute"``, imported on first use (and callable if it is)."""

    def __init__(self, target: str) -> None:
        module, _, attribute = target.partition(":")
        if not module or not attribute:
            raise ConfigError(f"A reference must look like 'package.module:attribute'; got {target!r}.")
        self.target = target
        self._value: Any = None

    def get(self) -> T:
        """The referenced object (imported once)."""
        if self._value is None:
            module, _, attribute = self.target.partition(":")
            value: Any = importlib.import_module(module)
            for part in attribute.split("."):
                value = getattr(value, part)
            self._value = value
        return self._value

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.get()(*args, **kwargs)  # type: ignore[operator]

    def __repr__(self) -> str:
        return f"Ref({self.target!r})"


class TrainFunction(Protocol):
    """``train(config=None, *, force=False, **overrides)``: the pipeline's recipe, ending in publish."""

    def __call__(self, config: Any = None, *, force: bool = False, **overrides: Any) -> TrainingResult: ...


@dataclass
class DemoContext:
    """What a pipeline's demo step gets: where to print, its settings, the date and output folder."""

    pipeline: str
    console: Any
    config: Any
    as_of: str
    output_dir: str

    def train(self, measured: Callable[[dict[str, float]], str]) -> TrainingResult:
        """Train the pipeline on the demo settings; print its version, time, ``measured(metrics)`` and the gate's decision."""
        import time

        started = time.perf_counter()
        result = get_pipeline(self.pipeline).train(self.config)
        self.console.print(
            f"trained version {result.model_version} in {time.perf_counter() - started:.0f} s: "
            f"{measured(result.metrics)}; {result.promotion_reason}"
        )
        return result

    def print_table(self, title: str, header: list[str], rows: Any) -> None:
        """A small rich table of ``rows`` (sequences of text) under ``title``."""
        from rich.table import Table

        table = Table(*header, header_style="bold", title=title)
        for row in rows:
            table.add_row(*row)
        self.console.print(table)

    def score(self, **options: Any) -> Any:
        """Score the pipeline as of the demo date into the demo output folder (a ScoreResult)."""
        from kpredict.scoring import score

        return score(self.pipeline, self.as_of, config=self.config, output_dir=self.output_dir, **options)


class DemoStep(Protocol):
    """Train, score and summarise the pipeline on the demo company; returns a summary for callers."""

    def __call__(self, context: DemoContext) -> dict[str, Any]: ...


class ReportSection(Protocol):
    """Write the pipeline's business report files; returns ``{kind: path}``."""

    def __call__(self, as_of: str, *, lang: str, model: str | int, output_dir: Path, config: Any) -> dict[str, Path]: ...


class BusinessSection(Protocol):
    """The pipeline's part of the business report, from its scoring output, in ``lang``."""

    def __call__(self, output: ScoredOutput, config: Any, lang: str) -> Section: ...


class OutcomeEvaluation(Protocol):
    """Realized metrics of stored predictions, once the outcomes are in the data."""

    def __call__(self, stored: ScoredOutput, config: Any) -> dict[str, float]: ...


@dataclass(frozen=True)
class PipelineDescriptor:
    """Everything kpredict needs to know about one pipeline.

    Attributes:
        name: lower-case identifier; the model is registered as ``kpredict-<name>``.
        summary: one line for help texts and ``kpredict pipelines``.
        config_model: the pydantic model of ``configs/<name>.yaml`` (a StoreSettings subclass).
        train: the training recipe (see :class:`TrainFunction`).
        scoring: the scoring plugin (a :class:`~kpredict.scoring.plugin.RowScoringPlugin` or
            :class:`~kpredict.scoring.plugin.FrameScoringPlugin`), or None if it does not score.
        demo: the demo step, or None to leave the pipeline out of ``kpredict demo``.
        report: the pipeline's own report files (churn: the retention list), or None.
        section: builds the pipeline's part of the business report (``build_section(output,
            config, lang) -> Section``), or None to leave it out of ``kpredict report``.
        outcomes: compares stored predictions with the outcomes that arrived later
            (``evaluate_outcomes(stored, config) -> {metric: value}``), or None: no ``kpredict evaluate``.
        trials_key: the dotted config key that ``--trials`` sets (None: no tuning search).
        train_options: the pipeline's own ``kpredict train`` options → the dotted config key each
            sets (churn: ``{"table": "table.path", ...}``).
        evaluate_options: the same for ``kpredict evaluate`` (churn: ``{"outcomes": "outcomes"}``).
        config_file: the config file read when none is given (default ``configs/<name>.yaml``).
        module: the module that declared it (filled in by discovery; names its trusted package).
    """

    name: str
    summary: str
    config_model: type[StoreSettings]
    train: Ref[TrainFunction] | TrainFunction
    scoring: Ref[RowScoringPlugin | FrameScoringPlugin] | RowScoringPlugin | FrameScoringPlugin | None = None
    demo: Ref[DemoStep] | DemoStep | None = None
    report: Ref[ReportSection] | ReportSection | None = None
    section: Ref[BusinessSection] | BusinessSection | None = None
    outcomes: Ref[OutcomeEvaluation] | OutcomeEvaluation | None = None
    trials_key: str | None = None
    config_file: str | None = None
    train_options: dict[str, str] = field(default_factory=dict, compare=False)
    evaluate_options: dict[str, str] = field(default_factory=dict, compare=False)
    module: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        from kpredict.tracking.registry import model_name

        model_name(self.name)  # the registry's naming rule, checked when the pipeline is declared

    @classmethod
    def from_package(
        cls, package: str, *, summary: str, config_model: type[StoreSettings], trials_key: str | None = None, config_file: str | None = None,
        train_options: dict[str, str] | None = None, evaluate_options: dict[str, str] | None = None,
    ) -> PipelineDescriptor:
        """The descriptor of a pipeline folder laid out by convention, named after the folder.

        ``train.py`` holds ``train``; the optional ``scoring.py``, ``demo.py``, ``report.py`` and
        ``section.py`` hold ``PLUGIN``, ``run``, ``write_report`` and ``build_section``, and
        ``outcomes.py`` holds ``evaluate_outcomes``. Nothing is imported until it is used.
        """
        from importlib.util import find_spec

        def part(module: str, attribute: str) -> Ref[Any] | None:
            return Ref(f"{package}.{module}:{attribute}") if find_spec(f"{package}.{module}") is not None else None

        return cls(
            name=package.rsplit(".", 1)[-1], summary=summary, config_model=config_model,
            train=Ref(f"{package}.train:train"), scoring=part("scoring", "PLUGIN"), demo=part("demo", "run"),
            report=part("report", "write_report"), section=part("section", "build_section"),
            outcomes=part("outcomes", "evaluate_outcomes"), trials_key=trials_key, config_file=config_file,
            train_options=dict(train_options or {}), evaluate_options=dict(evaluate_options or {}), module=package,
        )

    @property
    def default_config_path(self) -> str:
        return self.config_file or f"configs/{self.name}.yaml"

    def load_config(self, config: Any = None, **overrides: Any) -> Any:
        """The pipeline's settings from an object, a YAML path, or the default file; overrides win.

        Overrides are dotted keys (``**{"model.n_trials": 5}``); None values are ignored.
        """
        from kpredict.config.loader import load_pipeline_config

        return load_pipeline_config(config, self.config_model, self.default_config_path, **overrides)

    def load_table_config(self, config: Any = None, **overrides: Any) -> Any:
        """The settings a run from a user's own table trains on: as :meth:`load_config`, except that a
        table given without a config starts from the built-in defaults, not the default file, which
        describes the demo company's data (its series, channels, labels) that the table replaces."""
        if config is None and (overrides.get("table") is not None or overrides.get("table.path") is not None):
            from kpredict.config.loader import load_pipeline_config

            return load_pipeline_config(None, self.config_model, "", **overrides)
        return self.load_config(config, **overrides)

    def scoring_plugin(self) -> RowScoringPlugin | FrameScoringPlugin:
        """The scoring plugin.

        Raises:
            ConfigError: the pipeline does not score.
        """
        if self.scoring is None:
            raise ConfigError(f"Pipeline {self.name!r} has no scoring plugin; pipelines that score: {scoring_pipelines()}.")
        return resolve(self.scoring)


def _builtin_descriptors() -> list[PipelineDescriptor]:
    import kpredict.pipelines as package

    found = []
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
        if not info.ispkg or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        descriptor = getattr(module, "PIPELINE", None)
        if isinstance(descriptor, PipelineDescriptor):
            found.append(_with_module(descriptor, module.__name__))
        else:
            logger.warning("folder pipelines/%s declares no PIPELINE descriptor; it is not a pipeline", info.name)
    return found


def _entry_point_descriptors() -> list[PipelineDescriptor]:
    found = []
    for entry in sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        descriptor = entry.load()
        if not isinstance(descriptor, PipelineDescriptor):
            raise ConfigError(
                f"Entry point {entry.name!r} of group {ENTRY_POINT_GROUP!r} must name a PipelineDescriptor; "
                f"got {type(descriptor).__name__} from {entry.value!r}."
            )
        found.append(_with_module(descriptor, entry.module))
    return found


def _with_module(descriptor: PipelineDescriptor, module: str) -> PipelineDescriptor:
    from dataclasses import replace

    return descriptor if descriptor.module else replace(descriptor, module=module)


def discover_pipelines() -> dict[str, PipelineDescriptor]:
    """Every pipeline: the folders of ``kpredict.pipelines``, then the entry points, by name.

    Raises:
        ConfigError: two pipelines declare the same name.
    """
    found = [*_builtin_descriptors(), *_entry_point_descriptors()]
    modules: dict[str, list[str]] = {}
    for descriptor in found:
        modules.setdefault(descriptor.name, []).append(descriptor.module)
    clashes = {name: where for name, where in modules.items() if len(where) > 1}
    if clashes:
        raise ConfigError(f"Pipeline names must be unique; declared more than once: {clashes}.")
    return {descriptor.name: descriptor for descriptor in found}


def get_pipeline(name: str, *, needs: str | None = None) -> PipelineDescriptor:
    """The descriptor of pipeline ``name``.

    Args:
        needs: "scoring", "demo", "report", "section" or "outcomes": also require that part.

    Raises:
        ConfigError: no such pipeline (the message lists them), or it lacks the needed part.
    """
    pipelines = discover_pipelines()
    if name not in pipelines:
        raise ConfigError(f"The pipeline must be one of {sorted(pipelines)}; got {name!r}.")
    descriptor = pipelines[name]
    if needs is not None and getattr(descriptor, needs) is None:
        having = sorted(n for n, d in pipelines.items() if getattr(d, needs) is not None)
        raise ConfigError(f"Pipeline {name!r} has no {needs} part; pipelines with one: {having}.")
    return descriptor


def scoring_pipelines() -> list[str]:
    """Names of the pipelines that score."""
    return sorted(name for name, d in discover_pipelines().items() if d.scoring is not None)


def trusted_module(module_name: str) -> bool:
    """Whether a model file may name a function of this module: kpredict's or a pipeline's package."""
    if module_name == "kpredict" or module_name.startswith("kpredict."):
        return True
    roots = {d.module.split(".")[0] for d in _entry_point_descriptors()}
    return module_name.split(".")[0] in roots


def resolve(value: Ref[T] | T) -> T:
    """The object behind a descriptor field (imported if it is a :class:`Ref`)."""
    return value.get() if isinstance(value, Ref) else value

