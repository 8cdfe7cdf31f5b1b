"""Running the linkage models: train (expectation maximisation), score pairs within a set of
identity variants and between new and known ones. The one place Splink executes; the models
themselves are built in `models.py`. DuckDB in-process here; Splink's SparkAPI takes the same
settings when the Spark engine lands."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path

import duckdb
import pandas as pd
from splink import DuckDBAPI, Linker
from splink.internals.exceptions import SplinkException

from openbureau.identity import models
from openbureau.identity.names import CITY_ALIASES, canonical_part

log = logging.getLogger(__name__)

#: Pairs scored below this never leave the matcher (the lower review threshold is higher).
PAIR_FLOOR = 0.5

_KINDS: dict[str, tuple[Callable, tuple, tuple]] = {
    "person": (models.person_settings, models.PERSON_TRAINING, models.PERSON_PRIOR),
    "organisation": (models.org_settings, models.ORG_TRAINING, models.ORG_PRIOR),
}

LINKAGE_COLUMNS = [
    "identity_key",
    "national_id_scheme",
    "id_key",
    "name_key",
    "name_canon",
    "name_prefix",
    "given_c",
    "family_c",
    "dob",
    "dob_year",
    "dob_norm",
    "country",
    "postcode",
    "city",
    "street",
]


def add_canonical_names(frame: pd.DataFrame) -> pd.DataFrame:
    """Add `name_canon` (canonical spelling, word order ignored), `given_c` and `family_c`
    (each part canonical) and `name_prefix` (two letters, for blocking); put cities under
    their current names. Canonicalisation runs once per distinct folded word."""
    person = frame["subject_kind"] == "person"
    out = frame.copy()
    canon = out["name_key"].fillna("").astype(object)
    out["given_c"] = None
    out["family_c"] = None
    if person.any():
        parts = []
        for col in ("given_f", "family_f"):
            pairs = out.loc[person, [col, "country"]].fillna("").astype(str)
            uniq = pairs.drop_duplicates()
            mapped = {
                (w, c): canonical_part(w, c or None)
                for w, c in zip(uniq[col], uniq["country"], strict=True)
            }
            parts.append(
                [mapped[(w, c)] for w, c in zip(pairs[col], pairs["country"], strict=True)]
            )
        out.loc[person, "given_c"] = [p or None for p in parts[0]]
        out.loc[person, "family_c"] = [p or None for p in parts[1]]
        canon.loc[person] = [
            " ".join(sorted(p for p in (g, f) if p)) for g, f in zip(*parts, strict=True)
        ]
    out["city"] = out["city"].replace(CITY_ALIASES)
    out["name_canon"] = canon.astype(str)
    out["name_prefix"] = out["name_canon"].str.slice(0, 2)
    return out


def _quiet() -> None:
    logging.getLogger("splink").setLevel(logging.ERROR)


def train(con: duckdb.DuckDBPyConnection, frame: pd.DataFrame, kind: str, seed: int = 1) -> dict:
    """Estimate a model's parameters on `frame` (one kind of subject): the prior from
    deterministic rules, u from random pairs, m by expectation maximisation. Training starts
    from `start` (default: the model settings of `models.py`, untrained); a training rule
    that finds no pairs in this data (no national IDs furnished, say) is skipped, leaving
    those parameters as they started. Returns the model as Splink's JSON-ready dict."""
    return _train(con, frame, kind, settings=_KINDS[kind][0](), seed=seed)


def retrain(con: duckdb.DuckDBPyConnection, frame: pd.DataFrame, kind: str, seed: int = 1) -> dict:
    """`train`, starting from the shipped model, so parameters this data cannot teach (an ID
    comparison where nobody furnishes IDs) keep their shipped values."""
    return _train(con, frame, kind, settings=default_model(kind), seed=seed)


def _train(con, frame: pd.DataFrame, kind: str, *, settings, seed: int) -> dict:
    _quiet()
    _, training, (prior_rules, recall) = _KINDS[kind]
    db = DuckDBAPI(connection=con)
    linker = Linker(db.register(frame[LINKAGE_COLUMNS]), settings, log_level=None)
    try:
        linker.training.estimate_probability_two_random_records_match(list(prior_rules), recall)
    except SplinkException as exc:
        log.warning("%s model: prior not re-estimated, kept the starting one (%s)", kind, exc)
    # u from random pairs: 20 per variant, between half a million and two million (a small
    # bureau's sample costs what its size warrants; a rate this sample cannot see keeps the
    # starting value)
    pairs = int(min(max(20 * len(frame), 500_000), 2_000_000))
    linker.training.estimate_u_using_random_sampling(max_pairs=pairs, seed=seed)
    for rule in training:
        try:
            linker.training.estimate_parameters_using_expectation_maximisation(
                rule, fix_probability_two_random_records_match=True
            )
        except SplinkException as exc:
            # e.g. no national IDs furnished: those parameters keep their starting values
            log.warning("%s model: training rule skipped (%s)", kind, str(exc).splitlines()[0])
    return json.loads(json.dumps(linker.misc.save_model_to_json()))


def default_model(kind: str) -> dict:
    """The parameters shipped with OpenBureau for `kind`, trained on the synthetic population
    (`bench/train_default_identity_models.py` regenerates them)."""
    path = Path(__file__).with_name("default_models") / f"{kind}.json"
    return json.loads(path.read_text())


def _linker(db: DuckDBAPI, frame: pd.DataFrame, model: dict) -> Linker:
    return Linker(db.register(frame[LINKAGE_COLUMNS]), model, log_level=None)


def _pairs(result) -> pd.DataFrame:
    df = result.as_pandas_dataframe()
    return df[["identity_key_l", "identity_key_r", "match_probability", "match_weight"]]


def predict_within(
    con: duckdb.DuckDBPyConnection, frame: pd.DataFrame, model: dict, floor: float = PAIR_FLOOR
) -> pd.DataFrame:
    """Scored pairs among the rows of `frame` at or above `floor`
    (identity_key_l, identity_key_r, match_probability, match_weight)."""
    _quiet()
    if len(frame) < 2:
        return empty_pairs()
    db = DuckDBAPI(connection=con)
    linker = _linker(db, frame, model)
    result = linker.inference.predict(threshold_match_probability=floor, warning_mode="never")
    return _pairs(result)


def predict_between(
    con: duckdb.DuckDBPyConnection,
    new: pd.DataFrame,
    known: pd.DataFrame,
    model: dict,
    floor: float = PAIR_FLOOR,
) -> pd.DataFrame:
    """Scored pairs (new, known) at or above `floor`; `identity_key_l` is always the new one."""
    _quiet()
    if new.empty or known.empty:
        return empty_pairs()
    db = DuckDBAPI(connection=con)
    linker = _linker(db, pd.concat([new, known], ignore_index=True), model)
    linker.table_management.compute_tf_table("name_key")
    left = db.register(new[LINKAGE_COLUMNS])
    right = db.register(known[LINKAGE_COLUMNS])
    result = linker.inference.predict_between(
        left, right, threshold_match_probability=floor, warning_mode="never"
    )
    pairs = _pairs(result)
    new_keys = set(new["identity_key"])
    flip = ~pairs["identity_key_l"].isin(new_keys)
    pairs.loc[flip, ["identity_key_l", "identity_key_r"]] = pairs.loc[
        flip, ["identity_key_r", "identity_key_l"]
    ].to_numpy()
    return pairs


def empty_pairs() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "identity_key_l": pd.Series(dtype=str),
            "identity_key_r": pd.Series(dtype=str),
            "match_probability": pd.Series(dtype=float),
            "match_weight": pd.Series(dtype=float),
        }
    )
