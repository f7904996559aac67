"""The garbage collector's tuning for server processes (asyncdemo/gctuning.py)."""

import gc

import pytest

from asyncdemo import gctuning


@pytest.fixture
def restore_collector():
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


def test_tuned_freezes_startup_objects_and_raises_the_thresholds(settings, restore_collector):
    settings.ASYNCDEMO_GC = "tuned"
    gc.set_threshold(700, 10, 10)
    gc.unfreeze()

    gctuning.tune()

    assert gc.get_threshold() == gctuning.THRESHOLDS
    assert gc.get_freeze_count() > 0


def test_python_keeps_the_interpreters_defaults(settings, restore_collector):
    settings.ASYNCDEMO_GC = "python"
    gc.set_threshold(700, 10, 10)
    gc.unfreeze()

    gctuning.tune()

    assert gc.get_threshold() == (700, 10, 10)
    assert gc.get_freeze_count() == 0


def test_tuning_twice_freezes_only_once(settings, restore_collector):
    """A second call (a second lifespan in one process) leaves the frozen set alone."""
    settings.ASYNCDEMO_GC = "tuned"
    gc.unfreeze()
    gc.set_threshold(700, 10, 10)
    gctuning.tune()
    frozen = gc.get_freeze_count()
    made_since = [[] for _ in range(100)]  # objects the collector tracks

    gctuning.tune()

    assert gc.get_freeze_count() == frozen
    del made_since
