"""Files to rows (CSV with or without BOM, JSON, Norway's report) and receipts to CSV."""

import csv
import io
import json
from datetime import date

import pytest

from adapters.education.columns import COLUMNS
from adapters.education.mapping import Refusal
from adapters.education.norway import birth_date_of
from adapters.education.parsing import FileRefused, parse
from adapters.education.receipts import Line, Receipt, neutralise, receipt_csv, receipt_json
from adapters.education.sample import sample_concern_csv, sample_row


def test_a_csv_with_or_without_bom_reads_the_same() -> None:
    with_bom = sample_concern_csv()
    assert with_bom.startswith(b"\xef\xbb\xbf")
    without = with_bom[3:]
    read = [parse("concerns.csv", content, max_rows=10) for content in (with_bom, without)]
    assert read[0] == read[1]
    [item] = read[0].items
    assert item.row == sample_row()
    assert item.ref == "2"  # the spreadsheet's row: the header is row 1


def test_a_cell_may_hold_line_breaks_and_quotes() -> None:
    text = 'He said "stop",\r\nthen left.'
    [item] = parse("c.csv", sample_concern_csv([sample_row(description=text)]), max_rows=5).items
    assert item.row is not None
    assert item.row["description"] == text


def test_a_malformed_row_refuses_only_itself() -> None:
    good = sample_concern_csv([sample_row(), sample_row()]).decode("utf-8-sig")
    header, first, second = good.split("\r\n")[:3]
    broken = "\r\n".join([header, first, "only,three,cells", '"bad"quote,x', second, ""])
    items = parse("c.csv", broken.encode(), max_rows=10).items
    assert [(item.ref, item.refusal) for item in items] == [
        ("2", None),
        ("3", Refusal("wrong_cell_count")),
        ("4", Refusal("malformed_csv_row")),
        ("5", None),
    ]


@pytest.mark.parametrize(
    ("name", "content", "reason", "fields"),
    [
        ("c.csv", b"\xff\xfe not utf-8", "not_utf8", ()),
        ("c.csv", b"", "empty_file", ()),
        (
            "c.csv",
            ("=cmd|' /C calc'!A0," + ",".join(COLUMNS)).encode(),
            "unknown_column",
            ("column 1",),
        ),
        ("c.csv", b"school_urn,child_forename", "missing_column", ()),
        ("c.json", b"{not json", "malformed_json", ()),
        ("c.txt", b"x", "unknown_format", ()),
    ],
)
def test_a_whole_file_that_cannot_be_read_is_refused(
    name: str, content: bytes, reason: str, fields: tuple[str, ...]
) -> None:
    with pytest.raises(FileRefused) as refused:
        parse(name, content, max_rows=10)
    assert refused.value.reason == reason
    if fields:
        assert refused.value.fields == fields


def test_json_reports_use_the_columns_as_keys() -> None:
    report = sample_row(child_dob="2016-03-14") | {"carer_names": ["A B"]}
    document = {"reports": [report, {"nickname": "x"}, [1]]}
    items = parse("c.json", json.dumps(document).encode(), max_rows=10).items
    assert items[0].row is not None
    assert items[0].row["carer_names"] == ["A B"]
    assert items[1].refusal == Refusal("unknown_field", ("key 1",))
    assert items[2].refusal == Refusal("not_an_object")


