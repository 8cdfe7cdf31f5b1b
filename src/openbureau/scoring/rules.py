"""Pure scoring rules: the published scorecard as plain values, 300-900 scaling, the
not-scorable rule, reason ranking, pillar sub-scores and the train/validate dates.

No database, no files, no clock. The vectorised scorer (`scoring.scorecard`) must agree with
these functions; the tests hold it to that.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal, NamedTuple

from openbureau.catalogue.rules import add_months
from openbureau.features.rules import FEATURES_BY_NAME

SCORE_MIN = 300
SCORE_MAX = 900

#: A file spanning fewer months than this is too thin to score.
MIN_HISTORY_MONTHS = 6
NO_RECORDS_REASON = "No credit, invoice, tax or court records in use"
THIN_FILE_REASON = f"Fewer than {MIN_HISTORY_MONTHS} months of history"

#: At most this many reasons are given, and only those that cost at least `MIN_REASON_LOSS`.
MAX_REASONS = 4
MIN_REASON_LOSS = 0.5

#: Months of outcomes observed after a date to call a subject good or bad.
OUTCOME_HORIZON_MONTHS = 12


#: The score at or above which the validation report counts a subject approved (fairness):
#: the base of the scale, odds of 30 to 1.
DEFAULT_CUTOFF = 600


@dataclass(frozen=True)
class Scaling:
    """Points to double the odds (PDO) scaling: `base_score` at good:bad odds `base_odds`,
    and every `pdo` points the odds of being good double."""

    base_score: float = 600.0
    base_odds: float = 30.0
    pdo: float = 50.0

    @property
    def factor(self) -> float:
        return self.pdo / math.log(2)

    @property
    def offset(self) -> float:
        return self.base_score - self.factor * math.log(self.base_odds)

    def base_points(self, intercept: float) -> float:
        """Points everyone starts from, given the model's intercept (log-odds of bad)."""
        return self.offset - self.factor * intercept

    def points(self, log_odds_bad: float) -> float:
        """Score points for a characteristic's contribution to the log-odds of bad."""
        return -self.factor * log_odds_bad

    def score_for_probability(self, p_bad: float) -> float:
        """The unclipped score of a default probability (for reading the scale)."""
        return self.offset + self.factor * math.log((1 - p_bad) / p_bad)


def final_score(total_points: float) -> int:
    """The published score: total points rounded and held within 300-900.
    Non-decreasing in `total_points`."""
    if math.isnan(total_points):
        raise ValueError("total points is not a number")
    return int(min(SCORE_MAX, max(SCORE_MIN, math.floor(total_points + 0.5))))


