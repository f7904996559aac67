"""
The tuned profile's ASGI entry: the project's application (asyncdemo/asgi.py) under
tuned/settings.py, with each HTTP request's sync code run on threads lent by a pool.

    uvicorn tuned.asgi:application
"""

import os

# Before asyncdemo.asgi, whose own default is the stock settings.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tuned.settings")

import asyncdemo.asgi
from tuned.threads import ThreadPool, lend_threads

pool = ThreadPool()
application = lend_threads(asyncdemo.asgi.application, pool)
