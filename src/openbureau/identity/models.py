"""The two linkage models (Fellegi-Sunter, Splink): one for persons, one for organisations.

Builders only: each function returns Splink settings (comparisons, blocking rules) and runs
nothing. Conditions are written in DuckDB's SQL dialect and marked so, so Splink can translate
them for Spark. Input columns are those `jobs.linkage_input_sql` produces."""

from __future__ import annotations

from splink import SettingsCreator, block_on
from splink import comparison_level_library as cll
from splink import comparison_library as cl

DIALECT = "duckdb"


def _level(sql: str, label: str, *, tf: str | None = None) -> cll.CustomLevel:
    level = cll.CustomLevel(sql, label_for_charts=label, base_dialect_str=DIALECT)
    if tf:
        level = level.configure(tf_adjustment_column=tf, tf_adjustment_weight=1.0)
    return level


def _null(sql: str) -> cll.CustomLevel:
    return cll.CustomLevel(sql, label_for_charts="missing", base_dialect_str=DIALECT).configure(
        is_null_level=True
    )


def national_id_comparison() -> cl.CustomComparison:
    """A validated ID of one scheme: same token is near-proof, a different token of the same
    scheme is near-disproof (and the mixed-file guard refuses the link outright)."""
    return cl.CustomComparison(
        output_column_name="national_id",
        comparison_levels=[
            _null(
                "id_key_l IS NULL OR id_key_r IS NULL "
                "OR national_id_scheme_l <> national_id_scheme_r"
            ),
            _level("id_key_l = id_key_r", "same ID"),
            cll.ElseLevel(),
        ],
    )


def address_comparison() -> cl.CustomComparison:
    # One comparison for the address parts together: street, postcode and city move
    # together when a person moves, so scoring them apart would count one fact three times.
    return cl.CustomComparison(
        output_column_name="address",
        comparison_levels=[
            _null(
                "(postcode_l IS NULL OR postcode_r IS NULL) AND (city_l IS NULL OR city_r IS NULL)"
            ),
            _level(
                "jaro_winkler_similarity(street_l, street_r) >= 0.92 AND (postcode_l = postcode_r"
                " OR ((postcode_l IS NULL OR postcode_r IS NULL) AND city_l = city_r))",
                "same street",
            ),
            _level("postcode_l = postcode_r", "same postcode"),
            _level("city_l = city_r", "same city"),
            cll.ElseLevel(),
        ],
    )


def person_name_comparison() -> cl.CustomComparison:
    return cl.CustomComparison(
        output_column_name="name",
        comparison_levels=[
            _null("name_key_l IS NULL OR name_key_r IS NULL OR name_key_l = '' OR name_key_r = ''"),
            _level("name_key_l = name_key_r", "same name (any order)", tf="name_key"),
            _level("name_canon_l = name_canon_r", "same name in another spelling"),
            _level(
                "jaro_winkler_similarity(name_canon_l, name_canon_r) >= 0.94",
                "name with a typo",
            ),
            _level("jaro_winkler_similarity(name_canon_l, name_canon_r) >= 0.85", "similar name"),
            cll.ElseLevel(),
        ],
    )


def date_of_birth_comparison() -> cl.CustomComparison:
    return cl.CustomComparison(
        output_column_name="date_of_birth",
        comparison_levels=[
            _null("dob_l IS NULL OR dob_r IS NULL"),
            _level("dob_l = dob_r", "same date of birth"),
            _level(
                "substr(dob_l, 1, 4) = substr(dob_r, 1, 4) "
                "AND substr(dob_l, 6, 2) = substr(dob_r, 9, 2) "
                "AND substr(dob_l, 9, 2) = substr(dob_r, 6, 2)",
                "day and month exchanged",
            ),
            _level("damerau_levenshtein(dob_l, dob_r) <= 1", "one typo"),
            cll.ElseLevel(),
        ],
    )


def org_name_comparison() -> cl.CustomComparison:
    return cl.CustomComparison(
        output_column_name="name",
        comparison_levels=[
            _null("name_key_l IS NULL OR name_key_r IS NULL OR name_key_l = '' OR name_key_r = ''"),
            _level("name_key_l = name_key_r", "same name (legal form aside)", tf="name_key"),
            _level(
                "jaro_winkler_similarity(name_canon_l, name_canon_r) >= 0.95", "name with a typo"
            ),
            _level("jaro_winkler_similarity(name_canon_l, name_canon_r) >= 0.88", "similar name"),
            cll.ElseLevel(),
        ],
    )


PERSON_BLOCKING = (
    block_on("id_key"),
    block_on("name_key", "dob_year"),
    block_on("dob", "country", "name_prefix"),
    block_on("dob_norm", "name_canon"),
    block_on("postcode", "name_canon"),
    block_on("dob_norm", "postcode"),
    block_on("postcode", "given_c"),
    block_on("postcode", "family_c"),
    block_on("name_key", "city"),
)

ORG_BLOCKING = (
    block_on("id_key"),
    block_on("name_key"),
    block_on("postcode", "name_prefix"),
    block_on("city", "name_canon"),
)


def person_settings() -> SettingsCreator:
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="identity_key",
        comparisons=[
            person_name_comparison(),
            date_of_birth_comparison(),
            national_id_comparison(),
            address_comparison(),
        ],
        blocking_rules_to_generate_predictions=list(PERSON_BLOCKING),
        retain_intermediate_calculation_columns=False,
        retain_matching_columns=False,
    )


def org_settings() -> SettingsCreator:
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="identity_key",
        comparisons=[org_name_comparison(), national_id_comparison(), address_comparison()],
        blocking_rules_to_generate_predictions=list(ORG_BLOCKING),
        retain_intermediate_calculation_columns=False,
        retain_matching_columns=False,
    )


#: Rules that pick pairs to learn from (expectation maximisation). Each leaves some comparisons
#: free to be estimated: blocking on the ID learns names, dates and addresses; blocking on
#: name and date of birth learns the ID and address.
PERSON_TRAINING = (block_on("id_key"), block_on("name_key", "dob"))
ORG_TRAINING = (block_on("id_key"), block_on("name_key"))
#: Deterministic rules for the prior (share of random pairs that match), with their recall.
PERSON_PRIOR = ([block_on("id_key"), block_on("name_key", "dob")], 0.8)
ORG_PRIOR = ([block_on("id_key"), block_on("name_key", "postcode")], 0.8)
