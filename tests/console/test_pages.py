"""What each console page shows and does, against the whole sample matter (test client)."""

from __future__ import annotations

import base64
import io
import json
import re
import zipfile

from openpyxl import Workbook, load_workbook
from sqlalchemy import select, update

from hub.contract.errors import SettingsError
from hub.contract.types import NativeMessage
from hub.store.models import AuditEntry, DeadLetter, Inbox
from hub.web.console.display import decode_body, encode_fixed, mask_text
from hub.web.console.transfers import to_xlsx
from tests.console.conftest import FACTS, SECOND
from tests.helpers import count_rows, sample, wait_for

BAD_ID = "370103198212262340"


def post(client, path: str, data: dict | None = None, **kwargs):
    return client.post(path, data={**(data or {}), "csrf_token": client.csrf()}, **kwargs)


def rows_of(html: str, table_id: str) -> list[str]:
    """The body rows of the table with that id (none when the page has no such table)."""
    if f'id="{table_id}"' not in html:
        return []
    body = html.split(f'id="{table_id}"', 1)[1].split("</table>", 1)[0]
    body = body.split("<tbody>", 1)[-1].split("</tbody>", 1)[0]
    return re.findall(r"<tr[^>]*>(.*?)</tr>", body, flags=re.S)


# -- agencies and plugins ---------------------------------------------------------------------

def test_plugins_page_shows_every_plugin_with_its_traffic_and_hides_secrets(console, loaded, agency, hub):
    agency.publish("police", sample("police-receipt.xml"), message_id="waiting", content_type="application/xml",
                   content_encoding="gb18030")  # no workers run: it waits on wagehub.in.police
    admin = console("admin")

    def police_row() -> str | None:
        row = admin.get("/console/plugins").text.split('id="plugin-police"', 1)[1].split("</tr>", 1)[0]
        return row if 'data-queue="in">1<' in row else None

    police = wait_for(police_row, timeout=10)  # queue depth, by a passive declare (the broker may lag a moment)
    page = admin.get("/console/plugins").text
    for name in ("contractor", "court", "housing", "hrss", "police", "union"):
        assert f'id="plugin-{name}"' in page
    assert "1.0.0" in police and "已启用 enabled" in police
    hrss = page.split('id="plugin-hrss"', 1)[1].split("</tr>", 1)[0]
    accepted = count_rows(hub, Inbox, Inbox.agency == "hrss")
    dead = count_rows(hub, DeadLetter, DeadLetter.agency == "hrss")
    assert accepted > dead > 0
    assert f"{accepted} / 0" in hrss  # accepted in the last hour / sent (no relay runs here)
    assert f"{100 * dead / (accepted + dead):.1f}%" in hrss  # its bad samples went to the dead letters
    assert "contractor-key-1" not in page and '"key": "***"' in page


def test_an_agency_sees_its_own_plugin_row_only_without_settings(console, loaded):
    page = console("agency:police").get("/console/plugins").text
    assert 'id="plugin-police"' in page and 'id="plugin-hrss"' not in page
    assert "配置 Settings" not in page and "停用 Disable" not in page


def test_disabling_asks_for_confirmation_then_takes_effect_and_is_audited(console, hub):
    admin = console("admin")
    confirm = admin.get("/console/plugins/hrss/disable")
    assert "确定要停用插件" in confirm.text and 'action="/console/plugins/hrss/disable"' in confirm.text
    assert hub.registry.is_enabled("hrss")  # a GET changes nothing
    response = post(admin, "/console/plugins/hrss/disable")
    assert response.status_code == 302 and not hub.registry.is_enabled("hrss")
    assert "已停用" in admin.get("/console/plugins").text
    post(admin, "/console/plugins/hrss/enable")
    assert hub.registry.is_enabled("hrss")
    with hub.store.sessions() as session:
        entries = session.execute(select(AuditEntry.action, AuditEntry.actor)
                                  .where(AuditEntry.action.like("plugin.%")).order_by(AuditEntry.id)).all()
    assert [a for a, _ in entries] == ["plugin.disabled", "plugin.enabled"]
    assert all(re.fullmatch(r"admin#\d+@console", actor) for _, actor in entries)


