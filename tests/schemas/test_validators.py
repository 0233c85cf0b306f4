"""The identifier validators, the division table and the field types of ``schemas``."""

from __future__ import annotations

import ast
import decimal
import pathlib
import random
import subprocess
import sys

import marshmallow as ma
import pytest

from schemas import divisions
from schemas import fields as f
from schemas import validators as v

VALID_IDS = ["37010319821226234X", "370103196601215548"]
VALID_USCCS = ["91370103JURQ283F5B", "91370103QEFLCR639M", "91370103P0G7QEYF7X", "91370103B7M7QEY92D"]

SHANDONG_CITIES = {
    "370100": "济南市", "370200": "青岛市", "370300": "淄博市", "370400": "枣庄市",
    "370500": "东营市", "370600": "烟台市", "370700": "潍坊市", "370800": "济宁市",
    "370900": "泰安市", "371000": "威海市", "371100": "日照市", "371300": "临沂市",
    "371400": "德州市", "371500": "聊城市", "371600": "滨州市", "371700": "菏泽市",
}

SAMPLE_DISTRICTS = {
    "370102": "历下区", "370103": "市中区", "370104": "槐荫区", "370105": "天桥区",
    "370112": "历城区", "370113": "长清区", "370114": "章丘区", "370115": "济阳区",
    "370116": "莱芜区", "370117": "钢城区", "370124": "平阴县", "370126": "商河县",
    "370202": "市南区", "370203": "市北区", "370211": "黄岛区", "370212": "崂山区",
    "370213": "李沧区", "370214": "城阳区", "370215": "即墨区", "370281": "胶州市",
    "370283": "平度市", "370285": "莱西市", "370303": "张店区", "370323": "沂源县",
    "370402": "市中区", "370481": "滕州市", "370505": "垦利区", "370523": "广饶县",
    "370602": "芝罘区", "370614": "蓬莱区", "370687": "海阳市", "370705": "奎文区",
    "370786": "昌邑市", "370811": "任城区", "370812": "兖州区", "370883": "邹城市",
    "370902": "泰山区", "370983": "肥城市", "371002": "环翠区", "371003": "文登区",
    "371083": "乳山市", "371102": "东港区", "371122": "莒县", "371302": "兰山区",
    "371324": "兰陵县", "371329": "临沭县", "371403": "陵城区", "371482": "禹城市",
    "371502": "东昌府区", "371503": "茌平区", "371581": "临清市", "371603": "沾化区",
    "371681": "邹平市", "371702": "牡丹区", "371703": "定陶区", "371728": "东明县",
}


def make_id(first17: str) -> str:
    return first17 + v.id_check_char(first17)


def random_ids(n: int, seed: int = 2260) -> list[str]:
    rng = random.Random(seed)
    areas = ["370102", "370211", "371702", "110105", "440305"]
    out = []
    for _ in range(n):
        birth = f"{rng.randint(1950, 2005)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
        out.append(make_id(rng.choice(areas) + birth + f"{rng.randint(0, 999):03d}"))
    return out


def random_usccs(n: int, seed: int = 32100) -> list[str]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        body = "91" + "370103" + "".join(rng.choice(v.USCC_ALPHABET) for _ in range(9))
        out.append(body + v.uscc_check_char(body))
    return out


def assert_private(exc: BaseException, value: str) -> None:
    """Identifiers are personal data: the message must not echo the value checked."""
    text = str(exc)
    assert value not in text
    if value.strip():
        assert value.strip().upper() not in text


# -- identity numbers (GB 11643) ------------------------------------------------------

@pytest.mark.parametrize("number", VALID_IDS)
def test_id_number_samples_pass(number):
    assert v.check_id_number(number) == number


def test_id_number_lower_case_x_is_read_as_upper_case():
    assert v.check_id_number("37010319821226234x") == "37010319821226234X"


def test_id_number_surrounding_blanks_are_stripped():
    assert v.check_id_number(" 370103196601215548\n") == "370103196601215548"


def test_id_check_char_known_values():
    assert v.id_check_char("37010319821226234") == "X"
    assert v.id_check_char("37010319660121554") == "8"
    # ISO 7064 MOD 11-2 example used in GB 11643 itself.
    assert v.id_check_char("11010519491231002") == "X"


@pytest.mark.parametrize("number", random_ids(40))
def test_id_number_generated_pass(number):
    assert v.check_id_number(number) == number
    assert v.check_id_number(number.lower()) == number


def test_id_check_char_covers_every_remainder():
    seen = {v.id_check_char(n[:17]) for n in random_ids(400, seed=7)}
    assert seen == set("10X98765432")