def _norway() -> dict[str, object]:
    return {
        "kommunenummer": "0301",
        "kommunenavn": "Oslo",
        "bydelsnummer": "01",
        "bydelsnavn": "Gamle Oslo",
        "offentligMelder": {
            "personnavn": "Kari Lærer",
            "rolle": "Kontaktlærer",
            "telefonnummer": "+47 22 00 00 00",
            "epost": "kari@skole.example",
            "virksomhet": {
                "navn": "Sentrum skole",
                "orgnr": "974590000",
                "adresse": {"adresselinje1": "Skolegata 1"},
            },
        },
        "offentligBarn": [
            {
                "fnr": "14031650123",
                "ufoedt": False,
                "personnavn": "Ola Nordmann",
                "adresse": {
                    "adresselinje1": "Storgata 2",
                    "postnummer": "0155",
                    "poststed": "Oslo",
                },
                "orientert": True,
            },
            {
                "fnr": "55031850123",
                "ufoedt": False,
                "personnavn": "Ida Nordmann",
                "adresse": {"adresselinje1": "Storgata 2"},
                "orientert": False,
                "orientertGrunn": "For ung",
            },
        ],
        "foresatte": [
            {"personnavn": "Per Nordmann", "orientert": False, "orientertGrunn": "Mistanke mot far"}
        ],
        "melding": {"melding": "Ola forteller om vold hjemme.", "historie": "Ny bekymring."},
        "sendingstidspunkt": "2025-02-03T10:00:00+01:00",
        "leveringskanal": "skole",
        "caselink": {
            "urgency": "immediate",
            "consent": "not_sought",
            "categories": ["physical abuse"],
        },
    }


def test_a_norway_report_is_one_row_per_child() -> None:
    items = parse("m.json", json.dumps(_norway()).encode(), max_rows=10).items
    assert [item.ref for item in items] == ["1.1", "1.2"]
    first, second = (item.row for item in items)
    assert first is not None
    assert second is not None
    assert (first["child_forename"], first["child_surname"]) == ("Ola", "Nordmann")
    assert first["child_dob"] == "2016-03-14"
    assert second["child_dob"] == "2018-03-15"  # a D-number: day + 40
    assert first["school_urn"] == "974590000"
    assert first["carer_relations"] == ["legal_guardian"]
    assert first["parents_informed"] == "no"
    assert first["urgency"] == "immediate"
    assert first["address"] == ["Storgata 2", "Oslo"]
    unborn = _norway()
    unborn["offentligBarn"] = [
        {"fnr": "", "ufoedt": True, "personnavn": "x", "adresse": {}, "orientert": False}
    ]
    [item] = parse("m.json", json.dumps(unborn).encode(), max_rows=10).items
    assert item.refusal == Refusal("invalid_field", ("ufoedt",))


def test_birth_dates_from_norwegian_numbers() -> None:
    assert birth_date_of("01019949912") == date(1999, 1, 1)
    assert birth_date_of("01011050012") == date(2010, 1, 1)
    assert birth_date_of("01811050012") == date(2010, 1, 1)  # a synthetic test number
    with pytest.raises(ValueError, match="fnr"):
        birth_date_of("0101")


@pytest.mark.parametrize("trigger", ["=", "+", "-", "@", "\t", "\r", "\n", "\x00"])
def test_receipt_cells_never_start_a_formula(trigger: str) -> None:
    assert neutralise(f"{trigger}1+1") == f"'{trigger}1+1"
    assert neutralise("plain") == "plain"


def test_a_receipt_is_quoted_and_neutralised_and_echoes_no_row_content() -> None:
    receipt = Receipt(
        file='=HYPERLINK("http://evil.example","x").csv',
        sha256="ab" * 32,
        processed_at="2025-02-03T10:00:00+00:00",
        outcome="processed",
        lines=[
            Line(
                "2",
                "sent",
                thread_id="0f8fad5b-d9cb-469f-a165-70867728950e",
                message_id="1f8fad5b-d9cb-469f-a165-70867728950e",
            ),
            Line("3", "refused", reason="invalid_field", fields=("child_dob", "urgency")),
        ],
    )
    content = receipt_csv(receipt)
    assert content.startswith(b"\xef\xbb\xbf")
    text = content.decode("utf-8-sig")
    assert all(line.startswith('"') for line in text.split("\r\n") if line)  # quoted
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[0] == ["file", "sha256", "row", "outcome", "thread_id", "reason", "fields"]
    assert rows[1][0] == "'" + receipt.file
    assert rows[1][3:5] == ["sent", "0f8fad5b-d9cb-469f-a165-70867728950e"]
    assert rows[2][3:] == ["refused", "", "invalid_field", "child_dob;urgency"]
    as_json = json.loads(receipt_json(receipt))
    assert as_json["file"] == receipt.file  # raw in JSON
    assert (as_json["sent"], as_json["refused"]) == (1, 1)