def test_a_plugin_whose_settings_are_invalid_cannot_be_enabled(console, hub, monkeypatch):
    admin = console("admin")
    post(admin, "/console/plugins/court/disable")
    adapter = hub.registry.adapters["court"]

    def refuse():
        raise SettingsError("plugins.court.key: too short")

    monkeypatch.setattr(adapter, "check_settings", refuse)
    response = post(admin, "/console/plugins/court/enable", follow_redirects=True)
    assert "启用 Enable失败 failed" in response.text and "too short" in response.text
    assert not hub.registry.is_enabled("court")
    assert admin.get("/console/plugins/nope/disable").status_code == 404
    assert admin.get("/console/plugins/court/explode").status_code == 404


# -- dead letters -----------------------------------------------------------------------------

def test_dead_letters_filter_by_agency_kind_reason_status_and_time(console, loaded):
    admin = console("admin")

    def count(query: str) -> int:
        return len(rows_of(admin.get(f"/console/dead-letters?{query}").text, "dead-letters"))

    every = len(loaded.dead_letters)  # one per bad sample of the installed plugins
    assert count("") == every
    assert count("agency=hrss") == len([name for name in loaded.dead_letters if name.startswith("hrss-")]) > 1
    assert count("kind=LAJD") == 1
    # field, rule or reason, any case: the complainant's id_number, the court's employer_id_number
    assert count("reason=id_number") == 2 and count("reason=XLSX") == 1
    assert count("status=replayed") == 0 and count("status=all") == every
    assert count("from=2000-01-01&to=2100-01-01") == every and count("from=2100-01-01") == 0
    assert admin.get("/console/dead-letters?from=yesterday").status_code == 400


def test_an_agency_lists_its_own_dead_letters_whatever_the_url_says(console, loaded):
    page = console("agency:police").get("/console/dead-letters?agency=hrss&status=all").text
    rows = rows_of(page, "dead-letters")
    assert len(rows) == 4 and all("<td>police</td>" in r for r in rows)
    assert 'name="ids"' not in page and "重放所选" not in page  # replays are the admins'


def test_a_dead_letter_shows_its_original_decoded_and_masked_for_all_but_admins(console, loaded):
    dl = loaded.dead_letters
    admin = console("admin").get(f"/console/dead-letters/{dl['hrss-bad-idcheck.json']}").text
    assert BAD_ID in admin and FACTS["complainant_mobile"] in admin and "王春生" in admin
    assert "修正并重放" in admin
    police = console("agency:police").get(f"/console/dead-letters/{dl['police-missing-ysbh.xml']}").text
    assert "gb18030" in police and "证据不足" in police  # GB18030 bytes decoded in their encoding
    assert "修正并重放" not in police


def test_an_agency_sees_its_own_dead_letter_masked(app, hub, loaded):
    from hub.web.auth import create_token
    from tests.console.conftest import sign_in

    client = app.test_client()
    sign_in(client, create_token(hub.store, "agency:hrss"))
    page = client.get(f"/console/dead-letters/{loaded.dead_letters['hrss-bad-idcheck.json']}").text
    assert BAD_ID not in page and "370103********2340" in page
    assert FACTS["complainant_mobile"] not in page and "139****0696" in page
    assert "个人信息已遮蔽" in page


def test_fix_and_replay_a_dead_letter_with_edited_text(console, loaded, hub):
    admin = console("admin")
    dead_letter_id = loaded.dead_letters["hrss-bad-idcheck.json"]
    original = sample("bad/hrss-bad-idcheck.json").decode()
    still_bad = post(admin, f"/console/dead-letters/{dead_letter_id}/replay",
                     {"mode": "text", "body": original.replace(BAD_ID, "37010319821226234")}, follow_redirects=True)
    assert "重放未成功" in still_bad.text and "待处理 open" in still_bad.text
    fixed = original.replace(BAD_ID, FACTS["complainant_id"]).replace("\n", "\r\n")  # as a browser sends it
    response = post(admin, f"/console/dead-letters/{dead_letter_id}/replay", {"mode": "text", "body": fixed},
                    follow_redirects=True)
    assert "重放成功" in response.text and 'id="replay-result"' in response.text and "已接受 accepted" in response.text
    with hub.store.sessions() as session:
        dl = session.get(DeadLetter, dead_letter_id)
        audit_actors = [a for (a,) in session.execute(select(AuditEntry.actor)
                                                      .where(AuditEntry.action == "dead_letter.replay"))]
    assert dl.status == "replayed" and dl.attempts == 2
    assert len(audit_actors) == 2 and all(a.endswith("@console") for a in audit_actors)
    assert "修正并重放" not in response.text  # nothing left to replay


