"""Settings of the toy pipelines (``configs/toy.yaml``)."""

from pydantic import Field

from kpredict.config.loader import ConfigModel
from kpredict.config.store import StoreSettings


class SearchConfig(ConfigModel):
    trials: int = Field(1, ge=1)


class ToyConfig(StoreSettings):
    source: str = "toy.csv"
    alpha: float = Field(1.0, gt=0)
    search: SearchConfig = Field(default_factory=SearchConfig)
    gate_metric: str = "r2"
