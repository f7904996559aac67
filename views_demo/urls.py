"""The lesson's URLs: every view at /demo/<its name>/, so a path names the code it runs."""

from django.urls import path

from views_demo.views import auth, background, cache, classes, database, http, pitfalls, streaming

app_name = "views_demo"

urlpatterns = [
    # HTTP: calling a slow upstream
    path("demo/sync_hello/", http.sync_hello, name="sync_hello"),
    path("demo/async_hello/", http.async_hello, name="async_hello"),
    path("demo/sync_upstream/", http.sync_upstream, name="sync_upstream"),
    path("demo/async_upstream/", http.async_upstream, name="async_upstream"),
    path("demo/sync_fanout/", http.sync_fanout, name="sync_fanout"),
    path("demo/async_fanout/", http.async_fanout, name="async_fanout"),
    path("demo/sync_fanout_threaded/", http.sync_fanout_threaded, name="sync_fanout_threaded"),
    # Database
    path("demo/sync_question/", database.sync_question, name="sync_question"),
    path("demo/async_question/", database.async_question, name="async_question"),
    path("demo/async_question_native/", database.async_question_native, name="async_question_native"),
    path("demo/async_question_driver/", database.async_question_driver, name="async_question_driver"),
    path("demo/sync_questions/", database.sync_questions, name="sync_questions"),
    path("demo/async_questions/", database.async_questions, name="async_questions"),
    path("demo/async_questions_native/", database.async_questions_native, name="async_questions_native"),
    path("demo/sync_questions_page/", database.sync_questions_page, name="sync_questions_page"),
    path("demo/async_questions_page/", database.async_questions_page, name="async_questions_page"),
    path("demo/sync_poll/", database.sync_poll, name="sync_poll"),
    path("demo/async_poll/", database.async_poll, name="async_poll"),
    path("demo/async_poll_driver/", database.async_poll_driver, name="async_poll_driver"),
    path("demo/sync_vote/", database.sync_vote, name="sync_vote"),
    path("demo/async_vote/", database.async_vote, name="async_vote"),
    path("demo/async_vote_native/", database.async_vote_native, name="async_vote_native"),
    path("demo/async_vote_driver/", database.async_vote_driver, name="async_vote_driver"),
    path("demo/sync_locked_vote/", database.sync_locked_vote, name="sync_locked_vote"),
    path("demo/async_locked_vote/", database.async_locked_vote, name="async_locked_vote"),
    path("demo/sync_checked_vote/", database.sync_checked_vote, name="sync_checked_vote"),
    path("demo/async_checked_vote/", database.async_checked_vote, name="async_checked_vote"),
    # Streaming
    path("demo/sync_stream/", streaming.sync_stream, name="sync_stream"),
    path("demo/async_stream/", streaming.async_stream, name="async_stream"),
    path("demo/sync_events/", streaming.sync_events, name="sync_events"),
    path("demo/async_events/", streaming.async_events, name="async_events"),
    # Class-based views
    path("demo/sync_upstream_view/", classes.SyncUpstreamView.as_view(), name="sync_upstream_view"),
    path("demo/async_upstream_view/", classes.AsyncUpstreamView.as_view(), name="async_upstream_view"),
    path("demo/sync_fanout_page/", classes.SyncFanoutPage.as_view(), name="sync_fanout_page"),
    path("demo/async_fanout_page/", classes.AsyncFanoutPage.as_view(), name="async_fanout_page"),
    # Auth
    path("demo/sync_whoami/", auth.sync_whoami, name="sync_whoami"),
    path("demo/async_whoami/", auth.async_whoami, name="async_whoami"),
    path("demo/sync_profile/", auth.sync_profile, name="sync_profile"),
    path("demo/async_profile/", auth.async_profile, name="async_profile"),
    # Cache
    path("demo/sync_cached/", cache.sync_cached, name="sync_cached"),
    path("demo/async_cached/", cache.async_cached, name="async_cached"),
    # Background work
    path("demo/sync_enqueue/", background.sync_enqueue, name="sync_enqueue"),
    path("demo/async_enqueue/", background.async_enqueue, name="async_enqueue"),
    path("demo/sync_task_status/<str:result_id>/", background.sync_task_status, name="sync_task_status"),
    path("demo/async_task_status/<str:result_id>/", background.async_task_status, name="async_task_status"),
    # Pitfalls: the wrong way, each beside its right way
    path("demo/async_sleep_badly/", pitfalls.async_sleep_badly, name="async_sleep_badly"),
    path("demo/async_sleep/", pitfalls.async_sleep, name="async_sleep"),
    path(
        "demo/async_client_per_request_badly/",
        pitfalls.async_client_per_request_badly,
        name="async_client_per_request_badly",
    ),
    path("demo/async_task_badly/", pitfalls.async_task_badly, name="async_task_badly"),
    path("demo/async_question_badly/", database.async_question_badly, name="async_question_badly"),
    path("demo/async_atomic_badly/", database.async_atomic_badly, name="async_atomic_badly"),
]