def test_fix_and_replay_with_a_fixed_file(console, loaded, hub):
    admin = console("admin")
    dead_letter_id = loaded.dead_letters["hrss-bad-amount.json"]
    fixed = sample("bad/hrss-bad-amount.json").replace(b'"amountFen": -', b'"amountFen": ')
    response = post(admin, f"/console/dead-letters/{dead_letter_id}/replay",
                    {"mode": "file", "file": (io.BytesIO(fixed), "fixed.json")},
                    content_type="multipart/form-data", follow_redirects=True)
    assert "重放成功" in response.text, response.text
    no_file = post(admin, f"/console/dead-letters/{dead_letter_id}/replay", {"mode": "file"})
    assert no_file.status_code in (302, 400)


def test_bulk_replay_shows_what_happened_to_each(console, loaded, hub):
    admin = console("admin")
    dl = loaded.dead_letters
    chosen = [dl["hrss-bad-json.json"], dl["court-float-amount.json"]]
    response = post(admin, "/console/dead-letters/replay", {"ids": [str(i) for i in chosen]})
    assert response.status_code == 200
    rows = rows_of(response.text, "replay-results")
    assert len(rows) == 2 and all("被拒 rejected" in r for r in rows)
    assert "not JSON" in rows[0] and "decimal string" in rows[1]
    assert post(admin, "/console/dead-letters/replay", {"ids": ["1; drop"]}).status_code == 400
    assert post(admin, "/console/dead-letters/replay", {}).status_code == 302
    missing = post(admin, "/console/dead-letters/replay", {"ids": ["99999"]})
    assert "没有" in missing.text or "no dead letter" in missing.text


def test_bodies_are_decoded_and_escaped_never_run(console, hub):
    hub.pipeline.process([NativeMessage("hrss", b'{"msgType": "<script>alert(1)</script>"}', "xss",
                                        "application/json", "utf-8")])
    with hub.store.sessions() as session:
        dead_letter_id = session.scalars(select(DeadLetter.id).where(DeadLetter.message_id == "xss")).one()
    page = console("admin").get(f"/console/dead-letters/{dead_letter_id}").text
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)" in page


def test_decoding_helpers():
    assert mask_text(f"id {BAD_ID} tel 13923720696 amount 38284800") == \
        "id 370103********2340 tel 139****0696 amount 38284800"
    gb = "<BODY><LY>证据不足</LY></BODY>".encode("gb18030")
    assert decode_body(gb, "application/xml", "gb18030", masked=True)["text"] == "<BODY><LY>证据不足</LY></BODY>"
    binary = decode_body(b"\x00\x01\xffPK", "application/octet-stream", "binary", masked=False)
    assert binary["text"] is None and binary["hex"].startswith("00000000  00 01 ff 50 4b")
    assert decode_body(sample("union-mediation.xlsx"), decode_body.__globals__["XLSX"], "binary",
                       masked=True)["rows"]
    assert encode_fixed("a\r\nb", b"x\ny", "gb18030") == b"a\nb"
    assert encode_fixed("证", b"\xef\xbb\xbfx", "utf-8-sig") == "\ufeff证".encode()
    assert encode_fixed("证", b"x", "gb18030") == "证".encode("gb18030")


