"""The pages a reader opens in a browser: the index of demos."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from views_demo.registry import DEMOS


def index(request: HttpRequest) -> HttpResponse:
    return render(request, "views_demo/index.html", {"demos": DEMOS})
