"""`dmlake sparql`, `dmlake graph` and `dmlake export`: the catalogue as RDF, queried or streamed whole.

`sparql` answers over the catalogue-wide graph (`graphstore/`), which first catches up with the change feed, and
stops a query after `--timeout` seconds (a worker process is killed: Oxigraph cannot interrupt a query); `export`
streams every live record from the catalogue itself, one at a time, so its memory does not grow with
the catalogue.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import IO, Annotated

import typer
from rich.console import Console
from rich.table import Table

from harvester.cli_context import lake_of

out = Console()
err = Console(stderr=True)

EXPORT_FORMATS = ("ttl", "jsonld", "nt")
TABLE_RESULTS = "application/sparql-results+json"
"""What a SELECT/ASK answer comes as from the worker before it is printed as a table."""
DEFAULT_TIMEOUT = 30.0
"""Seconds; as `graphstore.timed.DEFAULT_TIMEOUT` (not imported here: the CLI starts without the graph store)."""


def _fail(message: str) -> typer.Exit:
    err.print(f"[red]error:[/] {message}")
    return typer.Exit(2)


def sparql_command(
    ctx: typer.Context,
    query: Annotated[str | None, typer.Argument(help="The SPARQL 1.1 query (or give --file).")] = None,
    file: Annotated[Path | None, typer.Option("--file", "-f", help="Read the query from this file.")] = None,
    fmt: Annotated[
        str,
        typer.Option(
            "--format",
            help="table (SELECT, for people), json, xml, csv, tsv (SELECT/ASK); turtle, ntriples, rdfxml, jsonld "
            "(CONSTRUCT/DESCRIBE).",
        ),
    ] = "table",
    timeout: Annotated[
        float, typer.Option("--timeout", min=0.001, help="Stop the query after this many seconds.")
    ] = DEFAULT_TIMEOUT,
) -> None:
    """Query every record of the catalogue (and the vocabularies) with SPARQL 1.1; common prefixes are predeclared.
    Each record names its identity cluster (`?record dml:cluster ?dataset`): count DISTINCT ?dataset for datasets
    as the search counts them, DISTINCT ?record for catalogue entries."""
    import pyoxigraph as ox

    from graphstore import GraphStoreBusy, SparqlError, UnknownAnswerFormat
    from graphstore.answers import term_text
    from graphstore.clusters import clustered_graph
    from graphstore.timed import QueryFailed, QueryTimeout

    if (query is None) == (file is None):
        raise _fail("give the query as an argument or with --file, not both")
    text = file.read_text(encoding="utf-8") if file is not None else str(query)
    the_lake = lake_of(ctx)
    try:
        graph = clustered_graph(the_lake)
        the_lake.update_graph()
        table_wanted = fmt == "table"
        accept = f"{TABLE_RESULTS}, text/turtle" if table_wanted else None
        answer = graph.answer(text, None if table_wanted else fmt, accept, timeout, "raise --timeout")
        if table_wanted and answer.media_type == TABLE_RESULTS:
            result = ox.parse_query_results(answer.body, ox.QueryResultsFormat.JSON)
            if isinstance(result, ox.QueryBoolean):
                out.print("yes" if bool(result) else "no")
                return
            variables = [v.value for v in result.variables]
            table = Table(*variables)
            rows = 0
            for solution in result:
                table.add_row(*(term_text(solution[name]) for name in variables))
                rows += 1
            out.print(table)
            err.print(f"{rows:,} row(s)")
            return
        sys.stdout.buffer.write(answer.body)
        sys.stdout.flush()
    except (SparqlError, UnknownAnswerFormat, GraphStoreBusy, QueryTimeout, QueryFailed) as error:
        raise _fail(str(error)) from None
    finally:
        the_lake.close()


def graph_command(
    ctx: typer.Context,
    rebuild: Annotated[bool, typer.Option("--rebuild", help="Drop the graph and load every record again.")] = False,
) -> None:
    """Bring the RDF graph (for SPARQL) up to the catalogue's change feed."""
    from graphstore import GraphStoreBusy
    from graphstore.clusters import clustered_graph, rebuild_clustered_graph

    the_lake = lake_of(ctx)
    try:
        if rebuild:
            applied = rebuild_clustered_graph(the_lake)
        else:
            clustered_graph(the_lake)
            applied = the_lake.update_graph()
        graph = the_lake.graph
        out.print(
            f"graph: {applied:,} change(s) applied; {graph.record_count():,} records, "
            f"{graph.triple_count():,} triples at {the_lake.home.graph_dir}"
        )
    except GraphStoreBusy as error:
        raise _fail(str(error)) from None
    finally:
        the_lake.close()


def export_command(
    ctx: typer.Context,
    fmt: Annotated[str, typer.Option("--format", help="ttl (Turtle), jsonld (one JSON-LD document) or nt.")] = "nt",
    source: Annotated[list[str] | None, typer.Option("--source", help="Only these sources (repeatable).")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")] = None,
) -> None:
    """Stream every live record of the catalogue as RDF (DCAT-AP 3 + PROV-O + dml:), one record at a time."""
    from dmlake.export import export_stream

    if fmt not in EXPORT_FORMATS:
        raise _fail(f"--format must be one of {', '.join(EXPORT_FORMATS)}, not {fmt!r}")
    the_lake = lake_of(ctx)
    try:
        known = set(the_lake.live_sources()) if source else set()
        unknown = [name for name in source or [] if name not in known]
        if unknown:
            listed = ", ".join(sorted(known))
            raise _fail(f"no source {', '.join(map(repr, unknown))} in the catalogue; sources: {listed}")
        target: IO[str]
        with output.open("w", encoding="utf-8") if output else _StdoutKeptOpen() as target:
            count = 0
            for chunk, records in export_stream(the_lake.catalogue, fmt, source or None):
                target.write(chunk)
                count = records
        err.print(f"exported {count:,} record(s) as {fmt}" + (f" to {output}" if output else ""))
    finally:
        the_lake.close()


class _StdoutKeptOpen:
    """sys.stdout as a context manager that is not closed at the end."""

    def __enter__(self) -> IO[str]:
        return sys.stdout

    def __exit__(self, *exc: object) -> None:
        sys.stdout.flush()
