"""Joint proposals: similar proposals across businesses, merged by a planner, dismissed, undone (both databases)."""
from __future__ import annotations

import json
import re

import pytest

from participation.models import SessionStatus
from tests.conftest import app_db, post_form
from tests.hostile import corpus_for, is_server_error

SIMILAR = [
    {"business": "owner", "title": "Pelatihan pemasaran digital untuk UMKM kuliner",
     "description": "Kelas tiga hari tentang foto produk, media sosial dan toko daring untuk warung makan.",
     "estimated_cost": 30_000_000, "beneficiaries": 20, "jobs_created": 2},
    {"business": {"nib": "2222222222222", "name": "Batik Sekar"},
     "title": "Pelatihan Pemasaran Digital bagi UMKM Kuliner",
     "description": "Kelas tiga hari tentang foto produk, media sosial dan toko daring untuk warung makan",
     "estimated_cost": 45_000_000, "beneficiaries": 15, "jobs_created": 1},
    {"business": {"nib": "3333333333333", "name": "Saluran Jaya"}, "title": "Perbaikan saluran air pasar tradisional",
     "description": "Saluran di sisi timur pasar tersumbat dan meluap setiap hujan.", "estimated_cost": 80_000_000},
]
THIRD = {"title": "UMKM kuliner: pelatihan pemasaran digital",
         "description": "Kelas tiga hari tentang foto produk, media sosial, dan toko daring bagi warung makan.",
         "estimated_cost": 35_000_000, "beneficiaries": 10, "jobs_created": 3}


@pytest.fixture
def world(app, make_world, make_user, login_as):
    """Under review, rated: three near-duplicates of three businesses (two owners with accounts), one other."""
    from participation.extensions import db
    from participation.models import ThemedSession, User
    from tests.factories import make_proposal, rate

    second_owner = make_user("proponent", business={"name": "Dapur Rasa"})
    world = make_world(owner=True, rated=4, proposals=SIMILAR, status=SessionStatus.REVIEW)
    with app.app_context():
        themed_session = db.session.get(ThemedSession, world.session)
        themed_session.status = SessionStatus.OPEN
        third = make_proposal(themed_session, db.session.get(User, second_owner).business,
                              category_id=world.categories[0], **THIRD)
        rate([third], [db.session.get(User, world.planner)])
        themed_session.status = SessionStatus.REVIEW
        db.session.commit()
        ids = {"owner_original": world.proposals[0], "other": world.proposals[1], "unrelated": world.proposals[2],
               "second_original": third.id, "second_owner": second_owner}
    login_as(world.planner)
    return world, ids


def similar_ids(world, ids):
    return sorted([ids["owner_original"], ids["other"], ids["second_original"]])


def key_of(proposal_ids) -> str:
    return "-".join(str(i) for i in sorted(proposal_ids))


def columns(app, proposal_ids) -> dict:
    """Every column of each proposal, read afresh from the database."""
    from participation.models import Proposal

    with app_db(app) as session:
        return {pid: {column.key: getattr(session.get(Proposal, pid), column.key)
                      for column in Proposal.__table__.columns} for pid in proposal_ids}


def ranked_receipts(client, world) -> set[str]:
    payload = json.loads(client.get(f"/sesi/{world.session}/peringkat.json").data)
    return {line["receipt_number"] for line in payload["proposals"]}


def receipts_of(app, proposal_ids) -> list[str]:
    from participation.models import Proposal

    with app_db(app) as session:
        return [session.get(Proposal, pid).receipt_number for pid in proposal_ids]


def notices(app, kind: str) -> list[tuple[int, int]]:
    """(user id, original proposal id) of the in-app rows of `kind`."""
    from participation.models import Notification, NotificationChannel

    with app_db(app) as session:
        rows = session.scalars(session.query(Notification).filter_by(kind=kind, channel=NotificationChannel.IN_APP)
                               .order_by(Notification.id).statement).all()
        return sorted((row.user_id, row.payload["proposal_id"]) for row in rows)


