import duckdb
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openbureau.identity import jobs, linker, linking, names, quality, rules

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
        ("Coromandel Traders P Ltd", "Coromandel Traders Pvt. Ltd."),
        ("Bharat Logistics L.L.P.", "Bharat Logistics LLP"),
    ],
)
def test_org_legal_forms_are_ignored(a, b):
    assert rules.org_name_key(a) == rules.org_name_key(b)


def test_name_order_is_ignored():
    assert rules.person_name_key("Wei", "Zhang") == rules.person_name_key("Zhang", "Wei")


# --- the mixed-file guard ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "ok"),
    [
        ("1980-03-04", "1980-03-04", True),
        ("1980-03-04", None, True),
        (None, None, True),
        ("1980-03-04", "1980-04-03", True),  # day and month exchanged
        ("1980-03-04", "1980-03-05", True),  # one digit
        ("1980-03-14", "1980-03-41", True),  # two adjacent digits exchanged
        ("1980-03-04", "1981-04-03", False),  # swap and another change
        ("1980-03-04", "1980-03-15", False),  # two digits apart
        ("1980-03-04", "1990-04-03", False),
        ("1980-03-04", "1908-03-04", True),  # adjacent transposition in the year
        ("1980-03-04", "1980-3-4", False),  # not ISO: no guess
    ],
)
def test_dates_of_birth_compatible(a, b, ok):
    assert rules.dobs_compatible(a, b) is ok
    assert rules.dobs_compatible(b, a) is ok


DOBS = st.sampled_from([None, "1980-03-04", "1980-04-03", "1980-03-05", "1975-11-30", "1991-01-12"])
TOKENS = st.sampled_from([{}, {"CN-RIC": "a"}, {"CN-RIC": "b"}, {"IN-PAN": "p"}, {"IN-PAN": "q"}])


@given(
    nodes=st.lists(st.tuples(TOKENS, DOBS), min_size=1, max_size=12),
    raw_edges=st.lists(
        st.tuples(st.integers(0, 11), st.integers(0, 11), st.floats(0.5, 1.0)), max_size=40
    ),
    cannot=st.lists(st.tuples(st.integers(0, 11), st.integers(0, 11)), max_size=4),
)
@settings(max_examples=300, deadline=None)
def test_no_cluster_is_ever_a_mixed_file(nodes, raw_edges, cannot):
    """Whatever the scores: no cluster holds two IDs of one scheme, two birth dates no typo or
    swap explains, or a pair an operator called different."""
    n = len(nodes)
    edges = [(i % n, j % n, p) for i, j, p in raw_edges if i % n != j % n]
    cl = {tuple(sorted((i % n, j % n))) for i, j in cannot if i % n != j % n}
    labels = rules.guarded_clusters([t for t, _ in nodes], [d for _, d in nodes], edges, cl)
    for label in set(labels):
        members = [k for k in range(n) if labels[k] == label]
        schemes: dict[str, set[str]] = {}
        for k in members:
            for s, t in nodes[k][0].items():
                schemes.setdefault(s, set()).add(t)
        assert all(len(v) == 1 for v in schemes.values())
        births = [nodes[k][1] for k in members]
        assert all(rules.dobs_compatible(x, y) for x in births for y in births)
        assert not any(a in members and b in members for a, b in cl)


def test_the_strongest_link_wins_a_conflict():
    # 0 and 2 hold different IDs; 1 is between them, closer to 2
    labels = rules.guarded_clusters(
        [{"CN-RIC": "a"}, {}, {"CN-RIC": "b"}], [None, None, None], [(0, 1, 0.96), (1, 2, 0.99)]
    )
    assert labels == [0, 1, 1]


def test_compatible_links_join_transitively():
    labels = rules.guarded_clusters(
        [{"CN-RIC": "a"}, {}, {"IN-PAN": "p"}],
        ["1980-03-04", "1980-04-03", None],
        [(0, 1, 0.99), (1, 2, 0.97)],
    )
    assert labels == [0, 0, 0]


# --- names -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "country"),
    [
        ("Hsiao-ming", "Xiaoming", "CN"),
        ("Chang", "Zhang", "CN"),
        ("Hsu", "Xu", "CN"),
        ("Sreenivas", "Srinivas", "IN"),
        ("Shrinivas", "Srinivas", "IN"),
        ("Laxmi", "Lakshmi", "IN"),
        ("Kavitha", "Kavita", "IN"),
        ("Yousuf", "Yusuf", "IN"),
        ("Chatterjee", "Chatterji", "IN"),
        ("Pillay", "Pillai", "IN"),
        ("Geetha", "Gita", "IN"),
    ],
)
def test_spelling_variants_share_a_canonical_form(a, b, country):
    assert names.canonical_part(rules.fold(a), country) == names.canonical_part(
        rules.fold(b), country
    )


