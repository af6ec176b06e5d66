"""Tables read into xarray Datasets (`portal.tables`), drawn as SVG (`portal.plots`) and fetched with a size cap and
a checksum check (`portal.table_files`): on the COSINE-100 release of the corpus and on small tables of each
layout the reader accepts."""

from __future__ import annotations

import csv
import hashlib
import math
import re
import socket
import zlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from lxml import etree

from ontology.model import Checksum, Distribution
from portal.plots import svg_plot
from portal.table_files import FileCache, FileUnavailable, human_size
from portal.tables import TableError, choose_columns, error_columns, is_table_name, numeric_columns, read_table

COSINE_DATA = Path("dmdc/cosine100-publicdata/COSINE100-6YearsModulation/data")


def cosine_files(corpus: Path) -> list[Path]:
    files = sorted((corpus / COSINE_DATA).glob("*.csv"))
    assert len(files) == 22, files
    return files


def test_every_cosine_table_reads_with_its_header_and_values(corpus: Path) -> None:
    for path in cosine_files(corpus):
        with path.open(newline="") as handle:
            rows = list(csv.reader(handle))
        dataset = read_table(path.read_bytes(), path.name)
        assert list(dataset.data_vars) == rows[0], path.name
        assert dataset.sizes["row"] == len(rows) - 1
        assert numeric_columns(dataset) == rows[0]  # every column of the release is numeric
        for row_number in (0, len(rows) - 2):
            for column, text in zip(rows[0], rows[row_number + 1], strict=True):
                value = float(dataset[column].values[row_number])
                assert (math.isnan(value) and text == "") or value == float(text), (path.name, column, row_number)


def test_default_columns_leave_uncertainties_to_the_error_bars(corpus: Path) -> None:
    events = read_table((corpus / COSINE_DATA / "EventRate_erc1-3.csv").read_bytes(), "EventRate_erc1-3.csv")
    x, ys = choose_columns(events)
    assert x == "day_centers" and len(ys) == 8 and not any("error" in y for y in ys)
    assert error_columns(events, "event_rate_crystal2") == ("event_rate_error_crystal2",) * 2
    assert error_columns(events, "mean_residual") == ("mean_residual_error",) * 2
    spectrum = read_table((corpus / COSINE_DATA / "AmplitudeSpectrum.csv").read_bytes(), "AmplitudeSpectrum.csv")
    assert error_columns(spectrum, "cosine_erc_single_amplitude") == (
        "cosine_erc_single_amplitude_lower_error",
        "cosine_erc_single_amplitude_upper_error",
    )
    quenching = read_table((corpus / COSINE_DATA / "CosineNaQF.csv").read_bytes(), "CosineNaQF.csv")
    assert choose_columns(quenching) == ("nuclear_recoil_energy", ["qf"])
    assert choose_columns(quenching, y=["qf_err"]) == ("nuclear_recoil_energy", ["qf_err"])
    with pytest.raises(TableError, match=r"has no numeric column 'energy'.*nuclear_recoil_energy"):
        choose_columns(quenching, x="energy")


@pytest.mark.parametrize(
    ("text", "columns", "first_row"),
    [
        ("a\tb\tc\n1\t2\t3\n4\t5\t6\n", ["a", "b", "c"], [1, 2, 3]),
        ("# a comment\n  E_keV    rate  \n 1.0  0.5\n 2.0  0.25\n", ["E_keV", "rate"], [1.0, 0.5]),
        ("1;2\n3;4\n5;6\n", ["column 1", "column 2"], [1, 2]),
        ("x,y\n1,n/a\n2,3\n3,4\n4,5\n5,6\n", ["x", "y"], [1, math.nan]),
        ("'PT [GEV]','SIG [PB]'\n1,2\n", ["PT [GEV]", "SIG [PB]"], [1, 2]),
    ],
    ids=["tsv", "whitespace-with-comment", "semicolon-headerless", "placeholder-in-numbers", "hepdata-quoted"],
)
def test_delimited_layouts(text: str, columns: list[str], first_row: list[float]) -> None:
    dataset = read_table(text.encode(), "table.txt")
    assert list(dataset.data_vars) == columns
    got = [float(dataset[c].values[0]) for c in columns]
    assert all((math.isnan(a) and math.isnan(b)) or a == b for a, b in zip(got, first_row, strict=True)), got