def merge_form(**overrides) -> dict:
    data = {"title": "Pelatihan pemasaran digital bersama untuk UMKM kuliner",
            "description": "Kelas bersama tiga hari untuk warung makan dari tiga usaha.",
            "category_id": "", "estimated_cost": "60.000.000", "beneficiaries": "45", "jobs_created": "6"}
    data.update(overrides)
    return data


def post_merge(client, world, proposal_ids, **overrides):
    path = f"/sesi/{world.session}/usulan-serupa/{key_of(proposal_ids)}/gabung"
    data = merge_form(category_id=str(world.categories[1]), **overrides)
    data.setdefault("members", [str(pid) for pid in proposal_ids])
    return post_form(client, path, data)


def joint_id_from(response) -> int:
    assert response.status_code == 303, response.get_data(as_text=True)[:3000]
    return int(re.search(r"/usulan/(\d+)$", response.headers["Location"]).group(1))


def test_the_page_lists_near_duplicates_across_businesses(app, client, world):
    world, ids = world
    page = client.get(f"/sesi/{world.session}/peringkat").get_data(as_text=True)
    assert f'href="/sesi/{world.session}/usulan-serupa"' in page  # linked from the ranked list
    response = client.get(f"/sesi/{world.session}/usulan-serupa")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Usulan serupa" in page
    cluster = re.search(r'data-cluster="([\d-]+)"(.*?)</table>', page, re.S)
    assert cluster.group(1) == key_of(similar_ids(world, ids))
    body = cluster.group(2)
    for receipt in receipts_of(app, similar_ids(world, ids)):
        assert receipt in body
    for shown in ("Batik Sekar", "Dapur Rasa", "Rp30.000.000", "Rp45.000.000", "Kelas tiga hari tentang foto"):
        assert shown in body
    assert re.search(r"\b(9\d|100) %", body)  # the similarity to the first proposal, in per cent
    assert receipts_of(app, [ids["unrelated"]])[0] not in body
    assert "3 usulan dari 3 usaha" in page


def test_merging_and_undoing_leave_every_original_intact(app, client, world):
    from participation.models import AuditEvent, Proposal, ProposalStatus
    from tests.factories import rate

    world, ids = world
    originals = similar_ids(world, ids)
    before = columns(app, originals + [ids["unrelated"]])
    original_receipts = set(receipts_of(app, originals))
    assert original_receipts <= ranked_receipts(client, world)

    form_page = client.get(f"/sesi/{world.session}/usulan-serupa/{key_of(originals)}/gabung").get_data(as_text=True)
    assert 'value="Pelatihan pemasaran digital untuk UMKM kuliner"' in form_page  # prefilled from the first
    assert 'value="45"' in form_page  # beneficiaries added up: 20 + 15 + 10
    joint_id = joint_id_from(post_merge(client, world, originals))

    with app_db(app) as session:
        joint = session.get(Proposal, joint_id)
        assert joint.status is ProposalStatus.SUBMITTED and re.fullmatch(r"MT-2027-\d{4}", joint.receipt_number)
        assert joint.receipt_number not in original_receipts
        assert (joint.title, joint.estimated_cost, joint.beneficiaries, joint.category_id) == (
            "Pelatihan pemasaran digital bersama untuk UMKM kuliner", 60_000_000, 45, world.categories[1])
        assert sorted(row.original_id for row in joint.co_proposers) == originals
        assert {row.business.name for row in joint.co_proposers} >= {"Batik Sekar", "Dapur Rasa"}
        assert all(session.get(Proposal, pid).merged_into_id == joint_id for pid in originals)
        joint_receipt = joint.receipt_number
        merged = session.scalars(session.query(AuditEvent).filter_by(action="proposal.merged").statement).one()
        assert merged.actor_id == world.planner and sorted(merged.after["original_ids"]) == originals
        rate([joint], [session.get(type(joint.submitted_by), world.planner)])
        session.commit()
    ranked = ranked_receipts(client, world)
    assert joint_receipt in ranked and not (original_receipts & ranked)
    payload = json.loads(client.get(f"/sesi/{world.session}/peringkat.json").data)
    assert next(line for line in payload["proposals"] if line["receipt_number"] == joint_receipt)["rank"] is not None
    owners = {world.owner: ids["owner_original"], ids["second_owner"]: ids["second_original"]}
    assert notices(app, "proposal_merged") == sorted(owners.items())
    after_merge = columns(app, originals)
    for pid in originals:
        assert {k: v for k, v in after_merge[pid].items() if k != "merged_into_id"} == \
               {k: v for k, v in before[pid].items() if k != "merged_into_id"}
    # The cluster is gone from the suggestions; the joint proposal is listed with its undo button.
    page = client.get(f"/sesi/{world.session}/usulan-serupa").get_data(as_text=True)
    assert "data-cluster=" not in page and f'data-joint="{joint_receipt}"' in page

    response = post_form(client, f"/sesi/{world.session}/usulan-gabungan/{joint_id}/batalkan", {},
                         token_from=f"/sesi/{world.session}/usulan-serupa")
    assert response.status_code == 303
    assert columns(app, originals + [ids["unrelated"]]) == before
    with app_db(app) as session:
        assert session.get(Proposal, joint_id).status is ProposalStatus.WITHDRAWN
        assert session.scalars(session.query(AuditEvent).filter_by(action="proposal.merge_undone").statement).one()
    ranked = ranked_receipts(client, world)
    assert original_receipts <= ranked and joint_receipt not in ranked
    assert notices(app, "proposal_merge_undone") == sorted(owners.items())
    page = client.get(f"/sesi/{world.session}/usulan-serupa").get_data(as_text=True)
    assert f'data-cluster="{key_of(originals)}"' in page  # suggested again


