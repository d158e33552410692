"""How often a conditional decoder reads the ground truth in training.

A conditional decoder's input at each step is the previous frame. Teacher
forcing feeds it the ground-truth previous frame; free-running feeds it the
decoder's own previous output, as at inference. Scheduled sampling (Bengio
et al. 2015) draws, per sequence and per step, the ground truth with a
probability that decays over training, so that the decoder learns on the
task it is evaluated on without starting from its own early garbage.

``TeacherForcing`` holds that probability as a function of the training
step. Its schedules (``SCHEDULES``, ``step`` counted from 0):

- ``"constant"``: ``probability`` (1: teacher forcing, 0: free-running);
- ``"linear"``: from ``initial`` down to ``final`` over ``decay_steps``
  steps, then ``final``;
- ``"exponential"``: ``rate ** (step / decay_steps)``, never below ``final``;
- ``"inverse_sigmoid"``: ``k / (k + exp(step / k))`` (Bengio et al.'s), ``k
  >= 1``: about 1 for the first ``k`` steps, one half near step
  ``k * ln(k)``.

A model's ``teacher_forcing`` argument takes ``True`` (always), ``False``
(never), a probability, a ``TeacherForcing`` or its config dict, e.g.
``{"schedule": "linear", "decay_steps": 3000}`` (``--set
teacher_forcing={"schedule":"linear","decay_steps":3000}`` on the command
line).

References:
    - Bengio, Vinyals, Jaitly, Shazeer. Scheduled sampling for sequence
      prediction with recurrent neural networks. NeurIPS 2015.
"""

import math
import numbers

from keras import ops

from keras_vidrep._validation import InputError
from keras_vidrep._validation import check_one_of


def _constant(step, probability):
    return ops.full_like(step, probability)


def _linear(step, decay_steps, initial=1.0, final=0.0):
    fraction = ops.minimum(step / decay_steps, 1.0)
    return initial + (final - initial) * fraction


def _exponential(step, decay_steps, rate, final=0.0):
    return ops.maximum(ops.power(rate, step / decay_steps), final)


def _inverse_sigmoid(step, k):
    # k / (k + exp(step / k)), written so that it cannot overflow.
    return ops.sigmoid(math.log(k) - step / k)


class _Schedule:
    def __init__(self, function, required, optional, ranges):
        self.function = function
        self.required = required
        self.optional = optional
        self.ranges = ranges  # name -> (test, wording)


_PROBABILITY = (lambda v: 0.0 <= v <= 1.0, "a probability in [0, 1]")
_POSITIVE = (lambda v: v > 0, "positive")

SCHEDULES = {
    "constant": _Schedule(_constant, ("probability",), (),
                          {"probability": _PROBABILITY}),
    "linear": _Schedule(_linear, ("decay_steps",), ("initial", "final"),
                        {"decay_steps": _POSITIVE, "initial": _PROBABILITY,
                         "final": _PROBABILITY}),
    "exponential": _Schedule(_exponential, ("decay_steps", "rate"), ("final",),
                             {"decay_steps": _POSITIVE,
                              "rate": (lambda v: 0.0 < v < 1.0, "in (0, 1)"),
                              "final": _PROBABILITY}),
    "inverse_sigmoid": _Schedule(_inverse_sigmoid, ("k",), (),
                                 {"k": (lambda v: v >= 1.0, ">= 1")}),
}


class TeacherForcing:
    """The probability of reading the ground-truth previous frame at each
    training step (see the module docstring).

    Args:
        schedule: one of ``SCHEDULES``.
        **parameters: the schedule's parameters.

    Example:

    >>> schedule = TeacherForcing("linear", decay_steps=1000)
    >>> float(schedule.probability(250))
    0.75
    >>> TeacherForcing.from_value(True).constant_value
    1.0
    """

    def __init__(self, schedule="constant", **parameters):
        check_one_of("schedule", schedule, SCHEDULES)
        spec = SCHEDULES[schedule]
        missing = [n for n in spec.required if n not in parameters]
        unknown = sorted(set(parameters) - set(spec.required)
                         - set(spec.optional))
        if missing or unknown:
            raise InputError(
                f"The {schedule!r} teacher-forcing schedule takes "
                f"{list(spec.required)} and optionally {list(spec.optional)}. "
                f"Received: {parameters}")
        for name, value in parameters.items():
            test, wording = spec.ranges[name]
            if (isinstance(value, bool) or not isinstance(value, numbers.Real)
                    or not test(value)):
                raise InputError(f"`{name}` of the {schedule!r} schedule must "
                                 f"be {wording}. Received: {name}={value!r}")
        self.schedule = schedule
        self.parameters = {k: float(v) for k, v in parameters.items()}

    @classmethod
    def from_value(cls, value):
        """A ``TeacherForcing`` from a model's ``teacher_forcing`` argument:
        a boolean, a probability, a config dict or a ``TeacherForcing``."""
        if isinstance(value, TeacherForcing):
            return value
        if isinstance(value, bool):
            return cls("constant", probability=float(value))
        if isinstance(value, numbers.Real):
            return cls("constant", probability=value)
        if isinstance(value, dict):
            config = dict(value)
            return cls(config.pop("schedule", "constant"), **config)
        raise InputError(
            "`teacher_forcing` must be a boolean, a probability, a "
            "TeacherForcing or its config dict such as {'schedule': 'linear', "
            f"'decay_steps': 3000}}. Received: teacher_forcing={value!r}")

    @property
    def constant_value(self):
        """The probability when it does not change over training, else None."""
        if self.schedule != "constant":
            return None
        return self.parameters["probability"]

    def probability(self, step):
        """The probability at training step ``step`` (a scalar tensor)."""
        step = ops.cast(ops.convert_to_tensor(step), "float32")
        return SCHEDULES[self.schedule].function(step, **self.parameters)

    def get_config(self):
        return {"schedule": self.schedule, **self.parameters}

    def to_value(self):
        """What a model's config stores: ``True`` / ``False`` for always /
        never (as models saved before schedules existed), else the config."""
        if self.constant_value in (0.0, 1.0):
            return bool(self.constant_value)
        return self.get_config()

    def __eq__(self, other):
        return (isinstance(other, TeacherForcing)
                and self.get_config() == other.get_config())

    def __repr__(self):
        arguments = ", ".join(f"{k}={v!r}" for k, v in self.parameters.items())
        return f"TeacherForcing({self.schedule!r}, {arguments})"
