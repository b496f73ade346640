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
    UNKNOWN_FEATURE = (
        "Component '{name}' cannot learn the gold feature {feature!r}: it has no output "
        "head for it (its features: {features}). The labels given to initialize() (e.g. "
        "from [initialize.components.{name}.labels]) must cover the training data: "
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
        "{upstream_width} wide, but its listener has width = {width}. Set "
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
    BAD_TARGET = (
        "Invalid target {target!r} for component '{name}'. Valid values: {valid}, or a "
        'list of them, e.g. ["pos", "tag", "morph"]. Set it with nlp.add_pipe('
        "'lstm_tagger', config={{'target': 'pos'}}) or in the config."
    )
    DUPLICATE_TARGET = (
        "Component '{name}' has target {targets!r}, which names a target twice. Name "
        'each target once, e.g. ["pos", "tag", "morph"].'
    )
    BAD_MORPH_MODE = (
        "Invalid morph_mode {mode!r} for component '{name}'. Valid values: 'string' "
        "(one softmax over whole FEATS strings) or 'features' (one per feature)."
    )
    NEEDS_V2 = (
        "Component '{name}' predicts {n_heads} with target {target!r}, but its model "
        "has one output head. Set [components.{name}.model] @architectures = "
        '"spacy-lstm-tagger.LSTMTagger.v2".'
    )
    RESTRICT_NEEDS_POS = (
        "Component '{name}' has restrict_morph_by_pos = true, which needs both 'pos' "
        "and 'morph' in its target, but target is {target!r}. Add them to the target, "
        "or set restrict_morph_by_pos = false."
    )
    NOT_UPOS = (
        "Label {label!r} is not a Universal POS tag, so component '{name}' cannot write "
        "it to token.pos_. Use target 'tag' for treebank-specific tags."
    )
    NOT_FEATS = (
        "Label {label!r} of component '{name}' is not a UD FEATS string: write "
        "features as Name=Value joined by '|', e.g. 'Case=Nom|Number=Sing', or '_' "
        "for a token without features."
    )
    NO_LABELS = (
        "Component '{name}' found no labels: no token in the training examples has a "
        "value for {attr} (target = {target!r}). Check that the corpus is annotated for "
        "this target, or set the target that the corpus has."
    )
    LABELS_SHAPE = (
        "Component '{name}' got labels of the wrong shape for target {target!r}: "
        "{expected}. Regenerate them with `python -m spacy init labels`, or leave "
        "[initialize.components.{name}.labels] out so they are collected from the corpus."
    )
    ADD_LABEL_TARGET = (
        "Component '{name}' has several targets ({targets!r}): name the one the label "
        "is for, e.g. add_label({label!r}, target={example!r})."
    )
    NOT_A_TARGET = (
        "Component '{name}' has no target {target!r}: its targets are {targets!r}. "
        "Pass one of them as add_label's target."
    )
    HEADS_MISMATCH = (
        "Cannot load component '{name}': its cfg labels make output heads of sizes "
        "{expected}, but the model loaded from {source} has heads {found}, so cfg and "
        "weights come from different pipelines. Copy the component's directory from "
        "one pipeline, or retrain it."
    )
    VECTORS_EMPTY = (
        "spacy-lstm-tagger: the tagger reads static vectors (include_static_vectors = true, "
        "or a StaticVectors layer), but the pipeline's vectors table is empty. Name a "
        "table in [initialize] vectors, e.g. `--paths.vectors en_core_web_md` or the path "
        "of a pipeline with vectors, or set include_static_vectors = false."
    )
    VECTORS_WIDTH = (
        "spacy-lstm-tagger: the tagger was trained with static vectors {trained} wide, but "
        "the pipeline's vectors table is {found} wide, so it is a different table. Load "
        "the pipeline with the vectors it was saved with (they are in its vocab/ "
        "directory), or retrain the component with [initialize] vectors set to the new "
        "table."
    )
    VECTORS_SETTING = (
        "spacy-lstm-tagger: static vectors {setting} = {value!r} is not valid: width "
        "must be a positive integer or null (no projection), dropout in [0, 1)."
    )
    VECTORS_KEY_ATTR = (
        "spacy-lstm-tagger: static vectors key_attr = {value!r} is not valid. Valid "
        "values: {valid}; use LOWER for a lowercased table such as GloVe."
    )
