import duckdb
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openbureau.identity import jobs, linking, rules

NAMES = [
    ("Zhang", "Wei"),
    ("Wéi ", "ZHANG"),
    ("Mohammed-Ali", None),
    (None, None),
    ("李", "明"),
    ("  anand  ", "KUMAR  sharma"),
]
ORGS = [
    "Acme Trading Co., Ltd.",
    "Tata Steel Pvt Ltd",
    "北京华为有限公司",
    "Ltd",
    "Reliance Industries Limited",
    "Shenzhen Star Group Co Ltd",
    "Mahindra & Mahindra Private Limited",
]


@pytest.mark.parametrize(("given_name", "family"), NAMES)
def test_sql_person_key_matches_python(given_name, family):
    con = duckdb.connect()
    sql = "SELECT " + jobs.person_name_key_sql("$g", "$f")
    assert con.execute(sql, {"g": given_name, "f": family}).fetchone()[0] == (
        rules.person_name_key(given_name, family)
    )


@pytest.mark.parametrize("name", ORGS)
def test_sql_org_key_matches_python(name):
    con = duckdb.connect()
    sql = "SELECT " + jobs.org_name_key_sql("$n")
    assert con.execute(sql, {"n": name}).fetchone()[0] == rules.org_name_key(name)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Acme Trading Co., Ltd.", "ACME TRADING CO LTD"),
        ("Acme Trading Co., Ltd.", "Acme Trading Company Limited"),
        ("Tata Steel Pvt Ltd", "Tata Steel Private Limited"),
        ("北京华为有限公司", "北京华为"),
    ],
)
def test_org_legal_forms_are_ignored(a, b):
    assert rules.org_name_key(a) == rules.org_name_key(b)


def test_name_order_is_ignored():
    assert rules.person_name_key("Wei", "Zhang") == rules.person_name_key("Zhang", "Wei")


def _variants(rows):
    cols = ["identity_key", "subject_kind", "name_key", "date_of_birth", "national_id_scheme",
            "national_id_token", "country", "postcode"]  # fmt: skip
    return pd.DataFrame([(*row, "100000") for row in rows], columns=cols)


def test_name_and_birth_date_never_bridge_two_tokens():
    v = _variants(
        [
            ("k1", "person", "wei zhang", "1980-01-02", "CN-RIC", "tokA", "CN"),
            ("k2", "person", "wei zhang", "1980-01-02", "CN-RIC", "tokB", "CN"),
            ("k3", "person", "wei zhang", "1980-01-02", None, None, "CN"),
        ]
    )
    out = linking.cluster_variants(v).set_index("identity_key")
    assert out.loc["k1", "cluster_key"] != out.loc["k2", "cluster_key"]
    # The id-less variant is ambiguous: it stays on its own rather than risk a mixed file.
    assert out.loc["k3", "cluster_key"] == "id:k3"
    assert out.loc["k3", "method"] == "identity_only"


def test_name_and_birth_date_join_the_single_token_subject():
    v = _variants(
        [
            ("k1", "person", "wei zhang", "1980-01-02", "CN-RIC", "tokA", "CN"),
            ("k2", "person", "wei zhang", "1980-01-02", None, None, "CN"),
            ("k3", "person", "wei zhang", "1980-02-01", None, None, "CN"),
        ]
    )
    out = linking.cluster_variants(v).set_index("identity_key")
    assert out.loc["k2", "cluster_key"] == out.loc["k1", "cluster_key"]
    assert out.loc["k2", "method"] == "name_dob"
    assert out.loc["k3", "cluster_key"] != out.loc["k1", "cluster_key"]


def test_organisations_need_name_and_postcode():
    cols = ["identity_key", "subject_kind", "name_key", "date_of_birth", "national_id_scheme",
            "national_id_token", "country", "postcode"]  # fmt: skip
    v = pd.DataFrame(
        [
            ("k1", "organisation", "sun trading", None, None, None, "IN", "400001"),
            ("k2", "organisation", "sun trading", None, None, None, "IN", "400001"),
            ("k3", "organisation", "sun trading", None, None, None, "IN", "560001"),
            ("k4", "organisation", "sun trading", None, None, None, "IN", None),
        ],
        columns=cols,
    )
    out = linking.cluster_variants(v).set_index("identity_key")["cluster_key"]
    assert out["k1"] == out["k2"]
    assert len({out["k1"], out["k3"], out["k4"]}) == 3


