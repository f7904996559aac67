"""
The polls of Django's tutorial: a question and its choices, each choice counting its votes.

A vote is one database-side increment of Choice.votes (an UPDATE ... SET votes = votes + 1,
see db.vote), so votes arriving at the same moment are never lost. No row is kept per vote:
the seed experiment measured exactly this counter, and one UPDATE is the smallest write
that shows safe concurrent writes.
"""

from django.db import models
from django.utils import timezone


class Question(models.Model):
    question_text = models.CharField(max_length=200)
    pub_date = models.DateTimeField("date published", default=timezone.now)

    def __str__(self) -> str:
        return self.question_text


class Choice(models.Model):
    question = models.ForeignKey(Question, on_delete=models.CASCADE)
    choice_text = models.CharField(max_length=200)
    votes = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return self.choice_text
