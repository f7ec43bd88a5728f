"""The training pipelines, installed as ``kpredict.pipelines``: one folder each.

Each ``<name>/__init__.py`` declares ``PIPELINE``, a :class:`kpredict.pipeline.PipelineDescriptor`
(config model, training recipe, scoring plugin, demo step, report section); the CLI, the config
check, the demo and the report find pipelines through :func:`kpredict.pipeline.discover_pipelines`.
Each pipeline reads like a recipe over ``kpredict``: load features, split, tune, fit, evaluate,
explain, publish.
"""
