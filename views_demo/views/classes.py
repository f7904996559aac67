"""
Class-based views: a View with all-sync handlers beside its all-async twin, and a
generic TemplateView pair. The query is read once, in setup(), by a shared mixin.
"""

from django.http import HttpRequest, JsonResponse
from django.template.response import TemplateResponse
from django.views import View
from django.views.generic import TemplateView

from views_demo import params, upstream
from views_demo.errors import json_errors
from views_demo.params import IntParam
from views_demo.responses import respond


class QueryMixin:
    """Read the query parameters in setup(), before the handler of either mode runs."""

    query: tuple[IntParam, ...] = ()

    @classmethod
    def as_view(cls, **initkwargs):
        # The view function as_view() builds is sync or async like the handlers: json_errors
        # answers the BadParameter that setup() raises, and the handlers' errors.
        return json_errors(super().as_view(**initkwargs))

    def setup(self, request: HttpRequest, *args, **kwargs) -> None:
        super().setup(request, *args, **kwargs)
        self.args = params.parse(request, *self.query)


# Classes: a View with one handler per HTTP method


class SyncUpstreamView(QueryMixin, View):
    query = (params.DELAY,)

    def get(self, request: HttpRequest) -> JsonResponse:
        answer = upstream.delay(ms=self.args["delay"])
        return respond(request, result=answer, args=self.args)


class AsyncUpstreamView(QueryMixin, View):
    query = (params.DELAY,)

    async def get(self, request: HttpRequest) -> JsonResponse:
        answer = await upstream.adelay(ms=self.args["delay"])
        return respond(request, result=answer, args=self.args)


# Classes: a generic view. TemplateView's own get() is sync; the async twin overrides it with
# `async def`, awaits its I/O, and calls the sync parts (get_context_data, render_to_response),
# which only build objects. Django renders the TemplateResponse after the view returns, in a
# thread for an async view (sync_to_async), because a template may load files or query the ORM.


class SyncFanoutPage(QueryMixin, TemplateView):
    template_name = "views_demo/fanout_page.html"
    query = (params.N, params.DELAY)

    def get(self, request: HttpRequest) -> TemplateResponse:
        answers = upstream.fanout(n=self.args["n"], ms=self.args["delay"])
        return self.render_to_response(self.get_context_data(answers=answers))


class AsyncFanoutPage(QueryMixin, TemplateView):
    template_name = "views_demo/fanout_page.html"
    query = (params.N, params.DELAY)

    async def get(self, request: HttpRequest) -> TemplateResponse:
        answers = await upstream.afanout(n=self.args["n"], ms=self.args["delay"])
        return self.render_to_response(self.get_context_data(answers=answers))
