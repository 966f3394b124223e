"""The bare FastAPI reference the predict case compares Tasador with.

One synchronous endpoint that parses the same prediction body with the same
schema as ``POST /v1/predictions`` and answers a fixed price per instance: no
authentication, no database, no model, no middleware, no logging. Served by the
same uvicorn, with the same options, on the same machine, it is the ceiling a
FastAPI route that does any work at all can reach here.

    uvicorn tests.perf.reference_app:app
"""

from __future__ import annotations

from fastapi import FastAPI

from api.predictions.schemas import Prediction, PredictionRequest, PredictionResponse

app = FastAPI()


@app.post("/v1/predictions")
def predict(body: PredictionRequest) -> PredictionResponse:
    return PredictionResponse(
        model_version=0, predictions=[Prediction(price=0.0) for _ in body.instances]
    )
