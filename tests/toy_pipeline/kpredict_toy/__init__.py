"""A throwaway pipeline package for the contract tests: it lives outside kpredict and registers
its descriptors under the ``kpredict.pipelines`` entry-point group, as a user's own pipeline would.

``toy`` scores per row (a ridge regression, saved with skops); ``toy_frame`` scores the whole input.
"""

from dataclasses import replace

from kpredict.pipeline import PipelineDescriptor, Ref
from kpredict_toy.config import ToyConfig

ROW = PipelineDescriptor(
    name="toy",
    summary="a ridge regression scored per row",
    config_model=ToyConfig,
    train=Ref("kpredict_toy.train:train_row"),
    scoring=Ref("kpredict_toy.scoring:ROW_PLUGIN"),
    trials_key="search.trials",
)
FRAME = replace(
    ROW, name="toy_frame", summary="the same regression scored as one table", train=Ref("kpredict_toy.train:train_frame"),
    scoring=Ref("kpredict_toy.scoring:FRAME_PLUGIN"), trials_key=None, config_file="configs/toy.yaml",
)
