"""The scorer of the `lstm_tagger` component: token accuracy of its target."""

from typing import Callable, Dict, Iterable

from spacy.scorer import Scorer
from spacy.training import Example
from spacy.util import registry


def score_tags(examples: Iterable[Example], *, target: str = "tag", **kwargs) -> Dict:
    """Token accuracy of the component's target attribute.

    examples (Iterable[Example]): The examples to score.
    target (str): "tag" or "pos".
    RETURNS (Dict): `tag_acc` or `pos_acc`.
    """
    return Scorer.score_token_attr(examples, target, **kwargs)


@registry.scorers("spacy-lstm-tagger.tagger_scorer.v1")
def make_tagger_scorer() -> Callable:
    """RETURNS (Callable): The scorer, which scores the component's own target."""
    return score_tags
