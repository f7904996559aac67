"""
1,000 mixed requests at once over real HTTP to a real uvicorn: reads, votes and fan-outs.

Nothing is lost: no 5xx, no dropped connection, and exactly the votes sent are counted.
"""

import asyncio
import collections
import random

import httpx
import pytest
from django.urls import reverse

from lab.registry import BY_SLUG
from tests import servers

pytestmark = pytest.mark.server

REQUESTS = 1000
# Requests in flight at once, as in test_votes.py: enough to collide, few enough for 2 cores.
AT_ONCE = 100
READS = [
    ("sync_question", {"question": 1}),
    ("async_question", {"question": 1}),
    ("async_question_native", {"question": 1}),
    ("async_questions", {}),
    ("sync_questions_page", {"page": 2}),
    ("async_questions_page", {"page": 2}),
]
FANOUTS = [
    ("async_fanout", {"n": 5, "delay": 50}),
    ("sync_fanout_threaded", {"n": 5, "delay": 50}),
    ("async_upstream", {"delay": 50}),
]


def plan_requests(choices: list[int]) -> list[tuple[str, str, dict]]:
    """A shuffled mix: 40% votes over every vote view (locked ones too), 30% reads, 30% upstream fan-outs."""
    votes = [*BY_SLUG["vote"].view_names, *BY_SLUG["locked_vote"].view_names]
    plan = []
    for i in range(REQUESTS):
        kind = i % 10
        if kind < 4:
            plan.append(("POST", votes[i % len(votes)], {"question": 1, "choice": choices[i % len(choices)]}))
        elif kind < 7:
            plan.append(("GET", *READS[i % len(READS)]))
        else:
            plan.append(("GET", *FANOUTS[i % len(FANOUTS)]))
    random.Random(1000).shuffle(plan)
    return plan


async def send(
    url: str, token: str, plan: list[tuple[str, str, dict]], reasons: list[str]
) -> list[int | str]:
    """Send the plan, AT_ONCE at a time; return each answer's status and add why to `reasons`."""
    in_flight = asyncio.Semaphore(AT_ONCE)
    client = servers.csrf_client(url, token, connections=AT_ONCE)

    async def one(method: str, view: str, data: dict) -> int | str:
        path = reverse(f"views_demo:{view}")
        async with in_flight:
            try:
                if method == "POST":
                    response = await client.post(path, data=data)
                else:
                    response = await client.get(path, params=data)
            except httpx.HTTPError as exc:
                return type(exc).__name__
            if response.status_code != 200:
                reasons.append(f"{method} {view}: {response.status_code} {response.text[:300]}")
            return response.status_code

    async with client:
        return await asyncio.gather(*(one(*request) for request in plan))


def test_mixed_load_loses_nothing(tmp_path, capsys):
    """1,000 concurrent reads, votes and fan-outs: every answer 200, every vote counted."""
    with servers.uvicorn_server(tmp_path, options=("--no-access-log",)) as (url, _):
        token = servers.csrf_token(url)
        before = servers.vote_counts(url)
        plan = plan_requests(sorted(before))
        reasons: list[str] = []
        statuses = asyncio.run(send(url, token, plan, reasons))
        after = servers.vote_counts(url)

    sent_votes = collections.Counter(data["choice"] for method, _, data in plan if method == "POST")
    added = {choice: after[choice] - before[choice] for choice in before}
    failures = collections.Counter(status for status in statuses if status != 200)
    with capsys.disabled():
        print(f"\n{REQUESTS} mixed requests: {dict(collections.Counter(statuses))}, votes added {added}")
    assert failures == {}, reasons
    assert added == dict(sent_votes)
