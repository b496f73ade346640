"""The package's errors and warnings, each with a code, on spaCy's pattern.

Each message names the problem and the fix, so that a user never has to read a
traceback from inside torch or thinc to find out what went wrong. A message renders
as "(spacy-lstm-tagger) [E001] text": the code can be searched for, and the prefix
tells it apart from spaCy's own "[E001] text".
"""

import warnings
from pathlib import Path

# How every message of this package begins.
PREFIX = "(spacy-lstm-tagger) "


class ErrorsWithCodes(type):
    """Metaclass that renders a class attribute named by a code as "PREFIX[code] text"."""

    def __getattribute__(self, code: str) -> str:
        message = super().__getattribute__(code)
        if code.startswith("__"):  # dunders and the class machinery, not messages
            return message
        return f"{PREFIX}[{code}] {message}"


def strip_prefix(message: str) -> str:
    """A message without the package prefix, for nesting it in another message.

    message (str): A rendered message.
    RETURNS (str): The message from its code on, e.g. "[E157] text".
    """
    return message[len(PREFIX) :] if message.startswith(PREFIX) else message


class LSTMTaggerError(ValueError):
    """An error of this package: bad data, config, model files or command-line input.

    A ValueError, so that code that caught the plain ValueErrors raised before still works.
    """


class EmptyCorpusError(LSTMTaggerError, TypeError):
    """initialize() got no examples; a TypeError as well, like spaCy's E930."""


class WeightsError(LSTMTaggerError):
    """A component's weights could not be loaded, or do not fit its cfg or vectors."""


class EvaluationInputError(LSTMTaggerError):
    """Bad input to a command (`crossval`, `report`, `tag`); shown without a traceback."""


class TagInputError(EvaluationInputError):
    """Bad input to `tag`: its options, input files or pipeline."""


class BadLineError(TagInputError):
    """A line (or CoNLL-U sentence) of a `tag` input that cannot be read.

    path (Path): The input file.
    line (int): The line, 1-based.
    reason (str): What is wrong with it: a rendered `Errors` message (E311-E319).
    """

    def __init__(self, path: Path, line: int, reason: str) -> None:
        super().__init__(Errors.E310.format(path=path, line=line, reason=strip_prefix(reason)))
        self.path, self.line, self.reason = path, line, reason


class UnknownLabelError(KeyError):
    """Internal: a gold label that a head does not have; args are (label, n_labels).

    The component catches it and raises E002 with its own name.
    """


class UnknownFeatureError(KeyError):
    """Internal: a gold morph feature without a head; args are (feature, value).

    The component catches it and raises E003 with its own name.
    """


class LSTMTaggerWarning(UserWarning):
    """A warning of this package."""


def warn(message: str, stacklevel: int = 3) -> None:
    """Warn with the package's warning class.

    message (str): A `Warnings` message.
    stacklevel (int): As for `warnings.warn`; the default points at the caller's caller.
    """
    warnings.warn(message, LSTMTaggerWarning, stacklevel=stacklevel)


def is_int_at_least(value: object, minimum: int) -> bool:
    """Whether a config value is an integer (not a bool) of at least `minimum`.

    value (object): The value from the config.
    minimum (int): The smallest value allowed.
    RETURNS (bool): Whether the value is allowed.
    """
    return isinstance(value, int) and not isinstance(value, bool) and value >= minimum


# Codes by area: W100-W149 layers and model, W300-W349 the `tag` command.
# fmt: off
class Warnings(metaclass=ErrorsWithCodes):
    # Layers and model
    W100 = ("this CPU has no native bfloat16 (AVX512-BF16 or AMX), where bfloat16 "
            "inference is slower than float32; keeping float32. Remove the "
            "inference_precision callback, or run on a CPU or GPU with bfloat16.")

    # The tag command
    W300 = "No input files found in {inputs}."
    W301 = "{n_rejected} bad record(s) in {source}: see {rejects}"