def test_id_number_wrong_check_char_names_the_rule():
    with pytest.raises(ValueError) as info:
        v.check_id_number("370103198212262340")
    assert "check character" in str(info.value)
    assert "GB 11643" in str(info.value)
    assert_private(info.value, "370103198212262340")


@pytest.mark.parametrize("number", random_ids(20, seed=11))
def test_id_number_every_other_check_char_rejected(number):
    for wrong in set("0123456789X") - {number[-1]}:
        with pytest.raises(ValueError, match="check character"):
            v.check_id_number(number[:17] + wrong)


@pytest.mark.parametrize("number", [
    "37010319821226234",          # 17 characters
    "37010319821226234XX",        # 19
    "3701031982122623X4",         # X not last
    "37010319821226A34X",         # letter inside
    "37010319821226234Y",         # not X
    "",
    "３７０１０３１９６６０１２１５５４8",  # full-width digits
    "370103 196601215548",
])
def test_id_number_bad_shape_rejected(number):
    with pytest.raises(ValueError, match="17 digits and a check character") as info:
        v.check_id_number(number)
    if number:
        assert_private(info.value, number)


@pytest.mark.parametrize("value", [None, 370103196601215548, b"370103196601215548"])
def test_id_number_not_a_string_rejected(value):
    with pytest.raises(ValueError, match="string"):
        v.check_id_number(value)


def test_id_number_field_message_carries_rule_not_value():
    class S(ma.Schema):
        id_number = f.IdNumber()

    with pytest.raises(ma.ValidationError) as info:
        S().load({"id_number": "370103198212262340"})
    [msg] = info.value.messages["id_number"]
    assert msg.endswith("(rule: id-number-gb11643)")
    assert "370103198212262340" not in msg
    assert S().load({"id_number": "37010319821226234x"}) == {"id_number": "37010319821226234X"}


# -- unified social credit codes (GB 32100-2015) -------------------------------------

@pytest.mark.parametrize("code", VALID_USCCS)
def test_uscc_samples_pass(code):
    assert v.check_uscc(code) == code
    assert v.check_uscc(code.lower()) == code


@pytest.mark.parametrize("code", random_usccs(30))
def test_uscc_generated_pass(code):
    assert v.check_uscc(code) == code


@pytest.mark.parametrize("code", VALID_USCCS)
def test_uscc_wrong_check_char_rejected(code):
    for wrong in v.USCC_ALPHABET:
        if wrong == code[-1]:
            continue
        with pytest.raises(ValueError, match="check character is wrong") as info:
            v.check_uscc(code[:17] + wrong)
        assert "GB 32100" in str(info.value)
        assert_private(info.value, code[:17] + wrong)


@pytest.mark.parametrize("letter", "IOSVZ")
def test_uscc_forbidden_letters_rejected(letter):
    code = "91370103JURQ283F5B"
    for pos in (2, 10, 17):
        bad = code[:pos] + letter + code[pos + 1:]
        with pytest.raises(ValueError, match="without I, O, S, V, Z") as info:
            v.check_uscc(bad)
        assert_private(info.value, bad)


@pytest.mark.parametrize("code", ["91370103JURQ283F5", "91370103JURQ283F5BB", "", "91370103JURQ283F-B", None, 42])
def test_uscc_bad_shape_rejected(code):
    with pytest.raises(ValueError, match="credit code"):
        v.check_uscc(code)


def test_uscc_field_message_carries_rule():
    class S(ma.Schema):
        uscc = f.Uscc()

    with pytest.raises(ma.ValidationError) as info:
        S().load({"uscc": "91370103JURQ283F5C"})
    [msg] = info.value.messages["uscc"]
    assert msg.endswith("(rule: uscc-gb32100)")
    assert "91370103JURQ283F5C" not in msg


# -- division codes (GB/T 2260) -------------------------------------------------------

def test_every_province_is_in_the_table():
    assert len(divisions.PROVINCES) == 34
    for code in ("110000", "310000", "370000", "650000", "710000", "810000", "820000"):
        assert code in divisions.PROVINCES
        assert v.check_division(code) == code
    assert divisions.PROVINCES["370000"] == "山东省"
    assert divisions.PROVINCES["810000"] == "香港特别行政区"
    assert all(code.endswith("0000") for code in divisions.PROVINCES)


@pytest.mark.parametrize("code,name", sorted(SHANDONG_CITIES.items()))
def test_every_shandong_city_passes(code, name):
    assert v.check_division(code) == code
    assert divisions.division_name(code) == name
    # and its 市辖区
    assert divisions.division_name(code[:4] + "01") == "市辖区"


def test_shandong_has_exactly_the_current_cities():
    current = {c for c in divisions.DIVISIONS
               if c.startswith("37") and c.endswith("00") and c != "370000" and c not in divisions.RETIRED}
    assert current == set(SHANDONG_CITIES)


