"""The native bodies every throughput figure uses: the same bytes for raw kombu and the hub.

Half are public security's receipts of a criminal transfer (AJJS, GB18030 XML), half are
court judgments (JSON). Each is a distinct record of its own matter, and each takes one
route (to labour inspection, ``wagehub.out.hrss``), so one inbound message is one record
is one delivery. Every body carries a unique eleven-digit token (``B<token>`` inside its
transfer number) that the rendered delivery carries too: :func:`token_of` finds it, which
is how the latency run matches a delivery to its publish time.
"""

from __future__ import annotations

import json
import re

RECEIPT = ('<?xml version="1.0" encoding="GB18030"?>\n<PACKET TYPE="AJJS" VERSION="1.0"><HEAD><XXBH>GA-B{i:011d}</XXBH>'
           '<FSDW>370103000000</FSDW><FSSJ>2023-06-21 10:00:00</FSSJ></HEAD><BODY><YSBH>YS37B{i:011d}</YSBH>'
           '<JSSJ>2023-06-21 09:30:00</JSSJ><JSR>李警官</JSR></BODY></PACKET>')

_TOKEN = re.compile(rb"B(\d{11})")


def judgment(i: int) -> dict:
    return {"doc_type": "judgment", "doc_id": f"FY-B{i:011d}", "issued_at": "2023-09-01T15:20:00+08:00",
            "body": {"case_number": f"（2023）鲁0103刑初{i % 100000 + 1}号B{i:011d}", "court_code": "FY370103",
                     "procedure": "criminal", "transfer_no": f"YS37B{i:011d}", "hrss_case_no": None,
                     "employer_credit_code": "91370103JURQ283F5B",
                     "defendants": [{"name": "徐建国", "id_number": "370103196601215548"}],
                     "verdict": "guilty", "sentence_months": 27, "amount_ordered": "382848.00",
                     "decided_on": "2023-09-01"}}


def body(i: int) -> tuple[str, bytes, str, str]:
    """``(agency, body, content_type, content_encoding)`` of bench message ``i``."""
    if i % 2 == 0:
        return "police", RECEIPT.format(i=i).encode("gb18030"), "application/xml", "gb18030"
    return "court", json.dumps(judgment(i), ensure_ascii=False).encode(), "application/json", "utf-8"


def token_of(data: bytes) -> int | None:
    """The bench token a body (native or rendered) carries."""
    found = _TOKEN.search(data)
    return int(found.group(1)) if found else None
