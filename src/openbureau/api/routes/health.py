"""Liveness: the ledger answers."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from openbureau.api.deps import BureauDep
from openbureau.api.schemas import Health
from openbureau.catalogue.model import CATALOGUE_VERSION

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Health check")
def healthz(bureau: BureauDep) -> Health:
    """ "ok" once the ledger answers a query; 503 (problem+json) otherwise."""
    try:
        with bureau.ledger.connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError:
        raise HTTPException(503, "the ledger does not answer") from None
    return Health(
        status="ok", catalogue_version=CATALOGUE_VERSION, lake_has_records=bureau.lake.has_records()
    )