def test_units_and_several_tables_in_one_hepdata_csv() -> None:
    text = (
        "#: name: Table 1\n#: YRAP,,,2.0 TO 2.5\n'PT [GEV]','D2SIG [MUB]'\n0.5,365.0\n1.25,581.0\n\n"
        "#: YRAP,,,2.5 TO 3.0\n'PT [GEV]','D2SIG [MUB]'\n0.5,300.0\n"
    )
    first = read_table(text.encode(), "t.csv")
    second = read_table(text.encode(), "t.csv", table=1)
    assert first.attrs["tables"] == 2 and first.attrs["name"] == "t.csv" and first.attrs["comments"].startswith("#:")
    assert first["PT [GEV]"].attrs["units"] == "GEV" and list(first["D2SIG [MUB]"].values) == [365.0, 581.0]
    assert list(second["D2SIG [MUB]"].values) == [300.0]
    with pytest.raises(TableError, match="holds 2 tables; there is no table 2"):
        read_table(text.encode(), "t.csv", table=2)


def test_hepdata_yaml_table_with_bins_and_errors_in_quadrature() -> None:
    text = """
independent_variables:
- header: {name: PT, units: GEV}
  values: [{low: 0.0, high: 1.0}, {low: 1.0, high: 2.0}]
dependent_variables:
- header: {name: SIG, units: PB}
  qualifiers: [{name: SQRT(S), units: GEV, value: 13000}, {name: YRAP, value: 2.0 TO 2.5}]
  values:
  - value: 10.0
    errors: [{symerror: 3.0, label: stat}, {asymerror: {plus: 4.0, minus: -2.0}, label: sys}]
  - value: 20.0
    errors: [{symerror: 10%, label: stat}]
"""
    dataset = read_table(text.encode(), "HEPData-ins1-v1-Table_1.yaml")
    signal = "SIG [PB] (YRAP=2.0 TO 2.5)"
    components = [f"{signal} error ({label}, {side})" for label in ("stat", "sys") for side in ("plus", "minus")]
    assert list(dataset.data_vars) == [
        "PT [GEV]",
        "PT [GEV] low",
        "PT [GEV] high",
        signal,
        f"{signal} error",
        *components,
    ]
    # each named uncertainty as published, signed; a percentage taken of the value; absent ones are NaN
    assert list(dataset[f"{signal} error (stat, plus)"].values) == [3.0, 2.0]
    assert list(dataset[f"{signal} error (stat, minus)"].values) == [-3.0, -2.0]
    assert dataset[f"{signal} error (sys, minus)"].values[0] == -2.0
    assert math.isnan(dataset[f"{signal} error (sys, plus)"].values[1])
    assert dataset[signal].attrs["qualifier_YRAP"] == "2.0 TO 2.5"
    assert dataset[signal].attrs["qualifier_SQRT_S"] == "13000 GEV"
    assert list(dataset["PT [GEV]"].values) == [0.5, 1.5]
    assert list(dataset[f"{signal} error"].values) == [5.0, 2.0]  # sqrt(3² + 4²); 10 % of 20
    assert error_columns(dataset, signal) == (f"{signal} error",) * 2
    assert dataset[signal].attrs["units"] == "PB"
    with pytest.raises(TableError, match="not a HEPData table"):
        read_table(b"a: 1\n", "other.yaml")


def test_what_is_not_a_table_is_refused_by_name() -> None:
    with pytest.raises(TableError, match=r"w\.h5 is a binary file"):
        read_table(b"\x89HDF\r\n\x1a\n\x00\x00", "w.h5")
    with pytest.raises(TableError, match="holds no rows"):
        read_table(b"# only a comment\n\n", "empty.csv")
    with pytest.raises(TableError, match="1 numeric column"):
        choose_columns(read_table(b"name,value\nCMS,1\nATLAS,2\n", "names.csv"))
    assert is_table_name("data/events.csv") and is_table_name("x", "text/csv") and is_table_name("x", fmt="TSV")
    assert is_table_name("HEPData-ins1-v1-Table_1.yaml", role="table") and not is_table_name("CITATION.cff")
    assert not is_table_name("dmdc.json", "application/json") and not is_table_name("notes.yaml", role="auxiliary")