def test_subject_ids_are_stable_and_merges_redirect():
    secret = b"s"
    first = _variants([("k2", "person", "wei zhang", "1980-01-02", None, None, "CN")])
    c1 = linking.cluster_variants(first)
    keys1 = linking.cluster_keys(c1)
    a1, m1 = linking.assign_subjects(keys1, pd.DataFrame(columns=["key", "subject_id"]), secret)
    existing = keys1.merge(a1, on="cluster_key")[["key", "subject_id"]]
    old_id = a1["subject_id"].iloc[0]
    assert m1.empty

    # Later a bank furnishes the same person with a national ID: the old subject is kept as
    # the survivor (its key is known), so the id a person was given does not change.
    second = _variants(
        [
            ("k1", "person", "wei zhang", "1980-01-02", "CN-RIC", "tokA", "CN"),
            ("k2", "person", "wei zhang", "1980-01-02", None, None, "CN"),
        ]
    )
    c2 = linking.cluster_variants(second)
    a2, m2 = linking.assign_subjects(linking.cluster_keys(c2), existing, secret)
    assert a2["subject_id"].tolist() == [old_id]
    assert m2.empty


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["wei zhang", "li na", "amit shah"]),
            st.sampled_from(["1980-01-02", "1980-02-01", "1990-05-05"]),
            st.sampled_from([None, "tokA", "tokB", "tokC"]),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_no_cluster_holds_two_tokens(rows):
    v = _variants(
        [
            (f"k{i}", "person", n, d, "CN-RIC" if t else None, t, "CN")
            for i, (n, d, t) in enumerate(rows)
        ]
    )
    out = linking.cluster_variants(v)
    tokens_per_cluster = (
        out.dropna(subset=["national_id_token"])
        .groupby("cluster_key")["national_id_token"]
        .nunique()
    )
    assert (tokens_per_cluster <= 1).all()
    # A variant without an ID joins a cluster only with a date of birth some ID holder there has.
    for _, cluster in out.groupby("cluster_key"):
        with_id = set(cluster.loc[cluster["national_id_token"].notna(), "date_of_birth"])
        without_id = set(cluster.loc[cluster["national_id_token"].isna(), "date_of_birth"])
        assert not with_id or without_id <= with_id


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["wei zhang", "li na"]),
            st.sampled_from(["1980-01-02", "1990-05-05"]),
            st.sampled_from([None, "tokA", "tokB"]),
        ),
        min_size=1,
        max_size=20,
    )
)
def test_every_key_belongs_to_one_cluster(rows):
    v = _variants(
        [
            (f"k{i}", "person", n, d, "CN-RIC" if t else None, t, "CN")
            for i, (n, d, t) in enumerate(rows)
        ]
    )
    keys = linking.cluster_keys(linking.cluster_variants(v))
    assert not keys["key"].duplicated().any()


def test_id_less_variants_join_only_at_the_same_postcode():
    cols = ["identity_key", "subject_kind", "name_key", "date_of_birth", "national_id_scheme",
            "national_id_token", "country", "postcode"]  # fmt: skip
    v = pd.DataFrame(
        [
            ("k1", "person", "wei zhang", "1980-01-02", None, None, "CN", "100000"),
            ("k2", "person", "wei zhang", "1980-01-02", None, None, "CN", "100000"),
            ("k3", "person", "wei zhang", "1980-01-02", None, None, "IN", "560001"),
            ("k4", "person", "wei zhang", "1980-01-02", None, None, "CN", None),
        ],
        columns=cols,
    )
    out = linking.cluster_variants(v).set_index("identity_key")
    assert out.loc["k1", "cluster_key"] == out.loc["k2", "cluster_key"]
    assert len({out.loc[k, "cluster_key"] for k in ("k1", "k3", "k4")}) == 3
    assert out.loc["k4", "method"] == "identity_only"


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["wei zhang", "li na"]),
            st.sampled_from(["1980-01-02", "1990-05-05"]),
            st.sampled_from([None, "tokA", "tokB"]),
            st.sampled_from(["100000", "560001", None]),
        ),
        min_size=1,
        max_size=25,
    )
)
def test_an_id_less_cluster_never_spans_two_addresses(rows):
    cols = ["identity_key", "subject_kind", "name_key", "date_of_birth", "national_id_scheme",
            "national_id_token", "country", "postcode"]  # fmt: skip
    v = pd.DataFrame(
        [
            (f"k{i}", "person", n, d, "CN-RIC" if t else None, t, "CN", pc)
            for i, (n, d, t, pc) in enumerate(rows)
        ],
        columns=cols,
    )
    out = linking.cluster_variants(v)
    for _, cluster in out.groupby("cluster_key"):
        if cluster["national_id_token"].isna().all() and len(cluster) > 1:
            assert cluster["postcode"].nunique(dropna=False) == 1
            assert cluster["name_key"].nunique() == 1
            assert cluster["date_of_birth"].nunique() == 1
