"""10 MB values in every parser: each field of each good sample in turn holds a 10 MB
string (and, in JSON, a 10-million-digit number); the parser maps the message or refuses
it with a reason and a rule, and no reason repeats the value. How long each takes is
measured by ``bench/huge_values.py``, not asserted here.

Then one such message per agency goes through the hub's pipeline: stored, or
dead-lettered with its reason and original bytes.
"""

from __future__ import annotations

import io
import json
import os
import re
import zipfile

import pytest

import hub
import plugins.contractor as contractor
import plugins.court as court
import plugins.housing as housing
import plugins.hrss as hrss
import plugins.police as police
import plugins.union as union
import schemas
from tests.helpers import record_fuzz_counts

MB = 1 << 20
SIZE = 10 * MB
HUGE_TEXT = "欠" * (SIZE // 3)  # 10 MB of UTF-8 (and of GB18030: 2 bytes each, 6.7 MB)
HUGE_NUMBER = "9" * SIZE
USCC = "91370103QEFLCR639M"
PLUGINS = {"hrss": hrss, "police": police, "housing": housing, "court": court, "union": union,
           "contractor": contractor}
SETTINGS = {"contractor": contractor.ContractorSettingsSchema().load(
    {"contractors": {USCC: {"name": "鲁建", "key": "contractor-key-1"}}})}
HEADERS = {"contractor": {contractor.CONTRACTOR_HEADER: USCC}}
CASES_PER_SAMPLE = 8  # fields per sample, spread over the document
_COUNTS: dict[str, int] = {}


def _spread(items: list) -> list:
    if len(items) <= CASES_PER_SAMPLE:
        return items
    step = len(items) / CASES_PER_SAMPLE
    return [items[int(i * step)] for i in range(CASES_PER_SAMPLE)]


def _json_leaves(doc, path=()):
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from _json_leaves(v, path + (k,))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield from _json_leaves(v, path + (i,))
    elif not isinstance(doc, bool) and doc is not None:
        yield path, doc


def _json_cases(sample) -> list:
    doc = json.loads(sample.body)
    cases = []
    for path, value in _spread(list(_json_leaves(doc))):
        copy = json.loads(sample.body)
        node = copy
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = "\0HUGE\0"
        text = json.dumps(copy, ensure_ascii=False)
        where = "/".join(map(str, path))
        cases.append((f"{where}=10MB text", text.replace('"\\u0000HUGE\\u0000"', json.dumps(HUGE_TEXT,
                                                                                          ensure_ascii=False))))
        if isinstance(value, (int, float)):
            cases.append((f"{where}=10MB digits", text.replace('"\\u0000HUGE\\u0000"', HUGE_NUMBER)))
    return [(name, body.encode("utf-8")) for name, body in cases]


def _xml_cases(sample) -> list:
    text = sample.body.decode(sample.content_encoding or "utf-8")
    leaves = re.findall(r"<([A-Z0-9_]+)>([^<]*)</\1>", text)
    cases = []
    for tag, _ in _spread(leaves):
        body = re.sub(rf"<{tag}>[^<]*</{tag}>", f"<{tag}>{HUGE_TEXT}</{tag}>", text, count=1)
        cases.append((f"{tag}=10MB text", body.encode(sample.content_encoding or "utf-8")))
    return cases


def _csv_cases(sample) -> list:
    text = sample.body.decode(sample.content_encoding or "utf-8")
    lines = text.splitlines()
    header, first = lines[0].split(","), lines[1].split(",")
    cases = []
    for i in _spread(list(range(len(first)))):
        row = list(first)
        row[i] = HUGE_TEXT
        body = "\r\n".join([lines[0], ",".join(row), *lines[2:]]) + "\r\n"
        cases.append((f"{header[i].lstrip(chr(0xFEFF))}=10MB text", body.encode(sample.content_encoding or "utf-8")))
    return cases


def _xlsx_cases(sample) -> list:
    """The workbook's XML rewritten (openpyxl would cut a cell to Excel's 32,767 characters)."""
    with zipfile.ZipFile(io.BytesIO(sample.body)) as z:
        parts = {name: z.read(name) for name in z.namelist()}
    sheet = parts["xl/worksheets/sheet1.xml"].decode("utf-8")
    names = dict(re.findall(r'<c r="([A-Z]+)1"[^>]*><is><t>([^<]*)</t></is></c>', sheet))
    cells = re.findall(r'<c r="([A-Z]+2)"[^>]*>.*?</c>', sheet)
    cases = []
    for ref in _spread(cells):
        for label, value in (("10MB text", HUGE_TEXT), ("10MB random", os.urandom(SIZE // 2).hex())):
            huge = re.sub(rf'<c r="{ref}"[^>]*>.*?</c>', f'<c r="{ref}" t="inlineStr"><is><t>{value}</t></is></c>',
                          sheet, count=1)
            buf = io.BytesIO()
            with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
                for name, data in parts.items():
                    z.writestr(name, huge.encode("utf-8") if name == "xl/worksheets/sheet1.xml" else data)
            cases.append((f"{names.get(ref.rstrip('0123456789'), ref)}={label}", buf.getvalue()))
    return cases


BUILDERS = {"application/json": _json_cases, "application/xml": _xml_cases, "text/csv": _csv_cases,
            union.xlsx.XLSX_TYPE: _xlsx_cases}


def cases(agency: str) -> list:
    out = []
    for sample in PLUGINS[agency].register_samples():
        if not sample.bad:
            out += [(sample, name, body) for name, body in BUILDERS[sample.content_type](sample)]
    return out


def message(agency: str, sample, body: bytes) -> hub.NativeMessage:
    return hub.NativeMessage(agency=agency, body=body, message_id=f"huge-{agency}", content_type=sample.content_type,
                             content_encoding=sample.content_encoding, kind=sample.kind,
                             headers=dict(HEADERS.get(agency, {})))


def judge(agency: str, sample, body: bytes) -> str:
    """``mapped``, ``rejected`` or ``row rejected``; fails on anything else."""
    plugin = PLUGINS[agency]
    try:
        items = list(plugin.parse_message(message=message(agency, sample, body), settings=SETTINGS.get(agency, {})))
    except hub.InvalidMessage as exc:
        assert exc.reason and exc.rule and len(exc.reason) < 1000
        return "rejected"
    outcome = "mapped"
    for item in items:
        if isinstance(item, hub.Rejected):
            assert item.reason and item.rule and len(item.reason) < 1000
            outcome = "row rejected"
            continue
        assert isinstance(item, hub.Parsed)
        try:
            schemas.normalise_record({"type": item.type, "source_agency": agency, "source_ref": item.source_ref,
                                      "received_at": "2023-06-20T09:00:00+08:00", **item.record})
        except schemas.RecordInvalid as exc:
            assert exc.rule and len(str(exc)) < 1000
            outcome = "row rejected"
    return outcome


@pytest.fixture(scope="module", autouse=True)
def _report_counts():
    yield
    if _COUNTS:
        record_fuzz_counts("parsers (10 MB values)", dict(_COUNTS))


@pytest.mark.slow
@pytest.mark.parametrize("agency", sorted(PLUGINS))
def test_a_10_mb_value_in_any_field_maps_or_is_refused(agency):
    seen: dict[str, int] = {}
    for sample, _name, body in cases(agency):
        outcome = judge(agency, sample, body)
        seen[outcome] = seen.get(outcome, 0) + 1
    _COUNTS[agency] = sum(seen.values())
    assert _COUNTS[agency] >= 3


@pytest.mark.slow
@pytest.mark.parametrize("agency", sorted(PLUGINS))
def test_a_10_mb_message_through_the_pipeline_is_stored_or_dead_lettered(hub, agency):
    sample, _name, body = cases(agency)[0]
    [outcome] = hub.pipeline.process([message(agency, sample, body)])
    assert outcome.status in ("accepted", "rejected")
    assert outcome.records or outcome.dead_letters
    for failure in outcome.failures:
        assert failure.reason and failure.rule and len(failure.reason) < 1000
