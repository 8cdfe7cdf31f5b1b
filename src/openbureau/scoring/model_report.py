"""The model report (use case): a published scorecard measured on an out-of-time sample,
beside its training sample, a gradient-boosting ceiling, and fairness per protected group.

Reads the lake and the ledger; writes nothing. Protected attributes are supplied from outside
(a synthetic population's truth folder, or a file of subject_id and attributes): they are
joined to the sample for measurement and never reach the model."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from openbureau.bootstrap import Bureau
from openbureau.catalogue.rules import add_months
from openbureau.features.jobs import build_features, outcomes
from openbureau.features.rules import FEATURES_BY_NAME, feature_names
from openbureau.progress import Progress, no_progress
from openbureau.scoring import validation as v
from openbureau.scoring.artefact import model_row, published_card, read_published
from openbureau.scoring.fairness import AttributeFairness, ProxyCheck, group_fairness, proxy_checks
from openbureau.scoring.governance import _scorable_training_rows
from openbureau.scoring.governance import frame_of as _frame
from openbureau.scoring.rules import DEFAULT_CUTOFF, OUTCOME_HORIZON_MONTHS, month_end
from openbureau.storage.lake import held_for_jobs, read_links, read_records

#: Default cut-off: the base of the scale, 600 = good:bad odds of 30 to 1.
#: The protected attributes a synthetic population's truth folder carries.
TRUTH_ATTRIBUTES = ("sex", "age_band", "region")


class ModelReportError(ValueError):
    """The report cannot be made as asked (dates, sample, protected attributes)."""


@dataclass(frozen=True)
class CharacteristicReport:
    feature: str
    code: str
    pillar: str
    description: str
    rows: list[v.BinRow]
    psi: float


@dataclass
class ModelReport:
    model_version: str
    train_as_of: date
    oot_as_of: date
    cutoff: int
    n_train: int
    n_oot: int
    bad_rate_train: float
    bad_rate_oot: float
    train: v.Discrimination
    oot: v.Discrimination
    ceiling_auc: float
    bands_train: list[v.Band]
    bands_oot: list[v.Band]
    score_psi: float
    ks_grid: list[int]
    ks_bads: list[float]
    ks_goods: list[float]
    approval_rate: float
    characteristics: list[CharacteristicReport]
    dropped: dict[str, str]
    protected_source: str | None = None
    fairness: list[AttributeFairness] = field(default_factory=list)
    proxies: list[ProxyCheck] = field(default_factory=list)

    @property
    def ceiling_gap(self) -> float:
        return self.ceiling_auc - self.oot.auc


def protected_attributes(bureau: Bureau, source: Path) -> pd.DataFrame:
    """subject_id and one column per protected attribute, from a synthetic population's
    `truth` folder (records mapped to the bureau's subjects through the lake and the links,
    each subject taking the true person most of its records belong to) or from a CSV or
    Parquet file with a `subject_id` column and one column per attribute."""
    if source.is_dir():
        return _from_truth(bureau, source)
    if source.suffix == ".csv":
        frame = pd.read_csv(source, dtype=str)
    elif source.suffix == ".parquet":
        frame = pd.read_parquet(source)
    else:
        raise ModelReportError(f"{source}: give a truth folder, a .csv or a .parquet file")
    if "subject_id" not in frame.columns or len(frame.columns) < 2:
        raise ModelReportError(
            f"{source}: needs a subject_id column and at least one attribute column"
        )
    if frame["subject_id"].duplicated().any():
        first = frame.loc[frame["subject_id"].duplicated(), "subject_id"].iloc[0]
        raise ModelReportError(f"{source}: subject_id {first!r} appears more than once")
    return frame.astype({c: object for c in frame.columns})


def _from_truth(bureau: Bureau, folder: Path) -> pd.DataFrame:
    for name in ("records.parquet", "subjects.parquet"):
        if not (folder / name).is_file():
            raise ModelReportError(f"{folder}: not a truth folder (no {name})")
    con = bureau.batch_engine()
    records = read_records(con, bureau.lake).select("furnisher_id", "record_id", "identity_key")
    links = read_links(con, bureau.lake).select("identity_key", "subject_id")
    truth = con.read_parquet(str(folder / "records.parquet"), table_name="truth_records")
    truth = truth.select("furnisher_id", "record_id", "true_subject_id").distinct()
    joined = (
        records.distinct().join(links, "identity_key").join(truth, ["furnisher_id", "record_id"])
    )
    counts = _frame(
        con, joined.group_by(["subject_id", "true_subject_id"]).agg(n=joined.record_id.count())
    )
    counts = counts.sort_values(["subject_id", "n", "true_subject_id"], ascending=[1, 0, 1])
    best = counts.drop_duplicates("subject_id")[["subject_id", "true_subject_id"]]
    people = pd.read_parquet(folder / "subjects.parquet")
    attributes = [a for a in TRUTH_ATTRIBUTES if a in people.columns]
    people = people[["true_subject_id", *attributes]].astype(object)
    return best.merge(people, on="true_subject_id").drop(columns="true_subject_id")


def build_model_report(
    bureau: Bureau,
    *,
    cutoff: int = DEFAULT_CUTOFF,
    model_version: str | None = None,
    oot_as_of: date | None = None,
    protected: pd.DataFrame | None = None,
    protected_source: str | None = None,
    progress: Progress | None = None,
) -> ModelReport:
    """Measure the champion (or `model_version`) on its out-of-time sample (features at its
    validation date, outcomes in the 12 months after), or at `oot_as_of`, a later month end
    whose outcome window the lake covers. Raises ModelNotFound, or ModelReportError when the
    sample cannot be measured."""
    progress = progress or no_progress
    with bureau.ledger.connect() as conn:
        row = model_row(conn, model_version)
    published = read_published(bureau.settings.home, row["artefact_path"])
    card = published_card(published)
    train_as_of = date.fromisoformat(str(published["train_as_of"]))
    con = bureau.batch_engine()
    records, links = read_records(con, bureau.lake), read_links(con, bureau.lake)
    if oot_as_of is None:
        # the data as it was when the model was fitted: the report repeats its validation
        oot_as_of = date.fromisoformat(str(published["validate_as_of"]))
        records = records.filter(
            records.reported_on <= date.fromisoformat(str(published["fitted_as_of"]))
        )
    else:
        _check_window(con, records, oot_as_of)
    records = held_for_jobs(con, records, bureau.settings.lake_cache_mb)
    progress("model report", 0, 4)

    def sample(at: date) -> pd.DataFrame:
        feats = _frame(con, build_features(records, links, at))
        return _scorable_training_rows(feats, _frame(con, outcomes(records, links, at)))

    train, oot = sample(train_as_of), sample(oot_as_of)
    for name, rows, at in (("training", train, train_as_of), ("out-of-time", oot, oot_as_of)):
        if rows["bad"].nunique() < 2:
            raise ModelReportError(
                f"the {name} sample at {at} has {len(rows)} subjects with outcomes, not both "
                "good and bad among them: nothing to measure"
            )
    progress("model report", 2, 4)
    names = feature_names()
    y_train, y_oot = train["bad"].to_numpy(int), oot["bad"].to_numpy(int)
    pts_train, pts_oot = card.total_points(train), card.total_points(oot)
    s_train, s_oot = v.final_scores(pts_train), v.final_scores(pts_oot)
    bands_train = v.bands(y_train, pts_train, card.scaling)
    bands_oot = v.bands(y_oot, pts_oot, card.scaling)
    grid = list(range(300, 901, 10))
    ks_bads, ks_goods = v.cumulative_shares(y_oot, s_oot, np.asarray(grid))
    chars = []
    for c in card.characteristics:
        f = FEATURES_BY_NAME[c.feature]
        rows, psi = v.characteristic_rows(
            c, _values(train, c.feature), y_train, _values(oot, c.feature), y_oot
        )
        chars.append(CharacteristicReport(f.name, f.code, f.pillar, f.description, rows, psi))
    ceiling = v.ceiling_auc(
        train[names].apply(pd.to_numeric, errors="coerce").to_numpy(float),
        y_train,
        oot[names].apply(pd.to_numeric, errors="coerce").to_numpy(float),
        y_oot,
    )
    progress("model report", 3, 4)
    report = ModelReport(
        model_version=row["model_version"],
        train_as_of=train_as_of,
        oot_as_of=oot_as_of,
        cutoff=cutoff,
        n_train=len(train),
        n_oot=len(oot),
        bad_rate_train=float(y_train.mean()),
        bad_rate_oot=float(y_oot.mean()),
        train=v.discrimination(y_train, s_train),
        oot=v.discrimination(y_oot, s_oot),
        ceiling_auc=ceiling,
        bands_train=bands_train,
        bands_oot=bands_oot,
        score_psi=v.psi([b.n for b in bands_train], [b.n for b in bands_oot]),
        ks_grid=grid,
        ks_bads=ks_bads,
        ks_goods=ks_goods,
        approval_rate=float((s_oot >= cutoff).mean()),
        characteristics=chars,
        dropped=dict(published.get("dropped", {})),
    )
    if protected is not None:
        _add_fairness(report, card, oot, s_oot >= cutoff, protected, protected_source)
    progress("model report", 4, 4)
    return report


def _values(frame: pd.DataFrame, name: str) -> np.ndarray:
    return pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _check_window(con, records, at: date) -> None:
    if month_end(at) != at:
        raise ModelReportError(f"the out-of-time date must end a month, not {at}")
    credit = records.filter(records.record_type == "credit_account")
    last = con.execute(credit.reporting_month.max())
    needed = month_end(add_months(at.replace(day=1), OUTCOME_HORIZON_MONTHS))
    known = None if last is None or pd.isna(last) else month_end(pd.Timestamp(last).date())
    if known is None or known < needed:
        raise ModelReportError(
            f"outcomes in the 12 months after {at} are not all in the lake: its credit "
            f"reports end {known or 'nowhere'}, the window ends {needed}"
        )


def _add_fairness(
    report: ModelReport,
    card,
    oot: pd.DataFrame,
    approved: np.ndarray,
    protected: pd.DataFrame,
    source: str | None,
) -> None:
    attrs = [c for c in protected.columns if c != "subject_id"]
    joined = oot[["subject_id"]].merge(protected, on="subject_id", how="left")
    if not joined[attrs].notna().any().any():
        raise ModelReportError(
            f"none of the {len(oot)} out-of-time subjects has an attribute in {source}"
        )
    y = oot["bad"].to_numpy(int)
    report.protected_source = source
    report.fairness = [
        group_fairness(a, joined[a], y, approved) for a in attrs if joined[a].notna().any()
    ]
    binned = pd.DataFrame(
        {c.feature: v.bin_codes(c, _values(oot, c.feature)) for c in card.characteristics}
    )
    report.proxies = proxy_checks(binned, joined[attrs].reset_index(drop=True))