@pytest.mark.parametrize("code,name", sorted(SAMPLE_DISTRICTS.items()))
def test_shandong_districts_pass(code, name):
    assert v.check_division(code) == code
    assert divisions.division_name(code) == name


def test_every_shandong_county_belongs_to_a_known_city():
    for code in divisions.DIVISIONS:
        if code.startswith("37") and code != "370000":
            assert code[:4] + "00" in divisions.DIVISIONS, code


@pytest.mark.parametrize("code,successor", [
    ("371200", "370100"), ("371202", "370116"), ("371203", "370117"),
    ("370181", "370114"), ("370282", "370215"), ("371626", "371681"),
])
def test_retired_codes_still_validate_and_point_to_successor(code, successor):
    assert v.check_division(code) == code
    assert divisions.RETIRED[code] == successor
    assert successor in divisions.DIVISIONS
    assert successor not in divisions.RETIRED


@pytest.mark.parametrize("code", ["379999", "371299", "371204", "370199", "370106", "370125x", "370700 1"])
def test_nonexistent_shandong_codes_rejected(code):
    with pytest.raises(ValueError, match="GB/T 2260"):
        v.check_division(code)


@pytest.mark.parametrize("code", ["110105", "440305", "310115", "810000"])
def test_other_provinces_pass_on_their_province_part(code):
    assert v.check_division(code) == code


@pytest.mark.parametrize("code", ["990000", "000000", "380101", "720000"])
def test_no_such_province_rejected(code):
    with pytest.raises(ValueError, match="names no province"):
        v.check_division(code)


@pytest.mark.parametrize("code", ["37010", "3701030", "", "ABCDEF", "11０１０５", None, 370103])
def test_division_bad_shape_rejected(code):
    with pytest.raises(ValueError, match="6 digits"):
        v.check_division(code)


def test_division_name():
    assert divisions.division_name("370103") == "市中区"
    assert divisions.division_name(" 370117 ") == "钢城区"
    assert divisions.division_name("110000") == "北京市"
    assert divisions.division_name("371202") == "莱城区"
    assert divisions.division_name("379999") is None
    assert divisions.division_name(None) is None  # type: ignore[arg-type]


def test_division_field_message_carries_rule():
    class S(ma.Schema):
        region = f.Division()

    with pytest.raises(ma.ValidationError) as info:
        S().load({"region": "379999"})
    [msg] = info.value.messages["region"]
    assert msg.endswith("(rule: division-gb2260)")


# -- mobiles --------------------------------------------------------------------------

def test_mobile_ok():
    assert v.check_mobile("13923720696") == "13923720696"
    assert v.check_mobile(" 13923720696 ") == "13923720696"


@pytest.mark.parametrize("number", ["23923720696", "1392372069", "139237206960", "1392372069a",
                                    "1３９２３７２０６９６", "+8613923720696", ""])
def test_mobile_bad_rejected(number):
    with pytest.raises(ValueError, match="11 digits beginning with 1") as info:
        v.check_mobile(number)
    if number:
        assert_private(info.value, number)


def test_mobile_not_a_string_rejected():
    with pytest.raises(ValueError, match="string"):
        v.check_mobile(13923720696)


def test_mobile_field_message_carries_rule_not_value():
    class S(ma.Schema):
        mobile = f.Mobile()

    with pytest.raises(ma.ValidationError) as info:
        S().load({"mobile": "23923720696"})
    [msg] = info.value.messages["mobile"]
    assert msg.endswith("(rule: mobile-11-digits)")
    assert "23923720696" not in msg


def test_masking_helpers():
    assert v.mask_mobile("13923720696") == "139****0696"
    assert v.mask_id_number("37010319821226234X") == "370103********234X"
    assert v.mask_mobile(None) is None
    assert v.mask_id_number("") == ""


@pytest.mark.parametrize("validator,value", [
    (v.IdNumber, "370103198212262340"), (v.Uscc, "91370103JURQ283F5C"),
    (v.Division, "379999"), (v.Mobile, "23923720696"),
])
def test_marshmallow_validators_raise_validation_error(validator, value):
    with pytest.raises(ma.ValidationError) as info:
        validator(value)
    assert value not in str(info.value.messages)


# -- money ----------------------------------------------------------------------------

class _MoneySchema(ma.Schema):
    amount = f.Money()
    signed = f.Money(signed=True)


MONEY = _MoneySchema()


@pytest.mark.parametrize("given,canonical", [
    ("800", "800.00"), ("12345.6", "12345.60"), (800, "800.00"), ("0", "0.00"),
    (" 36000.00 ", "36000.00"), ("382848.00", "382848.00"), (decimal.Decimal("12.5"), "12.50"),
    ("-0", "0.00"),
])
def test_money_loads_and_dumps_two_places(given, canonical):
    loaded = MONEY.load({"amount": given})
    assert isinstance(loaded["amount"], decimal.Decimal)
    assert MONEY.dump(loaded) == {"amount": canonical}