def _workbook(sheet_xml: bytes | None = None, dimension: bytes | None = None, sheet_bytes: int = 0) -> bytes:
    """The union sample ledger, its sheet's ``<dimension>`` replaced, or its sheet padded with
    ``sheet_bytes`` of empty elements (a zip bomb: they pack a thousand to one)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(sample("union-mediation.xlsx"))) as src, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                if dimension is not None:
                    data = re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="' + dimension + b'"', data)
                if sheet_bytes:
                    with dst.open(info.filename, "w") as part:
                        part.write(data.replace(b"</worksheet>", b""))
                        for _ in range(sheet_bytes // (1 << 20)):
                            part.write(b"<a/>" * (1 << 18))
                        part.write(b"</worksheet>")
                    continue
            dst.writestr(info, data)
    return out.getvalue()


def test_a_zip_bomb_is_shown_as_bytes_never_unpacked():
    bomb = _workbook(sheet_bytes=64 << 20)
    assert len(bomb) < 200_000
    shown = decode_body(bomb, decode_body.__globals__["XLSX"], "binary", masked=False)
    assert shown["rows"] is None and "(rule: zip-bomb)" in shown["note"]
    assert shown["hex"].startswith("00000000  50 4b 03 04")


def test_a_workbook_claiming_the_whole_sheet_shows_only_its_cells(console, hub):
    """A ``<dimension>`` of A1:XFD1048576 once rendered 16,384 cells a row; the page stays small."""
    body = _workbook(dimension=b"A1:XFD1048576")
    shown = decode_body(body, decode_body.__globals__["XLSX"], "binary", masked=True)
    assert [len(row) for row in shown["rows"]] == [13, 13]
    # (sent to hrss, which reads JSON: dead-lettered with the workbook's content type)
    hub.pipeline.process([NativeMessage("hrss", body, "wide", decode_body.__globals__["XLSX"], "binary")])
    with hub.store.sessions() as session:
        [dead_letter_id] = session.scalars(select(DeadLetter.id).where(DeadLetter.message_id == "wide")).all()
    page = console("admin").get(f"/console/dead-letters/{dead_letter_id}").text
    assert len(page) < 100_000 and page.count("<td>") < 100


def test_a_preview_is_cut_to_size():
    rows = [[f"{r}-{c}-" + "长" * 300 for c in range(40)] for r in range(80)]
    wb = Workbook()
    for row in rows:
        wb.active.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    shown = decode_body(buf.getvalue(), decode_body.__globals__["XLSX"], "binary", masked=False)
    assert all(len(row) == 30 for row in shown["rows"])
    assert all(len(cell) <= 200 for row in shown["rows"] for cell in row)
    assert sum(len(cell) for row in shown["rows"] for cell in row) <= 64 * 1024
    assert "first 30 columns" in shown["note"] and "characters" in shown["note"]


# -- matters ----------------------------------------------------------------------------------

def test_find_a_matter_by_any_of_its_numbers_or_the_employer(console, loaded):
    linkage = console("linkage")
    for query in (FACTS["clue_no"], FACTS["case_no"], FACTS["transfer_no"], FACTS["project_code"],
                  FACTS["order_no"], loaded.matter_id):
        page = linkage.get(f"/console/matters?q={query}").text
        assert f'href="/console/matters/{loaded.matter_id}"' in page, query
    both = linkage.get(f"/console/matters?q={FACTS['employer_uscc'].lower()}").text
    assert loaded.matter_id in both and loaded.second_matter_id in both
    assert "未找到" in linkage.get("/console/matters?q=XS000").text


def test_a_matter_shows_every_agency_in_time_order_with_who_owes_the_next_step(console, loaded):
    page = console("linkage").get(f"/console/matters/{loaded.matter_id}").text
    types = re.findall(r'<li data-type="([a-z_]+)">', page)
    builtin = ["clue", "case", "mediation_result", "contractor_reply", "payment_order", "criminal_transfer",
               "police_receipt", "police_decision", "court_judgment", "court_enforcement"]
    # in time order (other plugins may add records); the transfer twice: sent again with the
    # workers one by one, as the police asked
    # the 12345 work order's clue (the caller rang the hotline first) before labour inspection's own
    assert [t for t in types if t in builtin] == ["clue", *builtin[:7], "criminal_transfer", *builtin[7:]]
    times = re.findall(r'<p class="when">([^<]+)</p>', page.split('id="timeline"')[1])
    assert times == sorted(times)
    # the court's enforcement was paid: nothing is left to chase, every open step is moot, with
    # why; but the 12345 caller, called back after, says not all was paid: the matter is
    # reopened and labour inspection owes the hotline a second answer, the one next step
    [reopened] = rows_of(page, "next-steps")
    assert "12345 办理结果" in reopened and "人社" in reopened
    every = rows_of(page, "steps")
    overdue = [row for row in every if "逾期 overdue" in row]
    assert len(overdue) == 1 and "12345 办理结果" in overdue[0] and "2023-11-06 23:59" in overdue[0]
    assert any("无需办理 moot" in row and "court enforcement paid" in row for row in every)
    assert FACTS["complainant_id"] in page  # the linkage office sees personal data
    assert f'href="/console/transfers/{FACTS["transfer_no"]}"' in page


def test_viewers_see_personal_data_masked(console, loaded):
    page = console("viewer").get(f"/console/matters/{loaded.matter_id}").text
    assert FACTS["complainant_id"] not in page and "370103********234X" in page
    assert FACTS["complainant_mobile"] not in page and "139****0696" in page
    assert "/console/transfers/" not in page  # viewers have no transfers board


def test_viewers_see_names_masked_where_identity_numbers_are(console, loaded, client, token):
    page = console("viewer").get(f"/console/matters/{loaded.matter_id}").text
    assert "王春生" not in page and "王*生" in page  # the complainant
    assert "徐建国" not in page and "徐*国" in page  # the suspect
    assert "海岱建筑劳务有限公司" in page  # an employer is no person: its name stays
    matter = client.get(f"/api/v1/matters/{loaded.matter_id}", headers=token("viewer")).get_json()
    clue = next(r for r in matter["records"] if r["type"] == "clue")
    assert clue["complainant"]["name"] == "王*生" and clue["employer"]["name"] == "海岱建筑劳务有限公司"
    records = client.get("/api/v1/records?type=criminal_transfer", headers=token("viewer")).get_json()["items"]
    # (the sample transfer sent twice, the individual employer's, the second matter's)
    assert sorted(s["name"] for r in records for s in r["suspects"]) == sorted(["徐*国", "徐*国", "刘*海", "赵*明"])
    individual = next(r for r in records if r["employer"].get("id_number"))
    assert individual["employer"]["name"] == "刘*海"  # an individual employer is a person
    assert all("*" in w["name"] for r in records for w in r.get("workers") or [])
    full = client.get(f"/api/v1/records/{clue['record_id']}", headers=token("linkage")).get_json()
    assert full["complainant"]["name"] == "王春生"


def test_an_agency_sees_only_its_share_of_a_matter(console, loaded, app, hub):
    police = console("agency:police")
    page = police.get(f"/console/matters/{loaded.matter_id}").text
    types = re.findall(r'<li data-type="([a-z_]+)">', page)
    assert {"criminal_transfer", "police_receipt", "police_decision"} <= set(types)  # routed to it, and its own
    assert not {"clue", "case", "mediation_result", "contractor_reply", "payment_order"} & set(types)
    assert "调解" not in page.split('id="timeline"')[1] and "王春生" not in page
    assert "370103196601215548" not in page and "370103********5548" in page
    owners = re.findall(r'<tr class="[^"]*">\s*<th scope="row">([^<]+)</th>', page.split('id="next-steps"')[1]
                        .split("</table>")[0]) if 'id="next-steps"' in page else []
    assert all("公安" in o for o in owners)
    assert "contractor-reply-to-hrss" not in page  # others' deliveries stay hidden
    assert police.get(f"/console/matters?q={SECOND['clue_no']}").text.count("/console/matters/mat_") == 0
    assert police.get(f"/console/matters?q={FACTS['clue_no']}").text.count(loaded.matter_id) >= 1

    from hub.web.auth import create_token
    from tests.console.conftest import sign_in

    union = app.test_client()
    sign_in(union, create_token(hub.store, "agency:union"))
    page = union.get(f"/console/matters/{loaded.matter_id}").text
    types = re.findall(r'<li data-type="([a-z_]+)">', page)
    assert {"clue", "mediation_result"} <= set(types)
    assert not {"case", "criminal_transfer", "police_receipt", "contractor_reply"} & set(types)
    assert "139****0696" in page and FACTS["complainant_id"] not in page  # the clue as it was routed


# -- transfers ----------------------------------------------------------------------------------

def test_transfers_board_lists_overdue_first_and_filters(console, loaded):
    linkage = console("linkage")
    page = linkage.get("/console/transfers").text
    board = re.findall(r'data-transfer="([^"]+)" data-overdue="(true|false)"', page)
    # YS37010320230881: the individual employer's transfer of the samples, declined and
    # reconsidered, its steps overdue; the sample transfer is closed (its enforcement paid):
    # none of its steps is overdue any more
    assert board == [("YS37010320230881", "true"), (SECOND["transfer_no"], "false"), (FACTS["transfer_no"], "false")]
    assert '<tr class="overdue"' in page
    overdue = re.findall(r'data-transfer="([^"]+)"', linkage.get("/console/transfers?overdue=1").text)
    assert overdue == ["YS37010320230881"]
    assert re.findall(r'data-transfer="([^"]+)"', linkage.get("/console/transfers?status=closed").text) == \
        [FACTS["transfer_no"]]
    assert re.findall(r'data-transfer="([^"]+)"', linkage.get("/console/transfers?status=held").text) == \
        [SECOND["transfer_no"]]
    assert re.findall(r'data-transfer="([^"]+)"', linkage.get("/console/transfers?district=370102").text) == \
        [SECOND["transfer_no"]]
    assert linkage.get("/console/transfers?status=lost").status_code == 400


def test_transfers_export_as_xlsx(console, loaded):
    response = console("admin").get("/console/transfers.xlsx")
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert re.match(r'attachment; filename="transfers-\d{8}-\d{4}\.xlsx"', response.headers["Content-Disposition"])
    values = [list(r) for r in load_workbook(io.BytesIO(response.data))["移送看板"].iter_rows(values_only=True)]
    assert values[0][0] == "移送编号 transfer_no"
    assert [v[0] for v in values[1:]] == ["YS37010320230881", SECOND["transfer_no"], FACTS["transfer_no"]]
    assert values[3][2] == "否 no" and float(values[3][9]) == 382848.0  # closed: nothing overdue


def test_transfers_export_neutralises_formulas():
    view = {"transfer_no": "=HYPERLINK(\"http://x\")", "status": "held", "overdue": False, "dossier": None,
            "region_code": "+370103", "case_no": "@SUM(A1)", "employer": {"name": "-1+2", "uscc": None},
            "amount_owed": "1.00", "worker_count": 1, "transferred_on": None, "next_due": None}
    values = list(load_workbook(io.BytesIO(to_xlsx([view])))["移送看板"].iter_rows(min_row=2, values_only=True))[0]
    assert values[0] == "'=HYPERLINK(\"http://x\")" and values[5] == "'+370103" and values[6] == "'@SUM(A1)"
    assert values[7] == "'-1+2"


def test_a_transfers_full_story(console, loaded):
    page = console("linkage").get(f"/console/transfers/{FACTS['transfer_no']}").text
    assert "已结案 closed" in page and "审查通过 passed" in page
    for stage in ("已移送 transferred", "已接收 received", "已立案 opened", "已判决 judged", "已结案 closed"):
        assert stage in page.split('id="transfer-timeline"')[1]
    assert "（2023）鲁0103刑初880号" in page
    assert console("linkage").get("/console/transfers/YS-NONE").status_code == 404


def test_the_linkage_office_releases_or_returns_a_held_transfer(console, loaded, hub):
    linkage = console("linkage")
    page = linkage.get(f"/console/transfers/{SECOND['transfer_no']}").text
    assert "暂缓待补 held" in page and "放行至公安" in page and 'id="missing"' in page
    assert "放行至公安" not in console("admin").get(f"/console/transfers/{SECOND['transfer_no']}").text
    assert post(console("admin"), f"/console/transfers/{SECOND['transfer_no']}/release").status_code == 403
    no_reason = post(linkage, f"/console/transfers/{SECOND['transfer_no']}/return", {"reason": " "})
    assert no_reason.status_code == 400
    done = post(linkage, f"/console/transfers/{SECOND['transfer_no']}/return", {"reason": "缺少送达回证"},
                follow_redirects=True)
    assert "已退回人社" in done.text and "退回补充 returned" in done.text
    again = post(linkage, f"/console/transfers/{SECOND['transfer_no']}/release", follow_redirects=True)
    assert "is not held" in again.text
    with hub.store.sessions() as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "transfer.returned")).one()
    assert entry.actor.startswith("linkage#") and entry.details["reason"] == "缺少送达回证"


# -- bulletin -----------------------------------------------------------------------------------

def test_daily_bulletin_with_charts_by_district(console, loaded):
    page = console("viewer").get("/console/bulletin?date=2023-05-22").text
    assert "欠薪线索处置日通报" in page and 'role="img"' in page
    assert page.count("<figure") == 6 and page.count('<rect x="100"') >= 4
    rows = rows_of(page, "districts")
    assert len(rows) == 2 and "市中区" in rows[1] and "历下区" in rows[0]
    assert "508,848.00" in page  # owed, both districts
    assert 'href="/console/bulletin/download?date=2023-05-22&amp;format=xlsx"' in page
    assert "data-print" in page


def test_bulletin_downloads_as_xlsx_and_csv(console, loaded):
    viewer = console("viewer")
    xlsx = viewer.get("/console/bulletin/download?date=2023-05-22&format=xlsx")
    assert xlsx.headers["Content-Disposition"] == 'attachment; filename="bulletin-2023-05-22.xlsx"'
    assert load_workbook(io.BytesIO(xlsx.data)).sheetnames == ["日通报", "逾期事项", "回头看"]
    csv = viewer.get("/console/bulletin/download?date=2023-05-22&format=csv")
    assert csv.mimetype == "text/csv" and csv.data.startswith(b"\xef\xbb\xbf")
    assert viewer.get("/console/bulletin/download?date=2023-05-22&format=pdf").status_code == 400
    assert viewer.get("/console/bulletin?date=22/05/2023").status_code == 400


def test_the_bulletin_defaults_to_yesterday(console, hub):
    from hub.casework.bulletin import yesterday

    page = console("linkage").get("/console/bulletin").text
    assert f'Daily bulletin</span> {yesterday(hub.settings).isoformat()}' in page


# -- audit --------------------------------------------------------------------------------------

def test_audit_verifies_the_chain_and_finds_tampering(console, loaded, hub):
    admin = console("admin")
    page = admin.get("/console/audit?verify=1").text
    assert "审计链完整" in page and "console.signed_in" in page
    assert "console.signed_in" not in admin.get("/console/audit?action=plugin.").text.split('id="audit"')[1]
    with hub.store.transaction() as session:
        first = session.scalars(select(AuditEntry.id).order_by(AuditEntry.id)).first()
        session.execute(update(AuditEntry).where(AuditEntry.id == first).values(subject="edited"))
    broken = admin.get("/console/audit?verify=1").text
    assert "审计链已被破坏" in broken and f"#{first}" in broken


def test_home_page_counts_open_dead_letters(console, loaded):
    assert f"待处理死信 {len(loaded.dead_letters)} 封" in console("admin").get("/console/").text
    assert "待处理死信 4 封" in console("agency:police").get("/console/").text
    assert "待处理死信" not in console("linkage").get("/console/").text


def test_no_page_leaks_base64_bodies(console, loaded):
    page = console("admin").get(f"/console/dead-letters/{loaded.dead_letters['hrss-bad-idcheck.json']}").text
    assert base64.b64encode(sample("bad/hrss-bad-idcheck.json")).decode()[:40] not in page
    assert json.loads(sample("bad/hrss-bad-idcheck.json"))["msgId"] in page