@dataclass(frozen=True)
class Characteristic:
    """One feature's bins and their points.

    Numeric (no `categories`): bin i holds values in [splits[i-1], splits[i]) (the first from
    minus infinity, the last to infinity). Categorical: bin i holds the values listed in
    `categories[i]` (compared as text), and `splits` is empty. A missing value has its own
    points, and so does a category never seen in development: like optbinning's `score()`,
    it earns the missing value's points."""

    feature: str
    splits: tuple[float, ...]
    points: tuple[float, ...]
    missing_points: float
    categories: tuple[tuple[str, ...], ...] = ()

    def __post_init__(self) -> None:
        if self.categories:
            if self.splits:
                raise ValueError(f"{self.feature}: a categorical characteristic has no splits")
            if len(self.points) != len(self.categories):
                raise ValueError(f"{self.feature}: need one points per category bin")
            seen = [c for group in self.categories for c in group]
            if len(seen) != len(set(seen)):
                raise ValueError(f"{self.feature}: a category is in two bins")
            return
        if len(self.points) != len(self.splits) + 1:
            raise ValueError(f"{self.feature}: need one more points than splits")
        if list(self.splits) != sorted(self.splits):
            raise ValueError(f"{self.feature}: splits must be ascending")

    @property
    def is_categorical(self) -> bool:
        return bool(self.categories)

    def bin_of(self, value: float | str | None) -> int | None:
        """The bin index of `value`; None when missing (or, categorical, never seen)."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return None
        if self.categories:
            text = str(value)
            return next((i for i, g in enumerate(self.categories) if text in g), None)
        return sum(1 for s in self.splits if value >= s)

    def points_for(self, value: float | str | None) -> float:
        i = self.bin_of(value)
        return self.missing_points if i is None else self.points[i]

    @property
    def best_points(self) -> float:
        """The most points a known value can earn: losses are counted from here."""
        return max(self.points)

    @property
    def min_possible(self) -> float:
        return min(*self.points, self.missing_points)

    @property
    def max_possible(self) -> float:
        return max(*self.points, self.missing_points)

    def points_lost(self, value: float | str | None) -> float:
        """Points below the best bin (never negative: a missing value that earns more than
        every bin has lost nothing)."""
        return max(0.0, self.best_points - self.points_for(value))


def not_scorable_reason(record_count: int, history_months: int | None) -> str | None:
    """Why a file cannot be scored, or None when it can. No history is never a low score."""
    if record_count <= 0 or history_months is None:
        return NO_RECORDS_REASON
    if history_months < MIN_HISTORY_MONTHS:
        return THIN_FILE_REASON
    return None


def rank_reasons(
    losses: Mapping[str, float],
    limit: int = MAX_REASONS,
    min_loss: float = MIN_REASON_LOSS,
    inquiries: str | None = None,
) -> list[tuple[str, float]]:
    """The features that cost the most points, biggest first (ties by name, so stable), at
    most `limit`, each having cost at least `min_loss`.

    `inquiries` names the feature that counts recent inquiries, if the card has one. The US
    adverse-action rule (FCRA, Regulation B) says that when inquiries lowered the score the
    subject must be told even if they are not among the key factors: it is then added after
    the others, as reason `limit + 1`."""
    kept = [(name, loss) for name, loss in losses.items() if loss >= min_loss]
    kept.sort(key=lambda item: (-item[1], item[0]))
    top = kept[:limit]
    extra = [item for item in kept[limit:] if item[0] == inquiries]
    return top + extra


def pillar_subscore(
    points: Sequence[float],
    min_points: Sequence[float],
    max_points: Sequence[float],
    has_data: bool,
) -> float | None:
    """A pillar's points placed on 0-100 between its lowest and highest possible totals;
    None when the subject has no records in the pillar or the pillar has no points at stake."""
    lo, hi = sum(min_points), sum(max_points)
    if not has_data or hi - lo <= 1e-9:
        return None
    return round(100.0 * (sum(points) - lo) / (hi - lo), 1)


#: Features whose values are shares (0.25 = 25%); every other feature counts whole units
#: (days, months, accounts, minor units of money), so its target values are whole numbers.
SHARE_FEATURES = frozenset({"utilisation", "late_invoice_share_12m"})
#: Changes that mean taking on more credit or debt: never suggested, whatever points they
#: would earn (as a missing value is never advised away by opening an account).
MORE_CREDIT = frozenset(
    {
        ("total_balance", "up"),
        ("open_accounts", "up"),
        ("accounts_opened_6m", "up"),
        ("accounts_opened_12m", "up"),
    }
)


@dataclass(frozen=True)
class Improvement:
    """The smallest change of one factor that moves the score up: bring the value `down`
    below `bound` (to `target` or less) or `up` to at least `bound` (`target` or more).
    `points_gained` is exactly what the total points rise by; `score_after` the score then."""

    feature: str
    current: float
    direction: Literal["down", "up"]
    bound: float
    target: float
    points_gained: float
    score_after: int

    @property
    def sentence(self) -> str:
        """The change in plain words, from the feature catalogue."""
        f = FEATURES_BY_NAME.get(self.feature)
        label = f.description.rstrip(".") if f else self.feature
        share = self.feature in SHARE_FEATURES
        now = _format_value(self.current, share)
        if share:
            goal = (
                f"below {_format_value(self.bound, True)}"
                if self.direction == "down"
                else (f"{_format_value(self.bound, True)} or more")
            )
        else:
            goal = f"{_format_value(self.target, False)} or " + (
                "less" if self.direction == "down" else "more"
            )
        return f"{label}: {now} now; {goal} would add {self.points_gained:.1f} points."


def _format_value(value: float, share: bool) -> str:
    if share:
        return f"{100 * value:.0f}%"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


class BinMove(NamedTuple):
    """Move a value `direction` across `bound` to `target`, gaining `gain` points."""

    direction: Literal["down", "up"]
    bound: float
    target: float
    gain: float


def improvement_for(
    c: Characteristic, value: float | None, *, whole: bool = True, floor: float = 0.0
) -> BinMove | None:
    """The nearest bin (by distance of value) that earns more points than `value`'s bin,
    or None when no bin earns more.

    `whole`: the value counts whole units, so the target is a whole number inside the bin
    (a bin holding none is skipped). No target goes below `floor` (counts and amounts are
    never negative). A missing value gets None: the bureau does not suggest taking on credit
    to earn points."""
    i = c.bin_of(value)
    if i is None or value is None:
        return None
    now = c.points[i]
    floor = min(floor, value)
    best: tuple[float, float, BinMove] | None = None
    for j, pts in enumerate(c.points):
        if pts <= now:
            continue
        lower = c.splits[j - 1] if j > 0 else -math.inf
        upper = c.splits[j] if j < len(c.splits) else math.inf
        if j < i:
            target = math.ceil(upper) - 1 if whole else math.nextafter(upper, -math.inf)
            if target < lower or target < floor:
                continue
            found = BinMove("down", upper, float(target), pts - now)
            distance = value - target
        else:
            target = math.ceil(lower) if whole else lower
            if target >= upper:
                continue
            found = BinMove("up", lower, float(target), pts - now)
            distance = target - value
        key = (distance, -(pts - now))
        if best is None or key < best[:2]:
            best = (*key, found)
    return None if best is None else best[2]


def what_would_raise(
    base_points: float,
    characteristics: Sequence[Characteristic],
    values: Mapping[str, float | None],
    min_gain: float = MIN_REASON_LOSS,
) -> list[Improvement]:
    """For each characteristic, the smallest change of the subject's value that moves their
    points up to the next better bin, with the points gained; biggest gain first (ties by
    feature name), only gains of at least `min_gain`. Each change is counted alone, the
    other values held as they are. A factor whose better bin means more credit or debt
    (`MORE_CREDIT`) gets no suggestion."""
    total = base_points + sum(c.points_for(values.get(c.feature)) for c in characteristics)
    out = []
    for c in characteristics:
        value = values.get(c.feature)
        if value is not None and isinstance(value, float) and math.isnan(value):
            value = None
        found = improvement_for(c, value, whole=c.feature not in SHARE_FEATURES)
        if value is None or found is None or found.gain < min_gain:
            continue
        if (c.feature, found.direction) in MORE_CREDIT:
            continue
        out.append(
            Improvement(
                feature=c.feature,
                current=float(value),
                direction=found.direction,
                bound=found.bound,
                target=found.target,
                points_gained=found.gain,
                score_after=final_score(total + found.gain),
            )
        )
    out.sort(key=lambda m: (-m.points_gained, m.feature))
    return out


def subscore_of(
    characteristics: Sequence[Characteristic], values: Mapping[str, float | None], has_data: bool
) -> float | None:
    """`pillar_subscore` of a subject's values on one pillar's characteristics."""
    return pillar_subscore(
        [c.points_for(values.get(c.feature)) for c in characteristics],
        [c.min_possible for c in characteristics],
        [c.max_possible for c in characteristics],
        has_data,
    )


def month_end(d: date) -> date:
    """The last day of `d`'s month."""
    return add_months(d.replace(day=1), 1) - timedelta(days=1)


def last_month_end(as_of: date) -> date:
    """`as_of` if it ends a month, else the last day of the month before."""
    return as_of if month_end(as_of) == as_of else d_first(as_of) - timedelta(days=1)


def d_first(d: date) -> date:
    return d.replace(day=1)


def model_dates(as_of: date, data_end: date) -> tuple[date, date]:
    """(train_as_of, validate_as_of) for a model fitted for scoring at `as_of`.

    validate_as_of is the latest month end on or before `as_of` whose whole outcome window
    (12 months) ends by `data_end` (the last month reported); train_as_of is 12 months
    before it, so the training outcomes end where validation starts (out of time)."""
    window_fits = month_end(add_months(d_first(data_end), -OUTCOME_HORIZON_MONTHS))
    validate = min(last_month_end(as_of), window_fits)
    train = month_end(add_months(d_first(validate), -OUTCOME_HORIZON_MONTHS))
    return train, validate