# Codes by area: E001-E099 pipeline component, E100-E149 layers and model,
# E150-E199 serialization, E200-E299 command line, E300-E349 the `tag` command.
# E109 is not used: the component also raises spaCy's own E109.
class Errors(metaclass=ErrorsWithCodes):
    # Pipeline component
    E001 = ("Component '{name}' got no training examples: the training corpus is empty. "
            "Check [paths.train] (or the examples passed to nlp.initialize) and that the "
            "corpus file holds documents, e.g. with `python -m spacy debug data`.")
    E002 = ("Component '{name}' cannot learn the gold label {label!r}: it is not one of its "
            "{n_labels} labels. The labels given to initialize() (e.g. from "
            "[initialize.components.{name}.labels]) must cover the training data: "
            "regenerate them with `python -m spacy init labels`, or leave them out so "
            "they are collected from the corpus.")
    E003 = ("Component '{name}' cannot learn the gold feature {feature!r}: it has no output "
            "head for it (its features: {features}). The labels given to initialize() (e.g. "
            "from [initialize.components.{name}.labels]) must cover the training data: "
            "regenerate them with `python -m spacy init labels`, or leave them out so "
            "they are collected from the corpus.")
    E004 = ("Component '{name}' produced NaN or infinite scores: training has diverged "
            "or the weights are broken. Lower [training.optimizer] learn_rate, set "
            "grad_clip (e.g. 1.0), and check the input (e.g. static vectors) for NaN values.")
    E005 = ("Component '{name}' has {n_labels} labels, but its model is set to {nO} "
            "outputs. Set nO = null in [components.{name}.model] so that it is taken "
            "from the labels.")
    E006 = ("Component '{name}' listens to '{upstream}', whose token vectors are "
            "{upstream_width} wide, but its listener has width = {width}. Set "
            "[components.{name}.model.tok2vec] width = {upstream_width}.")
    E007 = ("Invalid target {target!r} for component '{name}'. Valid values: {valid}, or a "
            'list of them, e.g. ["pos", "tag", "morph"]. Set it with nlp.add_pipe('
            "'lstm_tagger', config={{'target': 'pos'}}) or in the config.")
    E008 = ("Component '{name}' has target {targets!r}, which names a target twice. Name "
            'each target once, e.g. ["pos", "tag", "morph"].')
    E009 = ("Invalid morph_mode {mode!r} for component '{name}'. Valid values: 'string' "
            "(one softmax over whole FEATS strings) or 'features' (one per feature).")
    E010 = ("Component '{name}' predicts {n_heads} with target {target!r}, but its model "
            "has one output head. Set [components.{name}.model] @architectures = "
            '"spacy-lstm-tagger.LSTMTagger.v2".')
    E011 = ("Component '{name}' has restrict_morph_by_pos = true, which needs both 'pos' "
            "and 'morph' in its target, but target is {target!r}. Add them to the target, "
            "or set restrict_morph_by_pos = false.")
    E012 = ("Label {label!r} is not a Universal POS tag, so component '{name}' cannot write "
            "it to token.pos_. Use target 'tag' for treebank-specific tags.")
    E013 = ("Label {label!r} of component '{name}' is not a UD FEATS string: write "
            "features as Name=Value joined by '|', e.g. 'Case=Nom|Number=Sing', or '_' "
            "for a token without features.")
    E014 = ("Component '{name}' found no labels: no token in the training examples has a "
            "value for {attr} (target = {target!r}). Check that the corpus is annotated for "
            "this target, or set the target that the corpus has.")
    E015 = ("Component '{name}' got labels of the wrong shape for target {target!r}: "
            "{expected}. Regenerate them with `python -m spacy init labels`, or leave "
            "[initialize.components.{name}.labels] out so they are collected from the corpus.")
    E016 = ("Component '{name}' has several targets ({targets!r}): name the one the label "
            "is for, e.g. add_label({label!r}, target={example!r}).")
    E017 = ("Component '{name}' has no target {target!r}: its targets are {targets!r}. "
            "Pass one of them as add_label's target.")
    E018 = ("label_smoothing must be in [0, 1) for component '{name}', got {value!r}. "
            "Use 0.0 to turn it off.")

    # Layers and model
    E100 = ("the token vectors are {width} wide, but the recurrent layer was built for "
            "{nI}. The tok2vec (or the upstream tok2vec a listener reads) must have the "
            "width the weights were trained with; retrain the component after changing "
            "the tok2vec width.")
    E101 = ("{name} must be a positive integer, got {value!r}. Set "
            "[components.<name>.model] {name} to 1 or more.")
    E102 = "{name} must be in [0, 1), got {value!r}. Use 0.0 to turn it off."
    E103 = ("cannot build the recurrent layer without the input width and the number of "
            "labels. Initialize the component with examples (nlp.initialize) or with "
            "labels (initialize.components.<name>.labels).")
    E104 = "CharEmbed kind must be one of {kinds}, got {kind!r}."
    E105 = "CharEmbed {name} must be an integer of at least {minimum}, got {value!r}."
    E106 = ("CharEmbed width must be even for kind 'lstm' (half per direction), "
            "got {width}.")
    E107 = "equal_length_groups needs the sequences longest first."
    E111 = ("The RecurrentTagger has no layers yet: call build(n_inputs, n_labels) "
            "(the spaCy component does this in initialize()).")
    E112 = "unknown inference precision {precision!r}. Choose one of: {valid}."
    E113 = ("Unknown rnn_type {name!r} for spacy-lstm-tagger. Choose one of: {available}, "
            "or register your own encoder with "
            "@spacy_lstm_tagger.encoders.encoders.register('name').")
    E114 = ("this model has a single output head. Use "
            '@architectures = "spacy-lstm-tagger.LSTMTagger.v2" for several.')
    E115 = "head widths must be positive, got {widths!r}."
    E116 = ("the model has {n_outputs} outputs, but its heads {heads} add up to {total}. "
            "Retrain the component.")
    E117 = ("ConcatHashEmbed needs one rows value per attribute, got {n_attrs} attrs "
            "{attrs} and {n_rows} rows {rows}.")
    E118 = "ConcatHashEmbed {name} must be a positive integer, got {value!r}."
    E119 = ("static vectors {setting} = {value!r} is not valid: width must be a positive "
            "integer or null (no projection), dropout in [0, 1).")
    E120 = ("static vectors key_attr = {value!r} is not valid. Valid values: {valid}; use "
            "LOWER for a lowercased table such as GloVe.")
    E121 = ("the tagger reads static vectors (include_static_vectors = true, or a "
            "StaticVectors layer), but the pipeline's vectors table is empty. Name a table "
            "in [initialize] vectors, e.g. `--paths.vectors en_core_web_md` or the path of "
            "a pipeline with vectors, or set include_static_vectors = false.")

    # Serialization
    E150 = ("Cannot load component '{name}': its weights file {path} is missing. Copy the "
            "whole pipeline directory again, or retrain the pipeline.")
    # E151 nests the error (with its code) that the model's own loading raised.
    E151 = "Cannot load the weights of component '{name}' from {source}: {reason}"
    E152 = ("Cannot load the weights of component '{name}' from {source}: it is truncated "
            "or corrupted, or was saved with a different model config ({err}). Copy the "
            "pipeline again, or retrain it.")
    E153 = ("Cannot load component '{name}': its cfg lists {n_labels} labels, but the "
            "weights loaded from {source} have {n_outputs} outputs, so cfg and weights "
            "come from different pipelines. Copy the component's directory from one "
            "pipeline, or retrain it.")
    E154 = ("Cannot load component '{name}': the weights loaded from {source} contain NaN "
            "or infinite values, so the training that saved them diverged. Retrain with "
            "a lower learning rate and grad_clip set.")
    E155 = ("Cannot load component '{name}': its cfg labels make output heads of sizes "
            "{expected}, but the model loaded from {source} has heads {found}, so cfg and "
            "weights come from different pipelines. Copy the component's directory from "
            "one pipeline, or retrain it.")
    E156 = ("the tagger was trained with static vectors {trained} wide, but the pipeline's "
            "vectors table is {found} wide, so it is a different table. Load the pipeline "
            "with the vectors it was saved with (they are in its vocab/ directory), or "
            "retrain the component with [initialize] vectors set to the new table.")
    E157 = ("the stored torch weights could not be read; the model file is truncated, "
            "corrupted or not from this component ({err}). Save the pipeline again, or "
            "retrain it.")
    E158 = ("the stored weights do not fit the model config ({details}). Load them with "
            "the config they were trained with.")
    E159 = ("the stored weights have serialization format {found}, but this version of "
            "spacy-lstm-tagger reads format {expected}: the pipeline was saved by an "
            "incompatible version of spacy-lstm-tagger. Retrain the pipeline with this "
            "version, or install the version of spacy-lstm-tagger that saved it.")
    E160 = "CharEmbed init_scale must be a number above 0, got {value!r}."
    E161 = ("the corpus path of spacy-lstm-tagger.Corpus.v1 is None: set it in the config "
            "([paths] train and dev) or on the command line, e.g. `--paths.train "
            "corpus/train.spacy --paths.dev corpus/dev.spacy`.")

    # Command line (crossval, report)
    E200 = "Corpus file not found: {path}"
    E201 = ("Cannot read {path}: the corpus must be a spaCy DocBin (.spacy) or a CoNLL-U "
            "file (.conllu). Convert other formats with `python -m spacy convert`.")
    E202 = "The corpus {path} holds no documents."
    E203 = ("Cannot read {path} as CoNLL-U ({err}). Each token line needs 10 tab-separated "
            "columns and sentences are separated by a blank line.")
    E204 = "Invalid --attr {attr!r}. Valid values: {valid}."
    E205 = ("Cannot tell which attributes to score: the pipeline has no lstm_tagger "
            "component. Choose them with --attr ({valid}; repeat it for several).")
    E206 = ("No token of the corpus has a gold {attr!r} value, so there is nothing to "
            "score. Check the corpus annotation, or choose the attributes with --attr.")
    E207 = "Cannot load the pipeline {model}: {err}"
    E208 = "--folds must be at least 2, got {n_folds}."
    E209 = "--dev-fraction must be in (0, 1), got {dev_fraction}."
    E210 = ("The corpus has {n_docs} documents: too few for {n_folds} folds with a test, "
            "dev and training part each. Use fewer --folds or a larger corpus.")
    E211 = ("The folds in {output_dir} scored different attributes (an earlier run used "
            "another --attr). Pass --restart to score all folds the same way.")
    E212 = ("{fold_dir} was scored on {found}, not on the --attr {attrs} of this run. "
            "Pass --restart to score all folds the same way.")
    E213 = ("No held-out token of {name} has a gold {attr!r} value to score. Check that "
            "the corpus is annotated for the attribute, or choose others with --attr.")
    E214 = ("{fold_dir} holds a fold made with another split (a different corpus, "
            "--folds, --seed or --dev-fraction). Pass --restart to train it again, or "
            "choose another --output directory.")
    E215 = ("The report's pictures need matplotlib, which is not installed. Install it "
            "with: pip install 'spacy-lstm-tagger[report]'")
    E216 = "Interrupted. Finished files are kept: rerun with --resume."

    # The tag command: options, inputs and outputs
    E300 = "Invalid --format {output_format!r}. Valid: {valid}."
    E301 = "Invalid --engine {engine!r}. Valid: 'local', 'ray'."
    E302 = "Invalid --n-process {value!r}: give 0 or 'auto', or a count."
    E303 = "--n-process must be 0 (auto) or more, --threads-per-process 1 or more."
    E304 = "--workers and --cpus-per-worker must be at least 1."
    E305 = ("Cannot find the pipeline {model!r}: give a pipeline directory (e.g. "
            "training/model-best) or the name of an installed pipeline package.")
    E306 = "No input file matches {pattern!r}."
    E307 = ("{first} and {second} would both be written to {target}. Rename one of them "
            "or tag them in separate runs.")
    E308 = ("{n_done} output file(s) exist already, e.g. {target}. Rerun with --resume to "
            "skip them, or --overwrite to tag them again.")

    # The tag command: bad input. E310 is the error of a bad line; it nests the reason
    # (E311-E319, with its code), which is also the "error" of a line in NAME.rejects.jsonl.
    E310 = ("{path}, line {line}: {reason}. Nothing was written for this file. Fix the "
            "input, or rerun with --skip-bad to write bad lines to a rejects file and go "
            "on; add --resume to keep the files that are finished.")
    E311 = "not valid UTF-8 (byte {byte!r} at byte {position} of the line)"
    E312 = "not valid JSON ({err})"
    E313 = "no string field {text_key!r} (see --text-key)"
    E314 = "the text holds a lone surrogate escape (not Unicode)"
    E315 = "a token line needs 10 tab-separated columns, found {n_columns}"
    E316 = "bad token ID {token_id!r} or empty FORM"
    E317 = "word ID {token_id} out of sequence"
    E318 = "a sentence without word lines"
    E319 = "not a readable spaCy DocBin ({err_type}: {err})"

    # The tag command: devices and engines
    E320 = "Cannot use GPU {gpu_id}: {err}"
    E321 = "A tag worker could not start: {err_type}: {err}"
    E322 = ("The Ray engine needs Ray Data: pip install 'spacy-lstm-tagger[ray]' "
            "(or pip install 'ray[data]').")
# fmt: on