def test_the_plot_is_an_accessible_svg_with_one_line_per_column(corpus: Path) -> None:
    name = "CosineNaQF.csv"
    dataset = read_table((corpus / COSINE_DATA / name).read_bytes(), name)
    svg = etree.fromstring(svg_plot(dataset, "nuclear_recoil_energy", ["qf"], title=name).encode())
    assert svg.get("role") == "img" and svg.get("aria-label") == f"Plot of qf against nuclear_recoil_energy in {name}"
    assert svg.get("viewBox") and svg.get("width") is None  # scales with the page
    texts = {t.text for t in svg.iter("{http://www.w3.org/2000/svg}text")}
    assert {"nuclear_recoil_energy", "qf", name} <= texts  # text stays text
    assert svg.xpath("//s:g[starts-with(@id, 'LineCollection')]", namespaces={"s": "http://www.w3.org/2000/svg"})


class Server:
    """Counts the requests a mock transport answers."""

    def __init__(self, body: bytes, declare_length: bool = True) -> None:
        self.body = body
        self.declare_length = declare_length
        self.requests = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        if self.declare_length:
            return httpx.Response(200, content=self.body)
        return httpx.Response(200, stream=httpx.ByteStream(self.body))


@pytest.fixture
def cache_dir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "cache"


def file_of(**extra: object) -> Distribution:
    return Distribution(name="t.csv", url="http://files.example.org/t.csv", **extra)  # type: ignore[arg-type]


def test_files_are_fetched_once_and_checked_against_the_record(cache_dir: Path) -> None:
    body = b"x,y\n1,2\n"
    server = Server(body)
    cache = FileCache(cache_dir, transport=httpx.MockTransport(server))
    checked = file_of(checksum=Checksum(algorithm="sha256", value=hashlib.sha256(body).hexdigest()))
    assert cache.fetch(checked) == body and cache.fetch(checked) == body
    assert server.requests == 1 and len(list(cache_dir.iterdir())) == 1
    wrong = file_of(checksum=Checksum(algorithm="md5", value="0" * 32))
    with pytest.raises(FileUnavailable, match=r"does not match the record's checksum md5:0+"):
        cache.fetch(wrong)
    adler = file_of(checksum=Checksum.parse("adler32:" + format(zlib.adler32(body), "08x")))
    assert cache.fetch(adler) == body


@pytest.mark.parametrize("declare_length", [True, False], ids=["content-length", "no-content-length"])
def test_the_size_cap_holds_with_or_without_a_content_length(cache_dir: Path, declare_length: bool) -> None:
    server = Server(b"0123456789" * 1000, declare_length=declare_length)
    cache = FileCache(cache_dir, max_bytes=5000, transport=httpx.MockTransport(server))
    with pytest.raises(FileUnavailable, match=r"larger than 5\.0 kB"):
        cache.fetch(file_of())
    assert server.requests == 1  # refused for good, not retried
    with pytest.raises(FileUnavailable, match=r"is 6\.0 kB; the page plots files of up to 5\.0 kB"):
        cache.fetch(file_of(size_bytes=6000))
    assert server.requests == 1  # the record's size was enough to refuse


def test_an_unreachable_file_is_a_message(cache_dir: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed when the block ends: nothing listens there
    cache = FileCache(cache_dir)
    with pytest.raises(FileUnavailable, match=r"t\.csv could not be fetched.*ConnectError"):
        cache.fetch(Distribution(name="t.csv", url=f"http://127.0.0.1:{port}/t.csv"))
    with pytest.raises(FileUnavailable, match="has no download URL"):
        cache.fetch(Distribution(name="t.csv"))
    with pytest.raises(FileUnavailable, match="served over ftp"):
        cache.fetch(Distribution(name="t.csv", url="ftp://example.org/t.csv"))


def test_human_sizes() -> None:
    assert [human_size(n) for n in (0, 999, 1000, 18657, 2_400_000, 7 * 10**12)] == [
        "0 B",
        "999 B",
        "1.0 kB",
        "18.7 kB",
        "2.4 MB",
        "7.0 TB",
    ]
    assert human_size(None) == "" and re.match(r"^\d", human_size(10**18))
