"""Ownership: the one place that decides who may read and write which location.

Submit (``api.jobs.submission``) and the worker (``api.jobs.execution.training_job``,
``api.jobs.execution.batch_job``) both ask it, and responses use it to show a member only
locations they may read. ``layout`` says where things live in the service's
bucket and whose they are; ``rules`` says who may use them; ``jobs`` applies
both to a job's request.
"""

from api.ownership.jobs import (
    BatchAccess,
    Location,
    TrainingAccess,
    authorize_batch,
    authorize_training,
    batch_access,
    check_location,
    training_access,
)
from api.ownership.layout import (
    artifact_uri,
    dataset_uri,
    default_output,
    errors_uri,
    output_prefix,
)
from api.ownership.principal import Principal, load_principal
from api.ownership.rules import (
    LocationDenied,
    Promote,
    Refusal,
    check_read,
    check_write,
    may_read,
    promotion_mode,
    read_refusal,
    visible_uri,
    write_refusal,
)
from api.ownership.sources import check_source_read, is_source, may_read_rows_of

__all__ = [
    "BatchAccess",
    "Location",
    "LocationDenied",
    "Principal",
    "Promote",
    "Refusal",
    "TrainingAccess",
    "artifact_uri",
    "authorize_batch",
    "authorize_training",
    "batch_access",
    "check_location",
    "check_read",
    "check_source_read",
    "check_write",
    "dataset_uri",
    "default_output",
    "errors_uri",
    "is_source",
    "load_principal",
    "may_read",
    "may_read_rows_of",
    "output_prefix",
    "promotion_mode",
    "read_refusal",
    "training_access",
    "visible_uri",
    "write_refusal",
]