def test_the_owner_reads_merged_into_and_opens_the_joint_proposal(app, client, world, login_as):
    world, ids = world
    joint_id = joint_id_from(post_merge(client, world, similar_ids(world, ids)))
    joint_receipt = receipts_of(app, [joint_id])[0]
    post_form(client, "/keluar", {}, token_from="/")
    login_as(ids["second_owner"])
    page = client.get(f"/usulan/{ids['second_original']}").get_data(as_text=True)
    assert f"Digabung ke {joint_receipt}" in page
    assert f'href="/usulan/{joint_id}"' in page
    assert "Tarik" not in re.sub(r"<title>.*?</title>", "", page, flags=re.S)  # no withdraw button any more
    joint_page = client.get(f"/usulan/{joint_id}")
    assert joint_page.status_code == 200 and "Dapur Rasa" in joint_page.get_data(as_text=True)
    # The other business's original stays private to its owner.
    assert client.get(f"/usulan/{ids['other']}").status_code == 404
    refused = post_form(client, f"/usulan/{ids['second_original']}/tarik", {},
                        token_from=f"/usulan/{ids['second_original']}")
    assert refused.status_code == 303
    assert "digabung" in client.get(refused.headers["Location"]).get_data(as_text=True).lower()


def test_dismissing_hides_the_cluster(app, client, world):
    from participation.models import AuditEvent, DismissedCluster

    world, ids = world
    originals = similar_ids(world, ids)
    response = post_form(client, f"/sesi/{world.session}/usulan-serupa/{key_of(originals)}/abaikan", {},
                         token_from=f"/sesi/{world.session}/usulan-serupa")
    assert response.status_code == 303
    page = client.get(f"/sesi/{world.session}/usulan-serupa").get_data(as_text=True)
    assert "data-cluster=" not in page and "Tidak ada usulan serupa" in page
    with app_db(app) as session:
        assert session.scalars(session.query(DismissedCluster).statement).one().ids == frozenset(originals)
        assert session.scalars(session.query(AuditEvent).filter_by(action="cluster.dismissed").statement).one()


