"""Texts of the errors raised for bad data, configs and model files.

Each names the problem and the fix, so that a user never has to read a traceback
from inside torch or thinc to find out what went wrong.
"""

# How this package's own errors from the model begin: they already name the problem.
OWN_PREFIX = "spacy-lstm-tagger: "


def is_int_at_least(value: object, minimum: int) -> bool:
    """Whether a config value is an integer (not a bool) of at least `minimum`.

    value (object): The value from the config.
    minimum (int): The smallest value allowed.
    RETURNS (bool): Whether the value is allowed.
    """
    return isinstance(value, int) and not isinstance(value, bool) and value >= minimum


class TaggerErrors:
    EMPTY_CORPUS = (
        "Component '{name}' got no training examples: the training corpus is empty. "
        "Check [paths.train] (or the examples passed to nlp.initialize) and that the "
        "corpus file holds documents, e.g. with `python -m spacy debug data`."
    )
    UNKNOWN_GOLD_LABEL = (
        "Component '{name}' cannot learn the gold label {label!r}: it is not one of its "
        "{n_labels} labels. The labels given to initialize() (e.g. from "
        "[initialize.components.{name}.labels]) must cover the training data: "
        "regenerate them with `python -m spacy init labels`, or leave them out so "
        "they are collected from the corpus."
    )
    NON_FINITE_SCORES = (
        "Component '{name}' produced NaN or infinite scores: training has diverged "
        "or the weights are broken. Lower [training.optimizer] learn_rate, set "
        "grad_clip (e.g. 1.0), and check the input (e.g. static vectors) for NaN values."
    )
    NO_MISMATCH = (
        "Component '{name}' has {n_labels} labels, but its model is set to {nO} "
        "outputs. Set nO = null in [components.{name}.model] so that it is taken "
        "from the labels."
    )
    LISTENER_WIDTH = (
        "Component '{name}' listens to '{upstream}', whose token vectors are "
        "{upstream_width} wide, but its Tok2VecListener has width = {width}. Set "
        "[components.{name}.model.tok2vec] width = {upstream_width}."
    )
    INPUT_WIDTH = (
        "spacy-lstm-tagger: the token vectors are {width} wide, but the recurrent layer "
        "was built for {nI}. The tok2vec (or the upstream tok2vec a listener reads) "
        "must have the width the weights were trained with; retrain the component "
        "after changing the tok2vec width."
    )
    MISSING_WEIGHTS = (
        "Cannot load component '{name}': its weights file {path} is missing. Copy the "
        "whole pipeline directory again, or retrain the pipeline."
    )
    UNREADABLE_WEIGHTS = "Cannot load the weights of component '{name}' from {source}: {reason}"
    BROKEN_WEIGHTS = (
        "it is truncated or corrupted, or was saved with a different model config "
        "({err}). Copy the pipeline again, or retrain it."
    )
    LABEL_COUNT = (
        "Cannot load component '{name}': its cfg lists {n_labels} labels, but the "
        "weights loaded from {source} have {n_outputs} outputs, so cfg and weights "
        "come from different pipelines. Copy the component's directory from one "
        "pipeline, or retrain it."
    )
    NON_FINITE_WEIGHTS = (
        "Cannot load component '{name}': the weights loaded from {source} contain NaN "
        "or infinite values, so the training that saved them diverged. Retrain with "
        "a lower learning rate and grad_clip set."
    )
