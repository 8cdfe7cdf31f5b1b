"""Set-level identity steps as SQL builders (DuckDB dialect). They build text and never run it.

The normalisation here mirrors `rules.fold`, `rules.person_name_key` and `rules.org_name_key`
(a test holds the two in step on a table of names)."""

from __future__ import annotations

from openbureau.identity.rules import ORG_SUFFIXES

_WORD_CLASS = r"[^0-9a-z\x{4e00}-\x{9fff}]+"


def _fold(expr: str) -> str:
    lowered = f"lower(strip_accents(coalesce({expr}, '')))"
    return f"trim(regexp_replace({lowered}, '{_WORD_CLASS}', ' ', 'g'))"


def person_name_key_sql(given: str, family: str) -> str:
    folded = _fold(f"coalesce({given}, '') || ' ' || coalesce({family}, '')")
    words = f"list_filter(string_split({folded}, ' '), lambda x: x <> '')"
    return f"array_to_string(list_sort({words}), ' ')"


def org_name_key_sql(name: str) -> str:
    ascii_suffixes = sorted((s for s in ORG_SUFFIXES if s.isascii()), key=len, reverse=True)
    cjk_suffixes = sorted((s for s in ORG_SUFFIXES if not s.isascii()), key=len, reverse=True)
    ascii_alt = "|".join(s.replace(" ", r"\s+") for s in ascii_suffixes)
    cjk_alt = "|".join(cjk_suffixes)
    folded = _fold(name)
    no_cjk = f"trim(regexp_replace({folded}, '({cjk_alt})$', ''))"
    stripped = f"trim(regexp_replace({no_cjk}, '(\\s+({ascii_alt}))+$', ''))"
    return f"(CASE WHEN {stripped} = '' THEN {no_cjk} ELSE {stripped} END)"


def linkage_input_sql(files_param: str = "$files") -> str:
    """One row per identity variant (distinct `identity_key`) in the given record files, with
    the normalised columns the linkage models compare. Names are folded here; their canonical
    spelling (`names.canonical_part`) is added in Python over the distinct folded words."""
    postcode = "nullif(regexp_replace(upper(coalesce(postcode, '')), '[^0-9A-Z]', '', 'g'), '')"
    return f"""
        WITH v AS (
            SELECT identity_key,
                   any_value(subject_kind) AS subject_kind,
                   any_value(given_name) AS given_name,
                   any_value(family_name) AS family_name,
                   any_value(org_name) AS org_name,
                   any_value(CAST(date_of_birth AS VARCHAR)) AS dob,
                   any_value(national_id_scheme) AS national_id_scheme,
                   any_value(national_id_token) AS national_id_token,
                   any_value(national_id_masked) AS national_id_masked,
                   any_value(country) AS country,
                   any_value({postcode}) AS postcode,
                   any_value(nullif({_fold("city")}, '')) AS city,
                   any_value(nullif({_fold("address_line1")}, '')) AS street,
                   count(*) AS n_records
            FROM read_parquet({files_param})
            GROUP BY identity_key
        )
        SELECT *,
               CASE WHEN national_id_token IS NOT NULL
                    THEN national_id_scheme || ':' || national_id_token END AS id_key,
               CASE WHEN subject_kind = 'person'
                    THEN {person_name_key_sql("given_name", "family_name")}
                    ELSE {org_name_key_sql("org_name")} END AS name_key,
               {_fold("given_name")} AS given_f,
               {_fold("family_name")} AS family_f,
               substr(dob, 1, 4) AS dob_year,
               CASE WHEN dob IS NOT NULL THEN substr(dob, 1, 4) || '-'
                    || least(substr(dob, 6, 2), substr(dob, 9, 2)) || '-'
                    || greatest(substr(dob, 6, 2), substr(dob, 9, 2)) END AS dob_norm
        FROM v
    """


def export_links_sql(files_param: str, links_param: str) -> str:
    """Record-level links: every (furnisher, record id) with its subject."""
    return f"""
        SELECT DISTINCT r.furnisher_id, r.record_id, l.subject_id, l.match_probability, l.method
        FROM read_parquet({files_param}) AS r
        JOIN read_parquet({links_param}) AS l USING (identity_key)
        ORDER BY r.furnisher_id, r.record_id
    """
