"""`spacy-lstm-tagger.warmup_linear.v1`: thinc's `warmup_linear.v1` as an object that
pickles. thinc 8.3's schedules are generators; spaCy's `nlp.initialize()` keeps the
optimizer, and with it the schedule, on `nlp`, so `pickle.dumps(nlp)` (what
`nlp.pipe(n_process=...)` does under spawn and forkserver) would fail after it."""

from spacy.util import registry


class WarmupLinear:
    """The learning rate from 0 up to `initial_rate` over `warmup_steps` steps, then
    linearly down to 0 at `total_steps`: thinc's `warmup_linear`, value for value."""

    def __init__(self, initial_rate: float, warmup_steps: int, total_steps: int) -> None:
        """initial_rate (float): The peak rate, reached at the end of the warm-up.
        warmup_steps (int): Steps from 0 to the peak.
        total_steps (int): The step at which the rate reaches 0 (keep it equal to
            `[training] max_steps`).
        """
        self.initial_rate = initial_rate
        self.warmup_steps = warmup_steps
        self.total_steps = total_steps
        self.step = 0

    def __iter__(self) -> "WarmupLinear":
        return self

    def __next__(self) -> float:
        step, self.step = self.step, self.step + 1
        if step < self.warmup_steps:
            factor = step / max(1, self.warmup_steps)
        else:
            rest = max(1.0, self.total_steps - self.warmup_steps)
            factor = max(0.0, (self.total_steps - step) / rest)
        return factor * self.initial_rate


@registry.schedules("spacy-lstm-tagger.warmup_linear.v1")
def create_warmup_linear(initial_rate: float, warmup_steps: int, total_steps: int) -> WarmupLinear:
    """Create the schedule (see WarmupLinear).

    RETURNS (WarmupLinear): An iterator of learning rates, one per step.
    """
    return WarmupLinear(initial_rate, warmup_steps, total_steps)
