"""Personal data in API and console views (one mask for both): every identity number a
record may hold is masked, and the names of people beside them."""

from __future__ import annotations

from hub.services.records import mask_personal

ID = "37010319821226234X"
ID2 = "370103196601215548"


def test_individual_employers_and_workers_are_masked(mask=mask_personal):
    record = {"type": "criminal_transfer", "employer": {"name": "王某", "id_number": ID2},
              "workers": [{"name": "甲", "id_number": ID, "amount": "20000.00"}]}
    order = {"type": "payment_order", "employer_uscc": None, "employer_id_number": ID2}
    text = repr(mask([record, order]))
    assert ID not in text and ID2 not in text
    masked = mask(order)["employer_id_number"]
    assert masked.startswith("370103") and masked.endswith("5548") and "*" in masked


def test_people_s_names_are_masked_companies_names_are_not():
    record = {"complainant": {"name": "王春生", "id_number": ID, "mobile": "13923720696"},
              "employer": {"name": "王某某", "id_number": ID2, "uscc": None},
              "contractor": {"name": "山东鲁建建工集团有限公司", "uscc": "91370103QEFLCR639M", "id_number": None},
              "suspects": [{"name": "欧阳娜娜", "id_number": ID2}, {"name": "李娜", "id_number": None}]}
    masked = mask_personal(record)
    assert masked["complainant"]["name"] == "王*生" and masked["employer"]["name"] == "王*某"
    assert masked["contractor"]["name"] == "山东鲁建建工集团有限公司"
    assert [s["name"] for s in masked["suspects"]] == ["欧**娜", "李*"]
    assert mask_personal(masked) == masked  # masking twice changes nothing
