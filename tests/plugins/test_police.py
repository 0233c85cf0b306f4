"""The police plugin: XML packets in (safely), canonical records out, AJYS back; hooks called directly."""

from __future__ import annotations

import dataclasses
import json
import pathlib
import re

import defusedxml.ElementTree as DET
import marshmallow as ma
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import hub
import schemas
from hub.testing import unknown_fields
from plugins import hrss, police
from plugins.police import inbound
from tests.plugins import refused_whole

FIXTURES = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "samples"
FACTS = json.loads((FIXTURES / "facts.json").read_text(encoding="utf-8"))
SAMPLES = {s.name: s for s in police.register_samples()}
GOOD = {name: s for name, s in SAMPLES.items() if not s.bad}
FUZZ = settings(max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


def parse(body: bytes | str, *, content_encoding: str | None = None) -> list[hub.Parsed]:
    if isinstance(body, str):
        body = body.encode("utf-8")
    message = hub.NativeMessage(agency="police", body=body, message_id="GA-1", content_type="application/xml",
                                content_encoding=content_encoding)
    return list(police.parse_message(message=message, settings={}))


def canonical(parsed: hub.Parsed) -> dict:
    return schemas.normalise_record({
        "type": parsed.type, "source_agency": "police", "source_ref": parsed.source_ref,
        "received_at": parsed.record.get("received_at", "2023-06-20T09:00:00+08:00"), **parsed.record,
    })


def packet(kind: str, body: str, *, encoding: str = "UTF-8", prolog: bool = True) -> str:
    head = f'<?xml version="1.0" encoding="{encoding}"?>\n' if prolog else ""
    return (f'{head}<PACKET TYPE="{kind}" VERSION="1.0"><HEAD><XXBH>GA-370103-1</XXBH><FSDW>370103000000</FSDW>'
            f"<FSSJ>2023-06-21 10:00:00</FSSJ></HEAD><BODY>{body}</BODY></PACKET>")


RECEIPT_BODY = "<YSBH>YS37010320230880</YSBH><JSSJ>2023-06-21 09:30:00</JSSJ><JSR>王德华</JSR>"


def refusal(running_hub, text: str):
    """The one failure of a packet the hub refuses whole."""
    return refused_whole(running_hub, "police", text.encode("utf-8"), "application/xml")


# --- register_agency -----------------------------------------------------------------


def test_register_agency():
    info = police.register_agency()
    assert info.code == "police"
    assert set(info.kinds_in) == {"AJJS", "LAJD", "FYJD", "BCCL"}
    assert set(info.kinds_out) == {"AJYS", "BCYS", "FYSQ", "ZFQK", "CBTZ"}
    assert info.schema_version == "1"
    assert "key" in info.secret_settings
    schema = info.settings_schema
    assert isinstance(schema, ma.Schema) and schema.Meta.unknown == ma.RAISE
    assert schema.load({}) == {"key": None, "encoding": "gb18030", "sender_unit": "370000000000",
                               "transferring_unit": "人力资源社会保障局劳动保障监察机构"}
    assert schema.load({"encoding": "UTF-8", "key": "k"})["encoding"] == "utf-8"
    assert schema.load({"encoding": "GB18030"})["encoding"] == "gb18030"
    for bad in ({"encoding": "latin-1"}, {"sender_unit": ""}, {"sender": "typo"}):
        with pytest.raises(ma.ValidationError):
            schema.load(bad)


# --- parse_message: the samples ----------------------------------------------------------


def test_receipt_sample_gb18030():
    sample = SAMPLES["police-receipt.xml"]
    assert sample.body.startswith(b'<?xml version="1.0" encoding="GB18030"?>')
    [parsed] = parse(sample.body)
    assert parsed.kind == "AJJS"
    assert parsed.record == {"transfer_no": FACTS["transfer_no"], "received_at": "2023-06-21T09:30:00+08:00",
                             "officer": "王德华"}
    rec = canonical(parsed)
    assert rec["type"] == "police_receipt"
    assert rec["transfer_no"] == FACTS["transfer_no"]
    assert rec["received_at"] == "2023-06-21T09:30:00+08:00"
    assert rec["officer"] == "王德华"
    assert rec["source_ref"] == f"{FACTS['transfer_no']}/AJJS/20230621093000"


def test_decision_sample():
    [parsed] = parse(SAMPLES["police-decision.xml"].body)
    assert parsed.kind == "LAJD"
    assert "received_at" not in parsed.record
    rec = canonical(parsed)
    assert rec["type"] == "police_decision"
    assert rec["transfer_no"] == FACTS["transfer_no"]
    assert rec["decision"] == "opened"
    assert rec["police_case_no"] == "A370103202300880"
    assert rec["decided_at"] == "2023-06-28T15:00:00+08:00"
    assert rec["reason"] is None
    assert rec["source_ref"] == f"{FACTS['transfer_no']}/LAJD/20230628150000"


@pytest.mark.parametrize(("code", "decision"), [("2", "declined"), ("3", "returned")])
def test_decision_not_opened_carries_a_reason(code, decision):
    body = f"<YSBH>YS1</YSBH><JDLX>{code}</JDLX><JDSJ>2023-06-28 15:00:00</JDSJ><LY>证据不足 &amp; 待补充</LY>"
    rec = canonical(parse(packet("LAJD", body, encoding="GB18030").encode("gb18030"))[0])
    assert (rec["decision"], rec["reason"], rec["police_case_no"]) == (decision, "证据不足 & 待补充", None)


def test_decision_rules_left_to_the_shared_schema(running_hub):
    no_case_no = "<YSBH>YS1</YSBH><JDLX>1</JDLX><JDSJ>2023-06-28 15:00:00</JDSJ>"
    with pytest.raises(schemas.RecordInvalid) as exc:
        canonical(parse(packet("LAJD", no_case_no))[0])
    assert exc.value.field == "police_case_no"  # the schema's path; the hub names the tag
    assert refusal(running_hub, packet("LAJD", no_case_no)).field == "BODY/LAAJBH"
    no_reason = "<YSBH>YS1</YSBH><JDLX>3</JDLX><JDSJ>2023-06-28 15:00:00</JDSJ>"
    with pytest.raises(schemas.RecordInvalid) as exc:
        canonical(parse(packet("LAJD", no_reason))[0])
    assert exc.value.field == "reason"
    assert refusal(running_hub, packet("LAJD", no_reason)).field == "BODY/LY"


def test_an_opened_case_without_its_number_is_dead_lettered_by_the_tag(running_hub):
    """The plugin reads LAAJBH as optional; the shared schema requires it of an opened case."""
    text = packet("LAJD", "<YSBH>YS37010320230880</YSBH><JDLX>1</JDLX><JDSJ>2023-06-28 15:00:00</JDSJ>")
    [parsed] = parse(text)  # the plugin accepts it
    assert parsed.record["decision"] == "opened" and "police_case_no" not in parsed.record
    failure = refusal(running_hub, text)
    assert (failure.field, failure.rule, failure.kind) == ("BODY/LAAJBH", "required-if", "LAJD")
    assert failure.reason == ("BODY/LAAJBH (police_case_no): required when the case is opened "
                              "(rule: required-if)")


def test_a_transfer_number_too_long_for_the_schema_names_ysbh(running_hub):
    failure = refusal(running_hub, packet("AJJS", f"<YSBH>YS{'8' * 63}</YSBH><JSSJ>2023-06-21 09:30:00</JSSJ>"))
    assert (failure.field, failure.rule, failure.kind) == ("BODY/YSBH", "length", "AJJS")
    assert failure.reason.startswith("BODY/YSBH (transfer_no): ") and failure.reason.endswith("(rule: length)")


@pytest.mark.parametrize("kind", ["AJJS", "LAJD"])
def test_native_field_names_are_schema_paths_named_as_the_plugins_refusals(kind):
    record_type, _ = inbound.KINDS_IN[kind]
    names = inbound.FIELDS[kind]
    assert unknown_fields(record_type, names) == []
    assert all(re.fullmatch(r"BODY/[A-Z]+", native) for native in names.values()), names  # as BODY/YSBH


def test_every_field_the_police_send_is_named_by_its_tag():
    decision = "<YSBH>YS1</YSBH><JDLX>3</JDLX><JDSJ>2023-06-28 15:00:00</JDSJ><LAAJBH>A1</LAAJBH><LY>x</LY>"
    for text in (packet("AJJS", RECEIPT_BODY), packet("LAJD", decision)):
        [parsed] = parse(text)
        assert parsed.fields is inbound.FIELDS[parsed.kind]
        assert set(parsed.record) == set(parsed.fields)  # source_ref (YSBH/TYPE/time) is derived: left out
        root = DET.fromstring(text.encode("utf-8"))
        assert all(root.find(native) is not None for native in parsed.fields.values())


@pytest.mark.parametrize(("body", "content_encoding"), [
    (packet("AJJS", RECEIPT_BODY, encoding="UTF-8").encode("utf-8"), None),
    (packet("AJJS", RECEIPT_BODY, encoding="utf-8").encode("utf-8"), "gb18030"),  # the prolog wins
    (packet("AJJS", RECEIPT_BODY, prolog=False).encode("utf-8"), None),
    (b"\xef\xbb\xbf" + packet("AJJS", RECEIPT_BODY).encode("utf-8"), None),
    (packet("AJJS", RECEIPT_BODY, prolog=False).encode("gb18030"), "gb18030"),
    (packet("AJJS", RECEIPT_BODY, encoding="GBK").encode("gbk"), None),
    (packet("AJJS", RECEIPT_BODY, encoding="GB18030").encode("gb18030"), "binary"),
    (packet("AJJS", RECEIPT_BODY, encoding="UTF-16").encode("utf-16"), None),
    ("<?xml version='1.0' encoding='gb18030' standalone='yes'?>\n"
     + packet("AJJS", RECEIPT_BODY, prolog=False), None),
])
def test_utf8_and_gb18030_packets(body, content_encoding):
    if isinstance(body, str):
        body = body.encode("gb18030")
    [parsed] = parse(body, content_encoding=content_encoding)
    rec = canonical(parsed)
    assert (rec["transfer_no"], rec["officer"]) == ("YS37010320230880", "王德华")


def test_whitespace_around_values_is_dropped():
    body = "<YSBH>\n  YS1\n</YSBH><JSSJ> 2023-06-21 09:30:00 </JSSJ>"
    assert parse(packet("AJJS", body))[0].record == {"transfer_no": "YS1", "received_at": "2023-06-21T09:30:00+08:00"}


# --- parse_message: refusals -------------------------------------------------------------

PASSWD = pathlib.Path("/etc/passwd")


def test_dtd_sample_is_refused_and_never_resolved():
    sample = SAMPLES["police-dtd.xml"]
    with pytest.raises(hub.InvalidMessage) as exc:
        parse(sample.body, content_encoding=sample.content_encoding)
    assert exc.value.rule == "no-dtd"
    assert "DTD" in exc.value.reason
    said = f"{exc.value.reason} {exc.value.details}"
    assert "root:" not in said
    if PASSWD.exists():
        first = PASSWD.read_text(errors="replace").splitlines()[0]
        assert first not in said


@pytest.mark.parametrize("doctype", [
    '<!DOCTYPE PACKET SYSTEM "http://127.0.0.1:9/evil.dtd">',
    '<!DOCTYPE PACKET [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>',
    '<!DOCTYPE PACKET [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]>',
    "<!DOCTYPE PACKET>",
])
def test_any_dtd_is_refused(doctype):
    text = '<?xml version="1.0" encoding="GB18030"?>\n' + doctype + packet("AJJS", RECEIPT_BODY, prolog=False)
    with pytest.raises(hub.InvalidMessage) as exc:
        parse(text.encode("gb18030"))
    assert exc.value.rule == "no-dtd"


def test_undeclared_entity_is_not_xml():
    with pytest.raises(hub.InvalidMessage) as exc:
        parse(packet("AJJS", "<YSBH>&x;</YSBH><JSSJ>2023-06-21 09:30:00</JSSJ>"))
    assert exc.value.rule == "xml"


def test_missing_ysbh_sample_is_refused_naming_the_field():
    sample = SAMPLES["police-missing-ysbh.xml"]
    with pytest.raises(hub.InvalidMessage) as exc:
        parse(sample.body)
    assert (exc.value.field, exc.value.rule, exc.value.kind) == ("BODY/YSBH", "required", "LAJD")
    assert "YSBH" in exc.value.reason


@pytest.mark.parametrize(("text", "field", "rule"), [
    (packet("AJJS", "<YSBH></YSBH><JSSJ>2023-06-21 09:30:00</JSSJ>"), "BODY/YSBH", "required"),
    (packet("AJJS", "<YSBH>YS1</YSBH>"), "BODY/JSSJ", "required"),
    (packet("AJJS", "<YSBH>YS1</YSBH><JSSJ>2023/06/21 09:30</JSSJ>"), "BODY/JSSJ", "time-format"),
    (packet("AJJS", "<YSBH>YS1</YSBH><JSSJ>2023-02-30 09:30:00</JSSJ>"), "BODY/JSSJ", "time-format"),
    (packet("AJJS", "<YSBH>YS1</YSBH><YSBH>YS2</YSBH><JSSJ>2023-06-21 09:30:00</JSSJ>"), "BODY/YSBH", "single"),
    (packet("LAJD", "<YSBH>YS1</YSBH><JDLX>4</JDLX><JDSJ>2023-06-28 15:00:00</JDSJ>"), "BODY/JDLX", "enum"),
    (packet("LAJD", "<YSBH>YS1</YSBH><JDSJ>2023-06-28 15:00:00</JDSJ>"), "BODY/JDLX", "required"),
    (packet("AJYS", RECEIPT_BODY), "PACKET/@TYPE", "enum"),
    (packet("XXXX", RECEIPT_BODY), "PACKET/@TYPE", "enum"),
    ('<?xml version="1.0"?><PACKET VERSION="1.0"><BODY/></PACKET>', "PACKET/@TYPE", "required"),
    ('<?xml version="1.0"?><PACKET TYPE="AJJS"><HEAD/></PACKET>', "BODY", "required"),
    ('<?xml version="1.0"?><PACKET TYPE="AJJS"><BODY/><BODY/></PACKET>', "BODY", "single"),
    ('<?xml version="1.0"?><MESSAGE TYPE="AJJS"><BODY/></MESSAGE>', "PACKET", "root"),
    ('{"msgType": "CLUE"}', "body", "xml"),
    (packet("AJJS", RECEIPT_BODY)[:-12], "body", "xml"),
    ("", "body", "xml"),
])
def test_native_errors_name_field_and_rule(text, field, rule):
    with pytest.raises(hub.InvalidMessage) as exc:
        parse(text)
    assert (exc.value.field, exc.value.rule) == (field, rule)
    assert rule in exc.value.reason
    if field:
        assert field in exc.value.reason


@pytest.mark.parametrize(("body", "content_encoding"), [
    (packet("AJJS", RECEIPT_BODY, encoding="UTF-8").encode("gb18030"), None),  # GB18030 bytes said to be UTF-8
    (packet("AJJS", RECEIPT_BODY, prolog=False).encode("gb18030"), None),  # nothing said: UTF-8
    (packet("AJJS", RECEIPT_BODY, encoding="x-no-such").encode("utf-8"), None),
    (packet("AJJS", RECEIPT_BODY, encoding="hex").encode("utf-8"), None),
    (packet("AJJS", RECEIPT_BODY, prolog=False).encode("utf-8"), "rot13"),
])
def test_undecodable_packets_are_refused(body, content_encoding):
    with pytest.raises(hub.InvalidMessage) as exc:
        parse(body, content_encoding=content_encoding)
    assert exc.value.rule == "encoding"


def test_no_value_in_a_reason():
    secret = "37010319821226234X"
    for text in (packet("AJJS", f"<YSBH>YS1</YSBH><JSSJ>{secret}</JSSJ>"),
                 packet("LAJD", f"<YSBH>YS1</YSBH><JDLX>{secret}</JDLX><JDSJ>2023-06-28 15:00:00</JDSJ>"),
                 packet(secret, RECEIPT_BODY)):
        with pytest.raises(hub.InvalidMessage) as exc:
            parse(text)
        assert secret not in f"{exc.value.reason} {exc.value.details}"


# --- register_samples ------------------------------------------------------------------


def test_samples_are_shipped_in_the_package():
    assert set(GOOD) == {"police-receipt.xml", "police-decision.xml", "police-materials.xml",
                         "police-decision-declined.xml", "police-reconsideration.xml"}
    assert {n for n, s in SAMPLES.items() if s.bad} == {"police-dtd.xml", "police-missing-ysbh.xml",
                                                        "police-fyjd-no-case-number.xml",
                                                        "police-bccl-no-materials.xml"}
    assert all(s.content_type == "application/xml" for s in SAMPLES.values())


@pytest.mark.parametrize("name", sorted(name for name, s in SAMPLES.items() if s.bad))
def test_bad_samples_are_refused_with_their_reason(running_hub, name):
    """Each bad sample is dead-lettered whole, the reason naming the police's tag and the rule."""
    sample = SAMPLES[name]
    assert sample.bad and sample.reason
    failure = refused_whole(running_hub, "police", sample.body, sample.content_type, sample.content_encoding)
    assert sample.reason.lower() in f"{failure.reason} {failure.field} {failure.rule}".lower()
    assert "(rule: " in failure.reason


def test_sample_times_are_business_times_and_order_the_whole_matter():
    for sample in GOOD.values():
        rec = canonical(parse(sample.body, content_encoding=sample.content_encoding)[0])
        at = {"police_receipt": "received_at", "materials_request": "requested_at"}.get(rec["type"], "decided_at")
        assert sample.at == rec[at]
    everything = [s for s in [*hrss.register_samples(), *police.register_samples()] if not s.bad]
    ordered = [s.kind for s in sorted(everything, key=lambda s: s.at)]
    # the first matter: received, materials asked for, the dossier sent again, opened; the
    # individual employer's: ordered, transferred, declined, reconsidered, supervision asked
    assert ordered == ["CLUE", "CASE_STATUS", "PAY_ORDER", "TRANSFER", "AJJS", "BCCL", "TRANSFER", "LAJD",
                       "PAY_ORDER", "PAYMENT", "TRANSFER", "LAJD", "RECONSIDER", "FYJD", "SUPERVISE", "EXTENSION",
                       "LISTING"]


# --- render_record: AJYS -----------------------------------------------------------------


def _transfer_record() -> dict:
    [parsed] = hrss.parse_message(message=hub.NativeMessage(
        agency="hrss", body=next(s for s in hrss.register_samples() if s.kind == "TRANSFER" and not s.bad).body,
        content_type="application/json"), settings={})
    rec = schemas.normalise_record({"type": parsed.type, "source_agency": "hrss", "source_ref": parsed.source_ref,
                                    "received_at": "2023-06-20T09:00:00+08:00", **parsed.record})
    return {**rec, "record_id": "rec-4", "matter_id": "mat-1", "order_due_on": "2023-06-15"}


TRANSFER = _transfer_record()


def render(record: dict | None = None, settings: dict | None = None, **kwargs) -> hub.Rendered:
    delivery = hub.Delivery(
        recipient="police", kind=kwargs.pop("kind", "AJYS"), route="transfer-to-police",
        record_type=kwargs.pop("record_type", "criminal_transfer"), record=TRANSFER if record is None else record,
        refs={"case_no": [FACTS["case_no"]]}, message_id="out-1", matter_id="mat-1",
        created_at=kwargs.pop("created_at", "2023-06-21T10:05:00+08:00"), **kwargs)
    return police.render_record(delivery=delivery, settings=settings or {})


def reparse(rendered: hub.Rendered):
    """Read our own packet back the way a careful recipient would: decoded, then defusedxml."""
    text = rendered.body.decode(rendered.content_encoding)
    prolog, _, rest = text.partition("\n")
    return DET.fromstring(rest, forbid_dtd=True, forbid_entities=True, forbid_external=True), prolog


def test_ajys_from_the_canonical_transfer():
    rendered = render()
    assert (rendered.content_type, rendered.content_encoding) == ("application/xml", "gb18030")
    assert rendered.body.startswith('<?xml version="1.0" encoding="GB18030"?>'.encode("ascii"))
    assert "海岱建筑劳务有限公司".encode("gb18030") in rendered.body
    assert "海岱建筑劳务有限公司".encode() not in rendered.body
    root, _ = reparse(rendered)
    assert (root.tag, root.get("TYPE"), root.get("VERSION")) == ("PACKET", "AJYS", "1.0")
    head = {child.tag: child.text for child in root.find("HEAD")}
    assert head == {"XXBH": "out-1", "FSDW": "370000000000", "FSSJ": "2023-06-21 10:05:00"}
    body = root.find("BODY")
    assert [child.tag for child in body] == ["YSBH", "YSDW", "JSDW", "DWMC", "TYXYDM", "XYR", "SJRS", "QXJE",
                                             "ZLZFBH", "ZLZFQX", "ZJQD", "YSRQ", "AQZY"]
    assert body.findtext("YSBH") == FACTS["transfer_no"]
    assert body.findtext("YSDW") == "人力资源社会保障局劳动保障监察机构"
    assert body.findtext("JSDW") == "370103000000"
    assert body.findtext("DWMC") == "海岱建筑劳务有限公司"
    assert body.findtext("TYXYDM") == FACTS["employer_uscc"]
    [xyr] = body.findall("XYR")
    assert {c.tag: c.text for c in xyr} == {"XM": "徐建国", "SFZH": "370103196601215548", "ZW": "法定代表人"}
    assert body.findtext("SJRS") == str(FACTS["workers"])
    assert body.findtext("QXJE") == FACTS["amount_yuan"] == "382848.00"
    assert body.findtext("ZLZFBH") == FACTS["order_no"]
    assert body.findtext("ZLZFQX") == "2023-06-15"
    assert body.findtext("ZJQD") == "E01,E02,E03,E04"
    assert body.findtext("YSRQ") == "2023-06-20"
    assert body.findtext("AQZY") == "经责令支付逾期仍不支付"


def test_ajys_reads_back_through_our_own_parser_safely():
    """Our packet is well-formed for defusedxml, prolog and all (its packet type is not inbound)."""
    with pytest.raises(hub.InvalidMessage) as exc:
        parse(render().body)
    assert (exc.value.field, exc.value.rule) == ("PACKET/@TYPE", "enum")


def test_ajys_is_deterministic():
    assert render().body == render().body
    assert render(dict(reversed(list(TRANSFER.items())))).body == render().body


def test_ajys_send_time_is_beijing():
    root, _ = reparse(render(created_at="2023-06-21T02:05:00Z"))
    assert root.findtext("HEAD/FSSJ") == "2023-06-21 10:05:00"


def test_ajys_utf8_when_configured():
    rendered = render(settings={"encoding": "utf-8", "sender_unit": "370103999999",
                                "transferring_unit": "济南市人社局"})
    assert rendered.content_encoding == "utf-8"
    assert rendered.body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    root, _ = reparse(rendered)
    assert root.findtext("HEAD/FSDW") == "370103999999"
    assert root.findtext("BODY/YSDW") == "济南市人社局"
    assert root.findtext("BODY/DWMC") == "海岱建筑劳务有限公司"


def test_ajys_escapes_special_characters():
    summary = 'A&B <script>alert("x")</script> 1 < 2 > 0 ]]> & 欠薪'
    record = {**TRANSFER, "summary": summary,
              "employer": {"name": "海岱&<劳务>", "uscc": FACTS["employer_uscc"]},
              "suspects": [{"name": "徐<建>国&", "id_number": "370103196601215548", "role": None},
                           {"name": "王二", "id_number": "37010319821226234X", "role": "实际控制人"}]}
    rendered = render(record)
    assert b"<script>" not in rendered.body
    assert b"&amp;" in rendered.body and b"&lt;" in rendered.body
    root, _ = reparse(rendered)
    assert root.findtext("BODY/AQZY") == summary
    assert root.findtext("BODY/DWMC") == "海岱&<劳务>"
    suspects = root.findall("BODY/XYR")
    assert [s.findtext("XM") for s in suspects] == ["徐<建>国&", "王二"]
    assert [s.findtext("SFZH") for s in suspects] == ["370103196601215548", "37010319821226234X"]
    assert suspects[0].find("ZW") is None and suspects[1].findtext("ZW") == "实际控制人"


def test_ajys_absent_values():
    record = {k: v for k, v in TRANSFER.items() if k not in ("order_due_on", "summary")}
    root, _ = reparse(render(record))
    body = root.find("BODY")
    assert body.find("ZLZFQX") is not None and not body.findtext("ZLZFQX")
    assert body.find("AQZY") is None
    root, _ = reparse(render({**TRANSFER, "summary": None, "evidence": []}))
    assert root.find("BODY/AQZY") is None and root.findtext("BODY/ZJQD") == ""


def test_what_xml_cannot_carry_still_reaches_the_police():
    """hrss's JSON may hold characters XML 1.0 cannot: Word's line and page breaks (vertical
    tab, form feed) as line breaks, any other as U+FFFD; refusing would hold the transfer
    (and its matter's later packets) for good."""
    record = {**TRANSFER, "summary": "逾期不付\x0b第二段\x0c第三页 bell \x07", "employer": {
        **TRANSFER["employer"], "name": "海岱\x1b建筑"}}
    root, _ = reparse(render(record))
    assert root.findtext("BODY/AQZY") == "逾期不付\n第二段\n第三页 bell \ufffd"
    assert root.findtext("BODY/DWMC") == "海岱\ufffd建筑"


def test_render_refuses_other_kinds():
    with pytest.raises(ValueError):
        render(kind="AJJS")
    with pytest.raises(ValueError):
        render({"type": "clue"}, record_type="clue")
    with pytest.raises(ValueError):
        render(settings={"encoding": "latin-1"})


# --- robustness: whatever the bytes, InvalidMessage or records --------------------------


def _parse_any(body: bytes, encoding: str | None = None) -> None:
    try:
        items = parse(body, content_encoding=encoding)
    except hub.InvalidMessage as exc:
        assert exc.reason and exc.rule
        return
    for parsed in items:
        assert isinstance(parsed, hub.Parsed)
        try:
            canonical(parsed)
        except schemas.RecordInvalid:
            pass


@st.composite
def _mutated(draw, bodies: list[bytes]) -> bytes:
    body = bytearray(draw(st.sampled_from(bodies)))
    for _ in range(draw(st.integers(1, 4))):
        if not body:
            break
        i = draw(st.integers(0, len(body) - 1))
        op = draw(st.sampled_from(["set", "delete", "insert", "truncate"]))
        if op == "set":
            body[i] = draw(st.integers(0, 255))
        elif op == "delete":
            del body[i]
        elif op == "insert":
            body[i:i] = draw(st.sampled_from([b"<", b">", b"&", b"<!DOCTYPE x>", b"\x80", b"\xff\xfe", b"]]>"])
                              | st.binary(min_size=1, max_size=4))
        else:
            del body[i:]
    return bytes(body)


@FUZZ
@given(body=st.binary(max_size=300), encoding=st.sampled_from([None, "utf-8", "gb18030", "binary", "x-unknown"]))
def test_random_bytes_never_crash(body, encoding):
    _parse_any(body, encoding)


@FUZZ
@given(body=_mutated([s.body for s in SAMPLES.values()] + [render().body]))
def test_mutated_packets_never_crash(body):
    _parse_any(body)


_TAGS = ["YSBH", "JSSJ", "JSR", "JDLX", "LAAJBH", "JDSJ", "LY"]


@FUZZ
@given(kind=st.sampled_from(["AJJS", "LAJD"]),
       tags=st.lists(st.tuples(st.sampled_from(_TAGS), st.text(max_size=20)), max_size=8))
def test_any_tag_values_never_crash(kind, tags):
    from xml.sax.saxutils import escape

    illegal = set(range(0x20)) - {0x09, 0x0A, 0x0D}
    body = "".join(f"<{tag}>{escape(value)}</{tag}>" for tag, value in tags
                   if not any(ord(c) in illegal or 0xD800 <= ord(c) <= 0xDFFF for c in value))
    _parse_any(packet(kind, body, encoding="GB18030").encode("gb18030"))


# --- what the samples do not show -----------------------------------------------------------


def test_a_receipt_on_the_longest_transfer_number_the_hub_accepts():
    """A YSBH as long as a canonical transfer number (64) still makes a record: its
    reference (YSBH/TYPE/time) is longer than the number itself."""
    ysbh = "YS" + "3" * 62
    [parsed] = parse(packet("AJJS", f"<YSBH>{ysbh}</YSBH><JSSJ>2023-06-21 09:30:00</JSSJ>"))
    record = canonical(parsed)
    assert record["transfer_no"] == ysbh and record["source_ref"] == f"{ysbh}/AJJS/20230621093000"


@pytest.mark.parametrize("when", ["２０２３-06-21 09:30:00", "٢٠٢٣-06-21 09:30:00", "2023-06-21 ０9:30:00"])
def test_times_take_ascii_digits_only(when):
    with pytest.raises(hub.InvalidMessage) as exc:
        parse(packet("AJJS", f"<YSBH>YS37010320230880</YSBH><JSSJ>{when}</JSSJ>"))
    assert exc.value.rule == "time-format" and exc.value.field == "BODY/JSSJ"


def test_a_gb18030_byte_order_mark_before_the_prolog():
    body = "\ufeff".encode("gb18030") + packet("AJJS", RECEIPT_BODY, encoding="GB18030").encode("gb18030")
    [parsed] = parse(body)
    assert parsed.record["officer"] == "王德华"


def test_carriage_returns_reach_the_police_as_sent():
    summary = "第一行\r\n第二行\r第三行\n第四行"
    root, _ = reparse(render({**TRANSFER, "summary": summary}))
    assert root.findtext("BODY/AQZY") == summary


# --- format 1.2 ------------------------------------------------------------------------------

def _hrss_record(name: str) -> dict:
    sample = next(s for s in hrss.register_samples() if s.name == name)
    [parsed] = hrss.parse_message(message=hub.NativeMessage(agency="hrss", body=sample.body,
                                                            content_type="application/json"), settings={})
    return schemas.normalise_record({"type": parsed.type, "source_agency": "hrss", "source_ref": parsed.source_ref,
                                     "received_at": "2023-07-20T09:00:00+08:00", **parsed.record})


def test_materials_request_sample():
    rec = canonical(parse(GOOD["police-materials.xml"].body, content_encoding="gb18030")[0])
    assert (rec["type"], rec["transfer_no"], rec["requested_at"]) == (
        "materials_request", FACTS["transfer_no"], "2023-06-21T11:00:00+08:00")
    assert "逐人欠薪明细" in rec["missing"]
    assert rec["source_ref"] == f"{FACTS['transfer_no']}/BCCL/20230621110000"


@pytest.mark.parametrize(("body", "decision", "case_no", "reason"), [
    ("<JDLX>2</JDLX><LY>维持</LY>", "upheld", None, "维持"),
    ("<JDLX>1</JDLX><LAAJBH>A370103202300881</LAAJBH>", "opened", "A370103202300881", None),
])
def test_reconsideration_decisions(body, decision, case_no, reason):
    text = packet("FYJD", f"<YSBH>YS37010320230881</YSBH>{body}<JDSJ>2023-07-28 10:00:00</JDSJ>")
    [parsed] = parse(text)
    rec = canonical(parsed)
    assert (rec["type"], rec["decision"], rec["police_case_no"], rec["reason"]) == (
        "reconsideration_decision", decision, case_no, reason)
    assert parsed.source_ref == "YS37010320230881/FYJD/20230728100000"


@pytest.mark.parametrize(("kind", "body", "field", "rule"), [
    ("FYJD", "<YSBH>Y</YSBH><JDLX>3</JDLX><JDSJ>2023-07-28 10:00:00</JDSJ><LY>x</LY>", "BODY/JDLX", "enum"),
    ("FYJD", "<YSBH>Y</YSBH><JDLX>2</JDLX><JDSJ>2023-07-28 10:00:00</JDSJ>", "BODY/LY", "required-if"),
    ("FYJD", "<YSBH>Y</YSBH><JDLX>1</JDLX><JDSJ>2023-07-28 10:00:00</JDSJ>", "BODY/LAAJBH", "required-if"),
    ("BCCL", "<YSBH>Y</YSBH><QSCL>台账</QSCL><TZSJ>2023-06-21</TZSJ>", "BODY/TZSJ", "time-format"),
    ("BCCL", "<QSCL>台账</QSCL><TZSJ>2023-06-21 11:00:00</TZSJ>", "BODY/YSBH", "required"),
])
def test_new_packets_refused_by_their_tag(running_hub, kind, body, field, rule):
    failure = refusal(running_hub, packet(kind, body))
    assert (failure.field, failure.rule, failure.kind) == (field, rule, kind)


def _body(rendered: hub.Rendered):
    root, _ = reparse(rendered)
    return root, root.find("BODY")


def test_ajys_of_an_individual_employer_with_workers():
    """Individual employer: DWMC his name, TYXYDM empty, SFZH after it; GRMX per worker, no identity number."""
    record = {**_hrss_record("hrss-transfer-individual.json"), "order_due_on": "2023-07-13"}
    routed = police_route().project(record, lambda rtype: None)
    rendered = render(routed)
    root, body = _body(rendered)
    assert root.get("TYPE") == "AJYS"
    tags = [child.tag for child in body]
    assert tags[tags.index("DWMC"):tags.index("DWMC") + 3] == ["DWMC", "TYXYDM", "SFZH"]
    assert body.findtext("DWMC") == "刘德海" and not body.findtext("TYXYDM")
    assert body.findtext("SFZH") == record["employer"]["id_number"]
    grmx = body.findall("GRMX")
    assert len(grmx) == 10 and tags.index("GRMX") == tags.index("QXJE") + 1
    first = record["workers"][0]
    assert [(g.tag, g.text) for g in grmx[0]] == [("XM", first["name"]), ("JE", first["amount"]),
                                                  ("QJ", "2023-03..2023-05")]
    text = rendered.body.decode("gb18030")
    assert not any(w["id_number"] in text for w in record["workers"])


def police_route():
    from hub.config import load_settings
    from hub.messaging.routes import load_routes

    cfg = load_settings({}, environ={})
    return next(r for r in load_routes(cfg["hub"]["routes_file"]) if r.name == "transfer-to-police")


def test_the_route_gives_the_police_no_workers_identity_numbers():
    record = _hrss_record("hrss-transfer-individual.json")
    routed = police_route().project(record, lambda rtype: None)
    assert routed["workers"][0] == {k: record["workers"][0][k] for k in ("name", "amount", "period_from", "period_to")}
    assert routed["employer"]["id_number"] == record["employer"]["id_number"]  # SFZH: the police need it
    assert routed["suspects"][0]["id_number"]


@pytest.mark.parametrize(("round_no", "kind", "bccs"), [(None, "AJYS", None), (1, "AJYS", None), (2, "BCYS", "2"),
                                                        ("3", "BCYS", "3")])
def test_a_dossier_sent_again_is_bcys_with_its_round(round_no, kind, bccs):
    params = {} if round_no is None else {"round": round_no}
    rendered = render(params=params)
    root, body = _body(rendered)
    assert root.get("TYPE") == kind and rendered.headers["x-wagehub-kind"] == kind
    assert body.findtext("BCCS") == bccs
    if bccs:
        assert [c.tag for c in body][:3] == ["YSBH", "BCCS", "YSDW"]


@pytest.mark.parametrize("round_no", [0, "two", True, -1, 1.5])
def test_a_round_that_is_no_whole_number_is_refused(round_no):
    with pytest.raises(ValueError, match="params.round"):
        render(params={"round": round_no})


def test_fysq_from_a_reconsideration_request():
    record = _hrss_record("hrss-reconsider.json")
    root, body = _body(render(record, kind="FYSQ", record_type="reconsideration_request"))
    assert root.get("TYPE") == "FYSQ"
    assert {c.tag: c.text for c in body} == {"YSBH": "YS37010320230881", "SQRQ": "2023-07-26",
                                             "LY": record["reason"]}


@pytest.mark.parametrize(("full", "qbzf"), [(False, "0"), (True, "1")])
def test_zfqk_from_a_payment_after_the_transfer(full, qbzf):
    """Criminal Law Art. 276-1 para. 3: the police learn of wages paid before prosecution."""
    record = {**_hrss_record("hrss-payment.json"), "full": full}
    root, body = _body(render(record, kind="ZFQK", record_type="wage_payment"))
    assert root.get("TYPE") == "ZFQK"
    assert {c.tag: c.text for c in body} == {"YSBH": FACTS["transfer_no"], "ZFJE": "100000.00",
                                             "ZFRQ": "2023-07-05", "QBZF": qbzf}


ESCALATION = {"type": "escalation", "level": "agency", "rule": "police_decide", "title": "公安机关作出立案决定",
              "subject": "transfer", "due_at": "2023-06-24T01:30:00+00:00", "start_at": "2023-06-21T09:30:00+08:00",
              "owner": "police", "matter_id": "mat-1", "overdue_since": "2023-06-24T01:30:00+00:00",
              "transfer_no": FACTS["transfer_no"]}


@pytest.mark.parametrize(("level", "jb"), [("agency", "1"), ("supervision", "2")])
def test_cbtz_for_an_overdue_police_step(level, jb):
    root, body = _body(render({**ESCALATION, "level": level}, kind="CBTZ", record_type="escalation"))
    assert root.get("TYPE") == "CBTZ"
    assert {c.tag: c.text for c in body} == {"YSBH": FACTS["transfer_no"], "SX": "公安机关作出立案决定",
                                             "QX": "2023-06-24 09:30:00", "JB": jb}


def test_cbtz_takes_the_matters_transfer_when_the_step_names_none():
    record = {k: v for k, v in ESCALATION.items() if k != "transfer_no"}
    delivery = hub.Delivery(recipient="police", kind="CBTZ", route="escalation-agency", record_type="escalation",
                            record=record, refs={"transfer_no": ["YS-FIRST", "YS-LATER"]}, message_id="out-9",
                            created_at="2023-06-25T10:00:00+08:00")
    _root, body = _body(police.render_record(delivery=delivery, settings={}))
    assert body.findtext("YSBH") == "YS-FIRST"
    with pytest.raises(ValueError, match="no transfer number"):
        police.render_record(delivery=dataclasses.replace(delivery, refs={}), settings={})


@pytest.mark.parametrize(("kind", "record_type"), [("FYSQ", "criminal_transfer"), ("CBTZ", "wage_payment"),
                                                   ("LAJD", "police_decision")])
def test_a_kind_from_the_wrong_record_is_refused(kind, record_type):
    with pytest.raises(ValueError, match="police writes"):
        render(kind=kind, record_type=record_type)
