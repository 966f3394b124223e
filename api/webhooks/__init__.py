"""Webhooks: a signed POST to the job's ``callback_url`` when the job ends."""