def money_rule(value, field="amount"):
    with pytest.raises(ma.ValidationError) as info:
        MONEY.load({field: value})
    [msg] = info.value.messages[field]
    return msg


def test_money_float_rejected():
    assert money_rule(1.5).endswith("(rule: money-no-float)")
    assert money_rule(800.0).endswith("(rule: money-no-float)")


def test_money_negative_rejected():
    assert money_rule("-5").endswith("(rule: money-non-negative)")
    assert money_rule(-5).endswith("(rule: money-non-negative)")


def test_money_signed_allows_negative():
    assert MONEY.dump(MONEY.load({"signed": "-5"})) == {"signed": "-5.00"}


@pytest.mark.parametrize("value", ["1.234", True, False, "", "1,000", "12e3", "NaN", "１２", "800\n1",
                                   "0000000000000001", "1234567890123456.001", [800], None])
def test_money_bad_format_rejected(value):
    if value is None:
        with pytest.raises(ma.ValidationError):
            MONEY.load({"amount": value})
        return
    assert money_rule(value).endswith("(rule: money-format)")


@pytest.mark.parametrize("value", ["1234567890123456", "1000000000000000.00", "-99999999999999999", 10 ** 17])
def test_money_past_15_digits_names_the_range_not_the_format(value):
    assert money_rule(value).endswith("(rule: money-range)")
    assert MONEY.dump(MONEY.load({"amount": "999999999999999.99"})) == {"amount": "999999999999999.99"}


# -- times and months -----------------------------------------------------------------

class _TimeSchema(ma.Schema):
    at = f.OffsetDateTime()
    month = f.Month()


TIMES = _TimeSchema()


def test_offset_datetime_keeps_offset():
    loaded = TIMES.load({"at": "2023-05-22T09:10:00+08:00"})
    assert loaded["at"].utcoffset().total_seconds() == 8 * 3600
    assert TIMES.dump(loaded) == {"at": "2023-05-22T09:10:00+08:00"}


def test_offset_datetime_z_is_utc():
    assert TIMES.dump(TIMES.load({"at": "2023-05-22T01:10:00Z"})) == {"at": "2023-05-22T01:10:00+00:00"}


@pytest.mark.parametrize("value", ["2023-05-22T09:10:00", "2023-05-22"])
def test_offset_datetime_naive_refused(value):
    with pytest.raises(ma.ValidationError) as info:
        TIMES.load({"at": value})
    assert info.value.messages["at"] == ["time must carry a UTC offset, e.g. +08:00 (rule: time-with-offset)"]


@pytest.mark.parametrize("value", ["yesterday", "2023-13-01T00:00:00+08:00", ""])
def test_offset_datetime_garbage_refused(value):
    with pytest.raises(ma.ValidationError):
        TIMES.load({"at": value})


def test_month():
    assert TIMES.dump(TIMES.load({"month": "2023-05"})) == {"month": "2023-05"}


@pytest.mark.parametrize("value", ["2023-5", "2023-13", "2023-00", "202305", "2023-05\n", "２０２３-05", 202305])
def test_month_bad_rejected(value):
    with pytest.raises(ma.ValidationError) as info:
        TIMES.load({"month": value})
    assert info.value.messages["month"] == ["month must be YYYY-MM (rule: month-format)"]


# -- court case numbers ---------------------------------------------------------------

@pytest.mark.parametrize("given", ["(2023)鲁0103执881号", "（2023）鲁0103执881号", " (2023) 鲁0103执881号 "])
def test_court_case_number_full_width(given):
    assert f.normalise_court_case_number(given) == "（2023）鲁0103执881号"

    class S(ma.Schema):
        n = f.CourtCaseNumber()

    assert S().load({"n": given}) == {"n": "（2023）鲁0103执881号"}


# -- independence ---------------------------------------------------------------------

def test_schemas_import_neither_hub_nor_plugins():
    code = (
        "import sys, schemas, schemas.validators, schemas.fields, schemas.records, schemas.divisions\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('hub', 'plugins'))\n"
        "assert not bad, bad\n"
    )
    root = pathlib.Path(divisions.__file__).resolve().parent.parent
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=root,
                          check=False)
    assert done.returncode == 0, done.stderr


def test_divisions_module_imports_nothing():
    tree = ast.parse(pathlib.Path(divisions.__file__).read_text(encoding="utf-8"))
    imports = [node for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))]
    assert [getattr(n, "module", None) for n in imports] == ["__future__"]
