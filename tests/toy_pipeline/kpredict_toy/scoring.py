"""Toy scoring plugins: one of each shape, with parameters, companion tables and a delivery step."""

from pathlib import Path

import pandas as pd

from kpredict.config.loader import ConfigModel
from kpredict.scoring.plugin import FrameScoring, RowScoring, Scored, ScoringInput
from kpredict_toy.train import FEATURES, read


class RowParams(ConfigModel):
    scale: float = 1.0
    fail_delivery: bool = False


class ToyRowScoring(RowScoring):
    params_model = RowParams

    def scoring_input(self, context):
        frame = read(context.config)
        return ScoringInput(frame[["id", *FEATURES]], {"source": context.config.source})

    def predict_chunk(self, estimator, features):
        return pd.DataFrame({"y_hat": estimator.predict(features[FEATURES]) if len(features) else []})

    def finalize(self, context, result):
        result["y_hat"] = result["y_hat"] * context.params.scale
        return result

    def companions(self, context, result):
        return {"top": result.nlargest(3, "y_hat")[["id", "y_hat"]].reset_index(drop=True)}

    def deliver(self, context, written):
        if context.params.fail_delivery:
            raise ConnectionError("the chat webhook did not answer")
        Path(str(written.output) + ".delivered").write_text(f"{written.manifest.name} {len(written.frame)}\n")


class FrameParams(ConfigModel):
    top: int = 2


class ToyFrameScoring(FrameScoring):
    params_model = FrameParams

    def score_frame(self, context, estimator):
        frame = read(context.config)
        table = pd.DataFrame({"id": frame["id"], "y_hat": estimator.predict(frame[FEATURES])})
        summary = table.nlargest(context.params.top, "y_hat").reset_index(drop=True)
        return Scored(table, {"rows_read": len(frame)}, {"summary": summary})


ROW_PLUGIN = ToyRowScoring()
FRAME_PLUGIN = ToyFrameScoring()