@pytest.mark.parametrize(
    ("a", "b", "country"),
    [("Wang", "Wong", "IN"), ("Xu", "Ksu", "CN"), ("Anand", "Arun", "IN"), ("Li", "Lu", "CN")],
)
def test_different_names_stay_different(a, b, country):
    assert names.canonical_part(rules.fold(a), country) != names.canonical_part(
        rules.fold(b), country
    )


def test_canonical_names_ignore_order_and_city_aliases():
    frame = pd.DataFrame(
        {
            "subject_kind": ["person", "person", "organisation"],
            "given_f": ["hsiao ming", "zhang", None],
            "family_f": ["chang", "xiaoming", None],
            "country": ["CN", "CN", "IN"],
            "name_key": ["chang hsiao ming", "xiaoming zhang", "konkan foods"],
            "city": ["peking", "beijing", "calcutta"],
        }
    )
    out = linker.add_canonical_names(frame)
    assert out["name_canon"].tolist() == ["xiaoming zhang", "xiaoming zhang", "konkan foods"]
    assert out["city"].tolist() == ["beijing", "beijing", "kolkata"]


# --- stable subject ids ------------------------------------------------------------------

SECRET = b"k" * 32


def test_ids_survive_a_relink_and_merges_redirect():
    clusters = pd.Series({"v1": "v1", "v2": "v1", "v3": "v1", "v4": "v4"})
    previous = pd.Series({"v1": "S-A", "v2": "S-A", "v3": "S-B"})
    subject, merges, splits = linking.assign_subjects(clusters, previous, SECRET)
    assert subject[["v1", "v2", "v3"]].tolist() == ["S-A"] * 3
    assert merges.to_dict("records") == [{"old": "S-B", "survivor": "S-A"}]
    assert splits.empty
    assert subject["v4"] == linking.subject_id_for(SECRET, "v4")


def test_a_split_keeps_the_id_in_the_larger_part():
    clusters = pd.Series({"v1": "v1", "v2": "v1", "v3": "v3"})
    previous = pd.Series({"v1": "S-A", "v2": "S-A", "v3": "S-A"})
    subject, merges, splits = linking.assign_subjects(clusters, previous, SECRET)
    assert subject[["v1", "v2"]].tolist() == ["S-A", "S-A"]
    assert subject["v3"] == linking.subject_id_for(SECRET, "v3")
    assert splits.to_dict("records") == [{"old": "S-A", "new": subject["v3"]}]
    assert merges.empty


def test_guard_drops_conflicting_pairs():
    variants = pd.DataFrame(
        {
            "national_id_scheme": ["CN-RIC", "CN-RIC", None, "IN-PAN"],
            "id_key": ["CN-RIC:a", "CN-RIC:b", None, "IN-PAN:p"],
            "dob": ["1980-03-04", "1980-03-04", "1990-01-01", "1980-04-03"],
        },
        index=["v1", "v2", "v3", "v4"],
    )
    pairs = pd.DataFrame(
        {
            "identity_key_l": ["v1", "v1", "v1", "v2"],
            "identity_key_r": ["v2", "v3", "v4", "v4"],
            "match_probability": [0.99, 0.99, 0.99, 0.99],
        }
    )
    kept = linking.guard_pairs(pairs, variants, {("v2", "v4")})
    assert list(zip(kept["identity_key_l"], kept["identity_key_r"], strict=True)) == [("v1", "v4")]


# --- quality -----------------------------------------------------------------------------


def test_quality_counts_record_pairs():
    # subject A holds 3 records of t1 and 1 of t2; subject B holds 2 of t1
    frame = pd.DataFrame(
        {"subject_id": ["A", "A", "B"], "true_id": ["t1", "t2", "t1"], "n": [3, 1, 2]}
    )
    q = quality.linkage_quality(frame)
    # predicted pairs: C(4,2)+C(2,2)=7; true: C(5,2)=10; both: C(3,2)+C(2,2)=4
    assert (q.precision, q.recall) == (round(4 / 7, 6), 0.4)
    assert (q.mixed_file_rate, q.split_rate) == (0.5, 0.5)


def test_a_chain_between_two_ids_is_cut_at_its_weakest_link():
    variants = pd.DataFrame(
        {
            "national_id_scheme": ["CN-RIC", None, "CN-RIC", None, None],
            "id_key": ["CN-RIC:a", None, "CN-RIC:b", None, None],
            "dob": [None, None, None, "1980-03-04", "1980-04-03"],
        },
        index=["v1", "v2", "v3", "v4", "v5"],
    )
    links = pd.DataFrame(
        {
            "identity_key_l": ["v1", "v2", "v4"],
            "identity_key_r": ["v2", "v3", "v5"],
            "match_probability": [0.97, 0.99, 0.96],
        }
    )
    labels = linking.cluster(variants, links)
    assert labels.to_dict() == {"v1": "v1", "v2": "v2", "v3": "v2", "v4": "v4", "v5": "v4"}
    # an operator's "different" splits even a clean component
    labels = linking.cluster(variants, links, {("v4", "v5")})
    assert labels["v4"] != labels["v5"]
