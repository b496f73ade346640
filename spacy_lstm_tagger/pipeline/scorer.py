"""The scorer of the `lstm_tagger` component: token accuracy of each of its targets."""

from typing import Any, Callable, Dict, Iterable, List, Union

from spacy.scorer import Scorer
from spacy.tokens import Token
from spacy.training import Example
from spacy.util import registry


def score_tags(
    examples: Iterable[Example], *, target: Union[str, List[str]] = "tag", **kwargs
) -> Dict[str, Any]:
    """Token accuracy of each of the component's targets, as spaCy's tagger and
    morphologizer score them.

    examples (Iterable[Example]): The examples to score.
    target (Union[str, List[str]]): "tag", "pos", "morph" or a list of them.
    RETURNS (Dict[str, Any]): `tag_acc`, `pos_acc`; for "morph", `morph_acc`,
        `morph_per_feat` and `morph_micro_p/r/f`.
    """
    examples = list(examples)
    results: Dict[str, Any] = {}
    for attr in [target] if isinstance(target, str) else target:
        if attr == "morph":
            results.update(score_morph(examples, **kwargs))
        else:
            results.update(Scorer.score_token_attr(examples, attr, **kwargs))
    return results


def _morph_key(token: Token, attr: str) -> int:
    # The key is 0 for a morph never set (missing, not scored) and not 0 for the
    # empty analysis "_" (scored), as in spaCy's morphologizer.
    return getattr(token, attr).key


def score_morph(examples: List[Example], **kwargs) -> Dict[str, Any]:
    """Whole-analysis accuracy and per-feature scores of `token.morph`.

    examples (List[Example]): The examples to score.
    RETURNS (Dict[str, Any]): `morph_acc`, `morph_per_feat` and `morph_micro_p/r/f`.
    """
    results = Scorer.score_token_attr(examples, "morph", getter=_morph_key, **kwargs)
    results.update(Scorer.score_token_attr_per_feat(examples, "morph", getter=_morph_key, **kwargs))
    return results


@registry.scorers("spacy-lstm-tagger.tagger_scorer.v1")
def make_tagger_scorer() -> Callable:
    """RETURNS (Callable): The scorer, which scores the component's own targets."""
    return score_tags
