"""Furnisher uploads: one file, ingested for the caller's own furnisher through the same code
as `openbureau ingest`, answered with the same receipt."""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, File, Form, Request, Response, UploadFile

from openbureau.access.rules import Caller
from openbureau.api.deps import BureauDep, Forbidden, require
from openbureau.api.problems import KEY_PROBLEMS, problem_doc, problem_response
from openbureau.api.schemas import Problem, ReceiptPublic
from openbureau.bootstrap import Bureau
from openbureau.ingest.rules import FORMATS, FileRejected, Receipt, detect_format
from openbureau.ingest.service import ingest_file

router = APIRouter(prefix="/v1/batches", tags=["furnishers"])

_SUFFIX = {fmt: suffix for suffix, fmt in reversed(FORMATS.items())}
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@router.post(
    "",
    status_code=201,
    summary="Upload a furnisher file",
    responses={
        **KEY_PROBLEMS,
        200: {"model": ReceiptPublic, "description": "The same file was ingested before."},
        422: problem_doc("The file was refused whole (receipt included) or the form is bad."),
    },
)
def submit_batch(
    bureau: BureauDep,
    request: Request,
    response: Response,
    caller: Annotated[Caller, Depends(require("batches:submit"))],
    file: Annotated[UploadFile, File(description="CSV, JSON Lines or Parquet.")],
    file_format: Annotated[
        Literal["csv", "jsonl", "parquet"] | None,
        Form(alias="format", description="The file's format; default from its name."),
    ] = None,
) -> ReceiptPublic:
    """Validate the file and add its good rows to the lake for the key's own furnisher (rows
    that break a rule go to the batch's quarantine, counted per rule in the receipt). 201 for
    a new batch, 200 when the same bytes were accepted before (nothing changes), 422 with the
    stored receipt when the file is refused whole."""
    if caller.furnisher_id is None:  # a furnisher role is only given to a furnishing party
        raise Forbidden("this key's party is not tied to a registered furnisher")
    name = _file_name(file.filename, file_format)
    incoming = bureau.settings.home / "incoming"
    incoming.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=incoming) as folder:
        path = Path(folder) / name
        with path.open("wb") as out:
            shutil.copyfileobj(file.file, out, 1 << 20)
        try:
            receipt = ingest_file(bureau, path, caller.furnisher_id)
        except FileRejected as exc:
            return problem_response(  # type: ignore[return-value]
                Problem(
                    type="urn:openbureau:problem:file-rejected",
                    title="File rejected",
                    status=422,
                    detail=exc.receipt.error or "the file was refused",
                    receipt=_public(bureau, exc.receipt),
                )
            )
    if receipt.status == "already_ingested":
        response.status_code = 200
    elif receipt.rows_accepted and request.app.state.compactor is not None:
        request.app.state.compactor.nudge()  # the new file joins the serving runs soon
    return _public(bureau, receipt)


def _file_name(uploaded: str | None, file_format: str | None) -> str:
    """A safe local name for the upload: its own base name without path or odd characters,
    with the suffix of `file_format` when that is given and the name says otherwise."""
    base = _UNSAFE.sub("_", Path(uploaded or "upload").name).strip("._")[:200] or "upload"
    if file_format and detect_format(base) != file_format:
        base += _SUFFIX[file_format]
    return base


def _public(bureau: Bureau, receipt: Receipt) -> ReceiptPublic:
    row = receipt.to_dict()
    for name in ("lake_path", "quarantine_path"):
        if row[name]:
            row[name] = _relative(Path(row[name]), bureau.settings.home)
    return ReceiptPublic(**row)


def _relative(path: Path, home: Path) -> str:
    try:
        return path.resolve().relative_to(home.resolve()).as_posix()
    except ValueError:
        return path.name
