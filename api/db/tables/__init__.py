"""One module per table. Importing this package registers every table on Base."""

from api.db.tables.alias_event import AliasEvent
from api.db.tables.api_key import ApiKey
from api.db.tables.dataset import Dataset
from api.db.tables.job import Job
from api.db.tables.job_partition import JobPartition
from api.db.tables.login_attempt import LoginAttempt
from api.db.tables.model_alias import ModelAlias
from api.db.tables.model_version import ModelVersion
from api.db.tables.prediction_log import PredictionLog
from api.db.tables.refresh_token import RefreshToken
from api.db.tables.user import User
from api.db.tables.webhook_delivery import WebhookAttempt, WebhookDelivery
from api.db.tables.webhook_secret import WebhookSecret

__all__ = [
    "AliasEvent",
    "ApiKey",
    "Dataset",
    "Job",
    "JobPartition",
    "LoginAttempt",
    "ModelAlias",
    "ModelVersion",
    "PredictionLog",
    "RefreshToken",
    "User",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookSecret",
]
