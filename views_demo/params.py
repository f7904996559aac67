"""
Parameters the demos take, parsed and validated once for both twins.

A GET view reads them from the query string, a POST view from its form fields. A bad value
raises BadParameter, which @json_errors (errors.py) answers 400 with a JSON message, so the
sync and the async view of a pair reject exactly the same input.
"""

from dataclasses import dataclass

from django.http import HttpRequest, QueryDict

from views_demo.errors import BadParameter


@dataclass(frozen=True)
class IntParam:
    """A whole-number parameter with a default (None: required) and documented bounds."""

    name: str
    default: int | None
    minimum: int
    maximum: int
    help: str

    def parse(self, data: QueryDict) -> int:
        values = data.getlist(self.name)
        if not values:
            if self.default is None:
                raise BadParameter(f"{self.name} is required; {self.describe()}")
            return self.default
        if len(values) > 1:
            raise BadParameter(f"{self.name} was given {len(values)} times; give it once")
        raw = values[0].strip()
        # isascii() rejects digits from other scripts (Arabic-Indic "10"), which int() would accept.
        if not raw:
            raise BadParameter(f"{self.name} is empty; {self.describe()}")
        digits = raw.removeprefix("-")
        if not (raw.isascii() and digits.isdigit()):
            raise BadParameter(f"{self.name}={values[0]!r} is not a whole number; {self.describe()}")
        # int() raises ValueError past 4,300 digits, leading zeros included: count and parse
        # only the significant ones, of which no value in range has more than its bounds.
        significant = digits.lstrip("0") or "0"
        if len(significant) > self.max_digits():
            raise BadParameter(f"{self.name} has too many digits; {self.describe()}")
        value = -int(significant) if raw.startswith("-") else int(significant)
        if not self.minimum <= value <= self.maximum:
            raise BadParameter(f"{self.name}={value} is out of range; {self.describe()}")
        return value

    def max_digits(self) -> int:
        """Return how many significant digits a value in range can have."""
        return max(len(str(abs(self.minimum))), len(str(abs(self.maximum))))

    def describe(self) -> str:
        return f"{self.name} must be a whole number from {self.minimum} to {self.maximum}"


DELAY = IntParam("delay", default=100, minimum=0, maximum=10_000, help="upstream wait per call, in ms")
N = IntParam("n", default=10, minimum=1, maximum=50, help="number of upstream calls")
# Not DELAY: a view that enqueues never waits on the upstream, so an upstream fault fails the
# task, not the view (tests/lesson/test_faults.py expects every view taking DELAY to answer 502/504).
TASK_DELAY = IntParam(
    "delay", default=500, minimum=0, maximum=10_000, help="upstream wait inside the task, in ms"
)
FAIL = IntParam(
    "fail", default=0, minimum=0, maximum=1, help="1 makes the upstream answer 503, so the work fails"
)
# Capped at 2 s: a view that blocks the event loop freezes the whole server that long.
BLOCK = IntParam(
    "delay", default=500, minimum=0, maximum=2_000, help="time the view waits, in ms (at most 2 s)"
)
CHUNKS = IntParam("chunks", default=5, minimum=1, maximum=100, help="chunks the upstream drips")
EVENTS = IntParam("events", default=5, minimum=1, maximum=100, help="server-sent events to push")
INTERVAL = IntParam("interval", default=500, minimum=0, maximum=5_000, help="ms between chunks or events")
# Ids fit a 32-bit integer column on every database.
QUESTION = IntParam("question", default=1, minimum=1, maximum=2**31 - 1, help="id of a question")
CHOICE = IntParam("choice", default=None, minimum=1, maximum=2**31 - 1, help="id of one of its choices")
PAGE = IntParam("page", default=1, minimum=1, maximum=10_000, help="page of the question list")


def parse(request: HttpRequest, *params: IntParam) -> dict[str, int]:
    """Return the named values of `params`, from the form of a POST or else the query string."""
    data = request.POST if request.method == "POST" else request.GET
    return {param.name: param.parse(data) for param in params}
