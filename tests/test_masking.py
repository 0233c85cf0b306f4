"""Personal data in API and console views: every identity number a record may hold is masked."""

from __future__ import annotations

import pytest

from hub.web import api
from hub.web.console import display

ID = "37010319821226234X"
ID2 = "370103196601215548"


@pytest.mark.parametrize("mask", [api.mask_personal, display.mask_personal])
def test_individual_employers_and_workers_are_masked(mask):
    record = {"type": "criminal_transfer", "employer": {"name": "王某", "id_number": ID2},
              "workers": [{"name": "甲", "id_number": ID, "amount": "20000.00"}]}
    order = {"type": "payment_order", "employer_uscc": None, "employer_id_number": ID2}
    text = repr(mask([record, order]))
    assert ID not in text and ID2 not in text
    masked = mask(order)["employer_id_number"]
    assert masked.startswith("370103") and masked.endswith("5548") and "*" in masked
