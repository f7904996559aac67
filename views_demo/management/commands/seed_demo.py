"""Create the demo polls; running it again changes nothing."""

from django.core.management.base import BaseCommand
from django.core.management.color import no_style
from django.db import connection, transaction

from views_demo.models import Choice, Question

# Question 1 is the one the voting form and the benchmark use; the rest give the list
# pages to turn (db.QUESTIONS_PER_PAGE a page).
POLLS: list[tuple[str, list[str]]] = [
    (
        "How should a Django view wait on a slow API?",
        ["A sync view", "An async view with httpx", "A thread pool", "A task queue"],
    ),
    ("Which server runs async views natively?", ["uvicorn (ASGI)", "gunicorn (WSGI)", "runserver"]),
    ("Where does the ORM run in an async view?", ["In a thread via sync_to_async", "On the event loop"]),
    ("What wraps sync_to_async best?", ["A whole unit of work", "Each query"]),
    ("What counts votes safely under load?", ["F('votes') + 1", "votes += 1; save()"]),
    ("What does time.sleep() do in a coroutine?", ["Blocks the event loop", "Yields to other tasks"]),
    ("How many httpx clients per event loop?", ["One", "One per request"]),
    ("Which SQLite journal lets readers and a writer overlap?", ["WAL", "DELETE"]),
    ("What should CONN_MAX_AGE be under ASGI?", ["0, with a pool", "600"]),
    ("Which paginator awaits its count?", ["AsyncPaginator", "Paginator"]),
    ("What does a lost create_task() lose?", ["Its result and its errors", "Nothing"]),
    ("What does an async view buy with no I/O to wait on?", ["Nothing", "Speed"]),
]


class Command(BaseCommand):
    help = "Create the demo polls (question 1 has 4 choices); running it again changes nothing."

    def handle(self, *args, **options):
        created = 0
        with transaction.atomic():
            choice_id = 0
            for question_id, (text, choices) in enumerate(POLLS, start=1):
                question, new = Question.objects.get_or_create(
                    pk=question_id, defaults={"question_text": text}
                )
                created += new
                for choice_text in choices:
                    choice_id += 1
                    Choice.objects.get_or_create(
                        pk=choice_id, defaults={"question": question, "choice_text": choice_text}
                    )
            # Rows were given their ids, so PostgreSQL's id sequences did not move: move them
            # past the seeded ids, or the next question made in the admin would collide.
            with connection.cursor() as cursor:
                for sql in connection.ops.sequence_reset_sql(no_style(), [Question, Choice]):
                    cursor.execute(sql)
        if options["verbosity"]:
            self.stdout.write(f"seed_demo: {created} of {len(POLLS)} questions created")
