"""
The ORM units of work: each a named sync function, with its native-async twin below it where
the async ORM can do the same (locked_vote has none: there is no async atomic()).

An async view hands a whole unit to sync_to_async once (docs/lesson.md).
"""

from django.core.paginator import AsyncPaginator, EmptyPage, Paginator
from django.db import OperationalError, transaction
from django.db.models import F, QuerySet, Sum
from django.shortcuts import aget_object_or_404, get_object_or_404

from views_demo.errors import NotFound
from views_demo.models import Choice, Question

QUESTIONS_PER_PAGE = 5
# The list shows the first questions only; the paginated pair shows them all.
LIST_LIMIT = 20


# Shaping rows, for both twins


def _choice(choice: Choice) -> dict:
    return {"id": choice.pk, "text": choice.choice_text, "votes": choice.votes}


def _question(question: Question, choices: list[dict]) -> dict:
    return {"id": question.pk, "text": question.question_text, "choices": choices}


def _summary(question: Question) -> dict:
    return {"id": question.pk, "text": question.question_text, "votes": question.total_votes}


def _summaries() -> QuerySet[Question]:
    # Building a queryset runs no query, so both twins share it; only evaluating it differs.
    return Question.objects.annotate(total_votes=Sum("choice__votes", default=0)).order_by("id")


def _choices(question: Question) -> QuerySet[Choice]:
    return question.choice_set.order_by("id")


def _choice_of(*, question_id: int, choice_id: int) -> QuerySet[Choice]:
    return Choice.objects.filter(pk=choice_id, question_id=question_id)


def _not_found(*, question_id: int, choice_id: int, question_exists: bool) -> NotFound:
    if not question_exists:
        return NotFound(f"question {question_id} does not exist")
    return NotFound(f"question {question_id} has no choice {choice_id}")


def _page(*, number: int, count: int, num_pages: int, questions: list[dict]) -> dict:
    return {"page": number, "num_pages": num_pages, "count": count, "questions": questions}


def _empty_page(number: int, num_pages: int) -> NotFound:
    return NotFound(f"page {number} is past the last page, {num_pages}")


# Reading: one question and its choices


def question_detail(*, question_id: int) -> dict:
    """Return a question with its choices, or raise Http404."""
    question = get_object_or_404(Question, pk=question_id)
    return _question(question, [_choice(choice) for choice in _choices(question)])


async def aquestion_detail(*, question_id: int) -> dict:
    """See question_detail()."""
    question = await aget_object_or_404(Question, pk=question_id)
    return _question(question, [_choice(choice) async for choice in _choices(question)])


# Reading: the list of questions


def question_list() -> dict:
    """Return how many questions there are and the first LIST_LIMIT with their vote totals."""
    return {
        "count": Question.objects.count(),
        "questions": [_summary(question) for question in _summaries()[:LIST_LIMIT]],
    }


async def aquestion_list() -> dict:
    """See question_list()."""
    return {
        "count": await Question.objects.acount(),
        "questions": [_summary(question) async for question in _summaries()[:LIST_LIMIT]],
    }


# Reading: one page of the list


def question_page(*, number: int) -> dict:
    """Return page `number` of all questions, or raise NotFound past the last page."""
    paginator = Paginator(_summaries(), QUESTIONS_PER_PAGE)
    try:
        page = paginator.page(number)
    except EmptyPage:
        raise _empty_page(number, paginator.num_pages) from None
    questions = [_summary(question) for question in page]
    return _page(number=number, count=paginator.count, num_pages=paginator.num_pages, questions=questions)


async def aquestion_page(*, number: int) -> dict:
    """See question_page()."""
    paginator = AsyncPaginator(_summaries(), QUESTIONS_PER_PAGE)
    try:
        page = await paginator.apage(number)
    except EmptyPage:
        raise _empty_page(number, await paginator.anum_pages()) from None
    questions = [_summary(question) async for question in page]
    count, num_pages = await paginator.acount(), await paginator.anum_pages()
    return _page(number=number, count=count, num_pages=num_pages, questions=questions)


# Writing: one vote


def vote(*, question_id: int, choice_id: int) -> dict:
    """Add one vote to a choice of a question and return its new count, in one transaction."""
    with transaction.atomic():
        # F() makes the database add 1 to the value it holds now (UPDATE ... SET votes = votes + 1),
        # so two votes at the same moment both count. Reading, adding 1 in Python and saving
        # would let the second overwrite the first.
        updated = _choice_of(question_id=question_id, choice_id=choice_id).update(votes=F("votes") + 1)
        if not updated:
            exists = Question.objects.filter(pk=question_id).exists()
            raise _not_found(question_id=question_id, choice_id=choice_id, question_exists=exists)
        # The UPDATE holds the row's lock until commit, so this is the count this vote made.
        votes = Choice.objects.values_list("votes", flat=True).get(pk=choice_id)
    return {"question": question_id, "choice": choice_id, "votes": votes}


async def avote(*, question_id: int, choice_id: int) -> dict:
    """See vote(). Its count is None when the vote counted but reading the count back failed."""
    updated = await _choice_of(question_id=question_id, choice_id=choice_id).aupdate(votes=F("votes") + 1)
    if not updated:
        exists = await Question.objects.filter(pk=question_id).aexists()
        raise _not_found(question_id=question_id, choice_id=choice_id, question_exists=exists)
    # Without an async atomic(), each a-call is its own transaction: the UPDATE has committed,
    # so the vote counts whatever happens next, and the count read back may include later votes.
    # A read that fails now (the database went away) must not answer 503: a client told its
    # vote failed would vote again. It answers the vote counted, its count unknown.
    try:
        votes = await Choice.objects.values_list("votes", flat=True).aget(pk=choice_id)
    except OperationalError:
        votes = None
    return {"question": question_id, "choice": choice_id, "votes": votes}


# Writing: one vote, read and written back under the row's lock. It has no `a` twin: the lock
# lasts as long as the transaction, and Django has no async atomic() to hold one across awaits,
# so an async view hands this whole unit to sync_to_async once.


def locked_vote(*, question_id: int, choice_id: int) -> dict:
    """Add one vote to a choice of a question in Python, holding the row's lock until commit."""
    with transaction.atomic():
        # SELECT ... FOR UPDATE locks the row until commit: a second voter waits here for the
        # first to commit, then reads the count the first wrote, so adding 1 in Python is safe.
        # SQLite ignores FOR UPDATE, but the project's transaction_mode IMMEDIATE takes the
        # write lock at BEGIN, so the same code stays exact there too.
        choice = _choice_of(question_id=question_id, choice_id=choice_id).select_for_update().first()
        if choice is None:
            exists = Question.objects.filter(pk=question_id).exists()
            raise _not_found(question_id=question_id, choice_id=choice_id, question_exists=exists)
        choice.votes += 1
        choice.save(update_fields=["votes"])
    return {"question": question_id, "choice": choice_id, "votes": choice.votes}
