"""The audit chain, for auditors: verify it from the API as `openbureau audit verify` does."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from openbureau.access.rules import Caller
from openbureau.api.deps import BureauDep, require
from openbureau.api.problems import KEY_PROBLEMS
from openbureau.audit.service import verify

router = APIRouter(prefix="/v1/audit", tags=["audit"], responses=KEY_PROBLEMS)


class ChainStatus(BaseModel):
    """Whether every entry verified; when not, the first broken entry and why."""

    ok: bool
    checked: int
    head_seq: int
    head_hash: str
    first_broken: int | None
    reason: str | None
    detail: str | None


@router.get("/verify", summary="Verify the audit chain")
def verify_chain(
    bureau: BureauDep, caller: Annotated[Caller, Depends(require("audit:verify"))]
) -> ChainStatus:
    """Recompute every entry's hash and link (streamed, constant memory). Checks against a
    signed checkpoint are for `openbureau audit verify --checkpoint`, off the bureau's hands."""
    return ChainStatus(**vars(verify(bureau.ledger)))
