"""A batch job's files, downloaded through the API by the job's owner."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from api.db.tables.job import Job, JobKind, JobStatus
from api.db.tables.user import User
from api.jobs.downloads import CHUNK_BYTES
from api.ownership import dataset_uri
from api.storage import get_store
from tests.fixtures.db import HeadersFor, MakeUser


def _job(session: Session, owner: User, status: JobStatus, result: dict[str, object]) -> Job:
    job = Job(
        owner_id=owner.id,
        kind=JobKind.BATCH_INFERENCE,
        status=status,
        request={"input_data": "s3://tasador/in.csv"},
        result=result or None,
    )
    session.add(job)
    session.commit()
    return job


def test_the_owner_downloads_output_and_errors_as_stored(
    client: TestClient, db_session: Session, member: User, member_headers: dict[str, str]
) -> None:
    output = b"type,price_pred\n" + b"casa,123.0\n" * (3 * CHUNK_BYTES // 11)  # several chunks
    errors = b"row,column,reason\n2,net_area,must be positive\n"
    output_uri, errors_uri = (
        dataset_uri(member.id, uuid.uuid4()),
        dataset_uri(member.id, uuid.uuid4()),
    )
    get_store().put_bytes(output_uri, output)
    get_store().put_bytes(errors_uri, errors)
    job = _job(
        db_session,
        member,
        JobStatus.SUCCEEDED,
        {"output_data": output_uri, "errors_data": errors_uri},
    )

    got = client.get(f"/v1/jobs/{job.id}/output", headers=member_headers)
    assert got.status_code == 200
    assert got.content == output
    assert got.headers["content-type"].startswith("text/csv")
    assert got.headers["content-disposition"].startswith("attachment;")
    got_errors = client.get(f"/v1/jobs/{job.id}/errors", headers=member_headers)
    assert got_errors.content == errors


def test_files_of_unfinished_fileless_or_foreign_jobs_are_refused(
    client: TestClient,
    db_session: Session,
    member: User,
    member_headers: dict[str, str],
    make_user: MakeUser,
    auth_headers_for: HeadersFor,
) -> None:
    running = _job(db_session, member, JobStatus.RUNNING, {})
    answer = client.get(f"/v1/jobs/{running.id}/output", headers=member_headers)
    assert (answer.status_code, answer.json()["error"]["code"]) == (409, "job_not_finished")

    output_uri = dataset_uri(member.id, uuid.uuid4())
    get_store().put_bytes(output_uri, b"a\n1\n")
    clean = _job(db_session, member, JobStatus.SUCCEEDED, {"output_data": output_uri})
    answer = client.get(f"/v1/jobs/{clean.id}/errors", headers=member_headers)
    assert (answer.status_code, answer.json()["error"]["code"]) == (404, "file_not_found")
    failed = _job(db_session, member, JobStatus.FAILED, {})
    answer = client.get(f"/v1/jobs/{failed.id}/output", headers=member_headers)
    assert (answer.status_code, answer.json()["error"]["code"]) == (404, "file_not_found")

    stranger = auth_headers_for(make_user(role="member")[0])
    answer = client.get(f"/v1/jobs/{clean.id}/output", headers=stranger)
    assert (answer.status_code, answer.json()["error"]["code"]) == (404, "job_not_found")
