"""gunicorn's settings, shared by `make run` (eduplatform/runner.py), the image and compose.

Tutor answers stream (server-sent events) for as long as the model writes.
A sync worker is held by a request for its whole length, so with three of
them three open streams blocked every page. gthread workers serve each
request on a thread of their own and keep beating to the master between
requests, so a long stream neither blocks other requests nor gets its worker
killed by `timeout`. Threads, not more processes: each process keeps its own
embedding model (about 1.3 GB with the offline one), threads share it.
Measured by `python -m bench.streaming`: docs/benchmarks.md, "Web concurrency".
"""

import os

worker_class = "gthread"
workers = int(os.environ.get("WEB_WORKERS", "2"))
# Each open stream holds one thread; requests beyond workers × threads wait.
threads = int(os.environ.get("WEB_THREADS", "16"))
# A worker silent this long (stuck outside any request) is restarted.
timeout = 120
graceful_timeout = int(os.environ.get("WEB_GRACEFUL_TIMEOUT", "30"))
keepalive = 5
# The heartbeat file on tmpfs: a container's overlay filesystem can stall it.
_SHM = "/dev/shm"  # noqa: S108 (gunicorn's own advice; it creates its files safely)
worker_tmp_dir = _SHM if os.path.isdir(_SHM) else None
accesslog = "-"
# Access lines without query strings (search terms stay out of logs), with the
# client address by TRUSTED_PROXIES. This is the one gunicorn config: with
# --config set, gunicorn never reads a ./gunicorn.conf.py.
logger_class = "eduplatform.access_log.AccessLogger"
# No control socket: gunicorn's default is one fixed path in the home folder, so
# a second server on the machine (another app, a test) takes it over; nothing
# here manages gunicorn at run time.
control_socket_disable = True
