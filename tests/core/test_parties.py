import datetime as dt

import pytest
from sqlalchemy import select

from tests.conftest import NOW, count
from vcollege.core.models import AuditEntry, ComplianceCase, ComplianceProcedure, Party
from vcollege.core.parties import (
    PriorityCategory,
    end_compliance_case,
    get_party,
    is_ldc,
    list_standings,
    load_parties,
    load_parties_file,
    open_compliance_case,
    priority_categories,
    read_parties_file,
    shipped_parties_file,
)
from vcollege.core.permissions import Actor
from vcollege.errors import Conflict, Forbidden, InvalidInput, NotFound

HEADER = "iso2,iso3,name,cites_region,entry_into_force,ldc,lldc,sids,ldc_graduation\n"


def test_shipped_file_has_185_parties_with_the_known_counts():
    rows = read_parties_file(shipped_parties_file())
    assert len(rows) == 185
    assert sum(r["ldc_listed"] for r in rows) == 39
    assert sum(r["lldc"] for r in rows) == 31
    assert sum(r["sids"] for r in rows) == 31
    by_code = {r["iso2"]: r for r in rows}
    assert by_code["NA"]["name"] == "Namibia"  # not read as a missing value
    assert by_code["EU"]["iso3"] is None
    assert by_code["TM"]["entry_into_force"] == dt.date(2025, 1, 2)


def test_loaded_parties_are_all_there(session):
    assert count(session, Party) == 185
    assert get_party(session, "na").name == "Namibia"


def test_load_is_idempotent(session, operator):
    result = load_parties_file(session, None, actor=operator, now=NOW)
    assert (result.added, result.updated, result.unchanged) == (0, 0, 185)


def test_load_updates_changed_facts_and_audits_them(session, operator):
    rows = read_parties_file(shipped_parties_file())
    for row in rows:
        if row["iso2"] == "SB":
            row["ldc_graduation"] = dt.date(2028, 1, 1)
    result = load_parties(session, rows, actor=operator, now=NOW)
    assert (result.added, result.updated) == (0, 1)
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "party.updated"))
    assert entry.detail == {"ldc_graduation": ["2027-12-13", "2028-01-01"]}
    summary = session.scalar(select(AuditEntry).where(AuditEntry.action == "parties.loaded").order_by(AuditEntry.id.desc()))
    assert summary.detail == {"added": 0, "updated": 1, "unchanged": 184}


@pytest.mark.parametrize(
    ("text", "where", "field"),
    [
        (HEADER + "KE,KEN,Kenya,Africa,1979-03-13,0,0,0,\nXX,XXX,Nowhere,Atlantis,1990-01-01,0,0,0,\n", "line 3", "cites_region"),
        (HEADER + "KE,KEN,Kenya,Africa,13/03/1979,0,0,0,\n", "line 2", "entry_into_force"),
        (HEADER + "KE,KEN,Kenya,Africa,1979-03-13,2,0,0,\n", "line 2", "ldc"),
        (HEADER + "ke,KEN,Kenya,Africa,1979-03-13,0,0,0,\n", "line 2", "iso2"),
        (HEADER + "KE,KEN,Kenya,Africa,1979-03-13,0,0,0,\nKE,KEN,Kenya,Africa,1979-03-13,0,0,0,\n", "line 3", "iso2"),
    ],
)
def test_bad_rows_are_named_by_line_and_field(text, where, field):
    with pytest.raises(InvalidInput) as caught:
        read_parties_file(text)
    assert field in caught.value.errors[where]
    assert where in caught.value.detail


def test_missing_column_is_refused():
    with pytest.raises(InvalidInput) as caught:
        read_parties_file("iso2,name\nKE,Kenya\n")
    assert "cites_region" in caught.value.detail


def test_a_bad_file_writes_nothing(session, operator, tmp_path):
    path = tmp_path / "parties.csv"
    path.write_text(HEADER + "ZZ,ZZZ,Zedland,Africa,2020-01-01,0,0,0,\nYY,YYY,Yland,Africa,not-a-date,0,0,0,\n")
    before = count(session, AuditEntry)
    with pytest.raises(InvalidInput):
        load_parties_file(session, path, actor=operator, now=NOW)
    assert session.scalar(select(Party).where(Party.iso2 == "ZZ")) is None
    assert count(session, AuditEntry) == before


def test_loading_needs_the_permission(session):
    with pytest.raises(Forbidden):
        load_parties(session, [], actor=Actor.anonymous(), now=NOW)


def test_ldc_status_follows_graduation_dates(session):
    bangladesh = get_party(session, "BD")
    assert is_ldc(bangladesh, dt.date(2026, 11, 23))
    assert not is_ldc(bangladesh, dt.date(2026, 11, 24))
    bhutan = get_party(session, "BT")  # graduated in 2023, ldc=0 in the July 2026 list
    assert is_ldc(bhutan, dt.date(2023, 12, 12))
    assert not is_ldc(bhutan, dt.date(2024, 1, 1))
    assert is_ldc(get_party(session, "SB"), dt.date(2026, 11, 28))  # graduates in 2027
    assert not is_ldc(get_party(session, "KE"), dt.date(2026, 11, 28))


