"""`spacy-lstm-tagger.warmup_linear.v1`: thinc's warmup_linear value for value, and it
pickles, alone and in an initialized pipeline's optimizer."""

import pickle
from pathlib import Path

import pytest
import spacy
from conftest import load_shipped_config, training_examples
from thinc.api import registry
from thinc.schedules import warmup_linear

CONFIGS = Path(__file__).parent.parent / "configs"


@pytest.mark.parametrize("warmup,total", [(5, 20), (0, 10), (250, 60), (1, 1)])
def test_warmup_linear_matches_thinc(warmup: int, total: int) -> None:
    ours = registry.resolve(
        {
            "s": {
                "@schedules": "spacy-lstm-tagger.warmup_linear.v1",
                "initial_rate": 0.004,
                "warmup_steps": warmup,
                "total_steps": total,
            }
        }
    )["s"]
    theirs = warmup_linear(0.004, warmup, total)
    assert [next(ours) for _ in range(total + 30)] == [next(theirs) for _ in range(total + 30)]


def test_warmup_linear_pickles_where_it_is() -> None:
    schedule = registry.schedules.get("spacy-lstm-tagger.warmup_linear.v1")(0.01, 3, 10)
    first = [next(schedule) for _ in range(4)]
    copy = pickle.loads(pickle.dumps(schedule))
    assert first == pytest.approx([0.0, 0.01 / 3, 0.02 / 3, 0.01])
    assert [next(copy) for _ in range(8)] == [next(schedule) for _ in range(8)]


def test_initialized_pipeline_with_the_schedule_pickles(demo_records, vectors_dir) -> None:
    """ewt_joint.cfg's optimizer, kept on nlp by nlp.initialize(), pickles with it; with
    thinc's own warmup_linear (a generator) it does not: the negative control."""
    config = load_shipped_config(CONFIGS / "ewt_joint.cfg", vectors_dir)
    assert config["training"]["optimizer"]["learn_rate"]["@schedules"].startswith("spacy-lstm")
    nlp = spacy.util.load_model_from_config(config, auto_fill=True)
    nlp.initialize(lambda: training_examples(nlp, demo_records))
    pickle.loads(pickle.dumps(nlp))
    nlp._optimizer.schedules["learn_rate"] = warmup_linear(0.004, 250, 8000)
    with pytest.raises(TypeError, match="generator"):
        pickle.dumps(nlp)
