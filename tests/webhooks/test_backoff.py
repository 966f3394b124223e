"""The retry schedule: exponential, jittered, and long enough by default."""

from __future__ import annotations

import random

from api.config import Settings
from api.webhooks.delivery import backoff_seconds, minimum_retry_span


def test_each_retry_waits_about_twice_as_long_as_the_one_before() -> None:
    rng = random.Random(1)
    for attempt in range(1, 8):
        nominal = 30 * 2 ** (attempt - 1)
        delays = [backoff_seconds(attempt, 30, rng) for _ in range(200)]
        assert all(nominal <= d <= nominal * 1.2 for d in delays)
        assert max(delays) - min(delays) > nominal * 0.1  # jitter actually spreads them


def test_defaults_give_at_least_six_attempts_over_at_least_an_hour() -> None:
    fields = Settings.model_fields
    attempts = fields["webhook_max_attempts"].default
    base = fields["webhook_backoff_base_seconds"].default
    assert attempts >= 6
    assert minimum_retry_span(attempts, base) >= 3600
    # The span is what the unluckiest draws add up to, not a formula restated.
    rng = random.Random(2)
    unlucky = min(
        sum(backoff_seconds(n, base, rng) for n in range(1, attempts)) for _ in range(200)
    )
    assert unlucky >= 3600