def test_merge_and_undo_are_refused_after_finalisation(app, client, world):
    from participation.extensions import db
    from participation.models import Proposal, ThemedSession

    world, ids = world
    originals = similar_ids(world, ids)
    joint_id = joint_id_from(post_merge(client, world, originals[:2]))
    with app.app_context():
        db.session.get(ThemedSession, world.session).status = SessionStatus.FINALIZED
        db.session.commit()
    before = columns(app, originals + [joint_id])
    response = post_merge(client, world, originals[1:])
    assert response.status_code == 400
    assert "Sesi sudah difinalisasi" in response.get_data(as_text=True)
    response = post_form(client, f"/sesi/{world.session}/usulan-gabungan/{joint_id}/batalkan", {},
                         token_from=f"/sesi/{world.session}/usulan-serupa")
    assert response.status_code == 303
    assert "Sesi sudah difinalisasi" in client.get(response.headers["Location"]).get_data(as_text=True)
    assert columns(app, originals + [joint_id]) == before
    with app_db(app) as session:
        assert session.scalar(db.select(db.func.count(Proposal.id)).where(Proposal.session_id == world.session)) == 5


def test_the_form_rerenders_with_what_was_typed(app, client, world):
    from participation.models import Proposal

    world, ids = world
    originals = similar_ids(world, ids)
    response = post_merge(client, world, originals, title="", estimated_cost="enam puluh juta",
                          description="Deskripsi yang diketik perencana.", members=[str(originals[0])])
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Deskripsi yang diketik perencana." in page and 'value="enam puluh juta"' in page
    for message in ("Isi judul.", "Centang sekurang-kurangnya dua usulan untuk digabung."):
        assert message in page
    with app_db(app) as session:
        assert session.query(Proposal).count() == 4  # no joint proposal was made


def test_hostile_input_in_the_merge_form(app, client, world):
    from participation.models import Proposal

    world, ids = world
    originals = similar_ids(world, ids)
    for label, payload in corpus_for(app).items():
        for name in ("title", "description", "estimated_cost", "beneficiaries"):
            response = post_merge(client, world, originals, **{name: payload})
            assert not is_server_error(response), (label, name)
            assert response.status_code in (303, 400), (label, name)
            if response.status_code == 400:
                assert "Mohon perbaiki" in response.get_data(as_text=True), (label, name)
                continue
            joint_id = joint_id_from(response)
            page = client.get(f"/usulan/{joint_id}").get_data(as_text=True)
            heading = re.search(r"<h1.*?</h1>", page, re.S).group(0)
            assert "<script>" not in heading and "<img" not in heading and "49" not in heading, (label, name)
            undo = post_form(client, f"/sesi/{world.session}/usulan-gabungan/{joint_id}/batalkan", {},
                             token_from=f"/sesi/{world.session}/usulan-serupa")
            assert undo.status_code == 303, (label, name)
            with app_db(app) as session:
                assert all(session.get(Proposal, pid).merged_into_id is None for pid in originals), (label, name)


def test_every_co_proposer_hears_the_joint_proposals_outcome(app, client, world):
    from participation.extensions import db
    from participation.models import Proposal, ThemedSession, User
    from participation.review import services
    from tests.factories import as_actor, rate

    world, ids = world
    joint_id = joint_id_from(post_merge(client, world, [ids["owner_original"], ids["second_original"]]))
    with app.app_context():
        themed_session = db.session.get(ThemedSession, world.session)
        planner = db.session.get(User, world.planner)
        rate([db.session.get(Proposal, joint_id)], [planner])
        services.finalize(themed_session, {}, as_actor(planner))
        db.session.commit()
        owners = {db.session.get(Proposal, pid).business.user_id for pid in (ids["owner_original"],
                                                                             ids["second_original"])}
    outcome = notices(app, "outcome")
    assert {user for user, proposal in outcome if proposal == joint_id} == owners
    assert not {proposal for _, proposal in outcome} & {ids["owner_original"], ids["second_original"]}
