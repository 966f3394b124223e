"""Publishing a task message straight to a Redis broker: one ``LPUSH``.

``Celery.send_task`` costs about a millisecond of CPU per message (routing,
signals, the message built in several layers, a producer taken from a pool,
kombu's publish path with its own checks), a large share of a job submit.
A submit sends one plain message: a task by name, positional arguments, a
queue, no countdown. This module writes that message as kombu's Redis
transport writes it (task protocol 2 inside kombu's JSON envelope, body in
base64) with a single ``LPUSH`` onto the queue's list, which is where a
worker's ``BRPOP`` takes it from. Anything else (a countdown, another broker)
goes through Celery (``api.queue.send``).
"""

from __future__ import annotations

import base64
import json
import os
import socket
import threading
import uuid
from typing import Any

import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

_lock = threading.Lock()
_clients: dict[str, tuple[int, redis.Redis]] = {}
_ORIGIN = f"gen{os.getpid()}@{socket.gethostname()}"
_EMBED = {"callbacks": None, "errbacks": None, "chain": None, "chord": None}


def is_redis(url: str) -> bool:
    return url.startswith(("redis://", "rediss://"))


def message(task_name: str, args: list[Any], queue: str, task_id: str) -> bytes:
    """The bytes kombu's Redis transport stores for ``send_task(name, args, queue=queue)``."""
    body = json.dumps([args, {}, _EMBED]).encode()
    headers: dict[str, Any] = {
        "lang": "py",
        "task": task_name,
        "id": task_id,
        "shadow": None,
        "eta": None,
        "expires": None,
        "group": None,
        "group_index": None,
        "retries": 0,
        "timelimit": [None, None],
        "root_id": task_id,
        "parent_id": None,
        "argsrepr": repr(args),
        "kwargsrepr": "{}",
        "origin": _ORIGIN,
        "ignore_result": None,
        "replaced_task_nesting": 0,
        "stamped_headers": None,
        "stamps": {},
    }
    envelope = {
        "body": base64.b64encode(body).decode(),
        "content-encoding": "utf-8",
        "content-type": "application/json",
        "headers": headers,
        "properties": {
            "correlation_id": task_id,
            "reply_to": str(uuid.uuid4()),
            "delivery_mode": 2,
            "delivery_info": {"exchange": "", "routing_key": queue},
            "priority": 0,
            "body_encoding": "base64",
            "delivery_tag": str(uuid.uuid4()),
        },
    }
    return json.dumps(envelope).encode()


def _client(url: str) -> redis.Redis:
    """One client (and connection pool) per broker URL and process."""
    pid = os.getpid()
    found = _clients.get(url)
    if found is None or found[0] != pid:
        with _lock:
            found = _clients.get(url)
            if found is None or found[0] != pid:
                # A broker that is down fails the send within a second, as Celery's
                # publish retries did; the job stays queued and the reaper sends it.
                client = redis.Redis.from_url(
                    url,
                    socket_timeout=5,
                    socket_connect_timeout=2,
                    retry=Retry(ExponentialBackoff(cap=0.2, base=0.05), 2),
                )
                found = _clients[url] = (pid, client)
    return found[1]


def publish(
    url: str, task_name: str, args: list[Any], queue: str, *, task_id: str | None = None
) -> str:
    """Put the task on ``queue`` of the Redis broker at ``url``; returns the task id
    (``task_id`` when given, else a new one)."""
    task_id = task_id or str(uuid.uuid4())
    _client(url).lpush(queue, message(task_name, args, queue, task_id))
    return task_id


def reset() -> None:
    with _lock:
        for _, client in _clients.values():
            client.close()
        _clients.clear()
