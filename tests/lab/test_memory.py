"""
The lab keeps no memory that grows with use: every page is built afresh from the registry.

What the lab does keep per process is bounded by construction: the loop's recent lag and the
unhandled errors in deques with a maxlen, the loops it numbers or watches in weak collections
(gone with their loop), the thread peak in a few integers, and nothing of a load run once it
has answered. These tests hold every later cache to the same rule.
"""

import collections
import gc
import importlib
import pkgutil
import weakref

from django.urls import reverse

import lab
from lab import looplag, unhandled
from lab.registry import DEMOS

WEAK = (weakref.WeakKeyDictionary, weakref.WeakValueDictionary, weakref.WeakSet)
CONTAINERS = (dict, list, set, collections.deque, *WEAK)


def lab_modules():
    names = [info.name for info in pkgutil.walk_packages(lab.__path__, "lab.")]
    return [importlib.import_module(name) for name in names]


def lab_state() -> dict[str, object]:
    """Every container and cached function a lab module holds at its top level."""
    return {
        f"{module.__name__}.{name}": value
        for module in lab_modules()
        for name, value in vars(module).items()
        if not name.startswith("__") and (isinstance(value, CONTAINERS) or hasattr(value, "cache_info"))
    }


def sizes() -> dict[str, int]:
    """The length of each container; a functools cache may fill up to its maxsize, checked apart."""
    gc.collect()
    return {name: len(value) for name, value in lab_state().items() if not hasattr(value, "cache_info")}


def test_every_cache_and_queue_the_lab_keeps_has_a_bound():
    """A deque has a maxlen and a functools cache a maxsize: none can grow without end."""
    for name, value in lab_state().items():
        if isinstance(value, collections.deque):
            assert value.maxlen is not None, name
        if hasattr(value, "cache_info"):
            assert value.cache_info().maxsize is not None, name


def test_using_the_pages_leaves_the_labs_memory_as_it_was(client):
    """A hundred pages with changing values leave every container of the lab the size it was.

    Weak collections may hold the loops still alive; they are never more than a few.
    """
    urls = [reverse("lab:index"), reverse("lab:concepts"), reverse("lab:naive_choices")]
    client.get(reverse("lab:pair", args=["fanout"]))  # the first page fills what it fills once
    before = sizes()
    for number in range(100):
        demo = DEMOS[number % len(DEMOS)]
        values = {param.name: param.minimum + number % 7 for param in demo.params}
        query = {**values, "concurrency": 1 + number % 20}
        assert client.get(reverse("lab:pair", args=[demo.slug]), query).status_code == 200
        client.get(urls[number % len(urls)])
        client.get(reverse("lab:tasks"))
        client.get(reverse("lab:loop_lag"))
    after = sizes()
    for name, size in after.items():
        if isinstance(lab_state()[name], WEAK):
            assert size <= 4, name
        else:
            assert size == before.get(name, size), name


def test_the_kept_errors_and_lag_samples_are_bounded():
    """The unhandled errors and a loop's lag samples are deques with a maxlen."""
    assert unhandled.unhandled.maxlen == unhandled.UNHANDLED_KEPT
    assert looplag.LoopLagMonitor().samples.maxlen == looplag.SAMPLES