def test_recently_acceded_is_computed_for_the_day_and_window(session):
    andorra = get_party(session, "AD")  # in force 2022-01-04
    assert PriorityCategory.RECENTLY_ACCEDED in priority_categories(andorra, dt.date(2026, 11, 28), 5)
    assert PriorityCategory.RECENTLY_ACCEDED not in priority_categories(andorra, dt.date(2027, 1, 5), 5)
    assert PriorityCategory.RECENTLY_ACCEDED in priority_categories(andorra, dt.date(2027, 1, 5), 10)
    # before entry into force it was not a Party at all
    assert PriorityCategory.RECENTLY_ACCEDED not in priority_categories(andorra, dt.date(2021, 12, 31), 5)
    turkmenistan = get_party(session, "TM")
    assert priority_categories(turkmenistan, dt.date(2026, 11, 28), 5) == [
        PriorityCategory.RECENTLY_ACCEDED, PriorityCategory.LLDC,
    ]


def test_categories_in_fixed_order(session):
    afghanistan = get_party(session, "AF")
    assert priority_categories(afghanistan, dt.date(2026, 11, 28), 5) == [PriorityCategory.LDC, PriorityCategory.LLDC]


def test_list_filters_by_category_region_and_name(session):
    day = dt.date(2026, 11, 28)
    sids = list_standings(session, on=day, window_years=5, category="sids")
    assert len(sids) == 31
    ldc_before = list_standings(session, on=dt.date(2026, 11, 1), window_years=5, category="ldc")
    ldc_after = list_standings(session, on=day, window_years=5, category="ldc")
    assert {"BD", "LA", "NP"} <= {s.iso2 for s in ldc_before}
    assert not {"BD", "LA", "NP"} & {s.iso2 for s in ldc_after}
    assert len(ldc_before) - len(ldc_after) == 3
    oceania = list_standings(session, on=day, window_years=5, region="Oceania")
    assert len(oceania) == 9
    assert [s.iso2 for s in list_standings(session, on=day, window_years=5, q="nami")] == ["NA"]


def test_compliance_case_opens_and_ends_with_audit(session, operator):
    kenya = get_party(session, "KE")
    case = open_compliance_case(
        session, kenya, procedure=ComplianceProcedure.ARTICLE_XIII, started_on=dt.date(2026, 3, 1),
        reference="SC78 Doc. 1", note="Recommendation to suspend trade", actor=operator, now=NOW,
    )
    day = dt.date(2026, 11, 28)
    assert [s.iso2 for s in list_standings(session, on=day, window_years=5, category="compliance")] == ["KE"]
    end_compliance_case(session, case, ended_on=dt.date(2026, 11, 1), reason="Recommendation withdrawn", actor=operator, now=NOW)
    assert list_standings(session, on=day, window_years=5, category="compliance") == []
    assert [s.iso2 for s in list_standings(session, on=dt.date(2026, 6, 1), window_years=5, category="compliance")] == ["KE"]
    actions = session.scalars(
        select(AuditEntry.action).where(AuditEntry.target_id == str(kenya.id)).order_by(AuditEntry.id)
    ).all()
    assert actions == ["party.compliance_opened", "party.compliance_ended"]


def test_compliance_refusals(session, operator, make_staff):
    from vcollege.core.models import Role

    kenya = get_party(session, "KE")
    trainer = Actor.for_person(make_staff(Role.TRAINER))
    with pytest.raises(Forbidden):
        open_compliance_case(session, kenya, procedure=ComplianceProcedure.OTHER, started_on=dt.date(2026, 1, 1),
                             reference=None, note=None, actor=trainer, now=NOW)
    with pytest.raises(InvalidInput) as caught:
        open_compliance_case(session, kenya, procedure=ComplianceProcedure.OTHER, started_on=dt.date(2027, 1, 1),
                             reference=None, note=None, actor=operator, now=NOW)
    assert "started_on" in caught.value.errors
    open_compliance_case(session, kenya, procedure=ComplianceProcedure.OTHER, started_on=dt.date(2026, 1, 1),
                         reference=None, note=None, actor=operator, now=NOW)
    with pytest.raises(Conflict):
        open_compliance_case(session, kenya, procedure=ComplianceProcedure.OTHER, started_on=dt.date(2026, 2, 1),
                             reference=None, note=None, actor=operator, now=NOW)
    assert count(session, ComplianceCase) == 1
    case = session.scalar(select(ComplianceCase))
    with pytest.raises(InvalidInput):
        end_compliance_case(session, case, ended_on=dt.date(2025, 1, 1), reason="typo", actor=operator, now=NOW)
    assert case.ended_on is None


def test_unknown_party_is_not_found(session):
    with pytest.raises(NotFound):
        get_party(session, "QQ")
