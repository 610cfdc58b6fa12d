"""The ``webmap`` command: a thin click layer over the same functions the web uses.

Errors from :mod:`webmap.errors` become one line on stderr and an exit code (1 no result,
2 bad input, configuration or a refusal); no traceback reaches the user.

The CLI acts as a named local account (``--as NAME`` or ``WEBMAP_USER``), checked against
:mod:`webmap.roles` like the web: whoever runs it can open the database, so it asks for no
password. On a database without accounts it acts as the bootstrap admin (a single-user install,
and how the first admin account is made); once there are accounts, a write without ``--as`` is
refused.
"""

from __future__ import annotations

import datetime as dt
import functools
import sys
from pathlib import Path

import click

from .config import Config, check_installation
from .errors import ConfigError, Forbidden, InvalidRecord, NotAuthenticated, WebmapError
from .gazetteer.resolve import DEFAULT_CANDIDATES, GEOCODE_MODES, MAX_CANDIDATES, MIN_PLACE_SCORE


def reports_errors(func):
    """Run a command on a complete installation, turning a :class:`WebmapError` it raises into a
    one-line message and exit code."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            check_installation()
            return func(*args, **kwargs)
        except WebmapError as exc:
            if isinstance(exc, Forbidden | NotAuthenticated) or (
                isinstance(exc, InvalidRecord) and exc.field == "reason"
            ):
                _log_refusal(exc)
            click.echo(f"Error: {exc}", err=True)
            sys.exit(exc.exit_code)

    return wrapper


def _log_refusal(exc: WebmapError) -> None:
    """Put a refused command in the auth log: who tried which command (not allowed, nobody named,
    or no reason given)."""
    ctx = click.get_current_context()
    store = open_store()
    try:
        store.log_auth("refused", actor=_named(), target=f"cli: {ctx.command_path}", detail=str(exc))
    finally:
        store.dispose()


def _named() -> str | None:
    """The account the command acts as (``--as`` or ``WEBMAP_USER``), None when unnamed."""
    obj = click.get_current_context().find_root().obj or {}
    return obj.get("as_user")


def cli_actor(store):
    """Who the command acts as: the account ``--as``/``WEBMAP_USER`` names
    (:class:`NotAuthenticated` when there is none, :class:`Forbidden` when it is disabled), the
    bootstrap admin on a database without accounts, or None (someone without an account)."""
    from .errors import NotAuthenticated
    from .roles import BOOTSTRAP, Actor

    name = _named()
    if name is None:
        return None if store.has_accounts() else BOOTSTRAP
    account = store.account(name)
    if account is None:
        raise NotAuthenticated(f"--as / WEBMAP_USER: no account named {name!r}")
    if account["disabled"]:
        raise Forbidden("read", f"--as / WEBMAP_USER: the account {name} is disabled")
    return Actor(account["name"], account["role"])


def writer(store):
    """The actor of a command that writes; :class:`NotAuthenticated` when nobody is named on a
    database with accounts."""
    from .errors import NotAuthenticated

    actor = cli_actor(store)
    if actor is None:
        raise NotAuthenticated("this database has accounts: name yours with --as NAME or WEBMAP_USER")
    return actor


def open_store():
    """The incident store named by ``WEBMAP_DB`` (or the default SQLite file)."""
    from .store import IncidentStore

    return IncidentStore(Config.from_env().database_url)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="webmap")
@click.option(
    "--as",
    "as_user",
    envvar="WEBMAP_USER",
    metavar="NAME",
    help="act as the account NAME (default WEBMAP_USER; none: the bootstrap admin while the database has no accounts)",
)
@click.pass_context
def main(ctx, as_user):
    """webmap: conflict incidents in northern Iraq's disputed territories, on a map you can trust.

    The database is WEBMAP_DB (any SQLAlchemy URL; default: a SQLite file in
    ~/.local/share/webmap/webmap.db).
    """
    ctx.obj = {"as_user": as_user.strip().lower() if as_user else None}


@main.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--format",
    "fmt",
    metavar="FORMAT",
    help="acled, ucdp, geojson or csv (default: .geojson/.json is geojson; a CSV is told by its columns)",
)
@click.option(
    "--map",
    "mappings",
    multiple=True,
    metavar="COLUMN=FIELD",
    help="read COLUMN as the record field FIELD (csv, geojson); repeatable",
)
@click.option("--update", is_flag=True, help="replace stored incidents (same source and id) whose content changed")
@click.option("--reason", help="why --update changes reviewed incidents (required then; kept in their history)")
@click.option("--encoding", help="the file's encoding when detection fails, e.g. cp1256 or latin-1")
@click.option(
    "--geocode",
    type=click.Choice(GEOCODE_MODES),
    default="missing",
    show_default=True,
    help="place rows by their location in the admin2 district and admin1 governorate they state: "
    "never, rows without coordinates, or always (replacing theirs)",
)
@click.option(
    "--min-score",
    type=click.FloatRange(0, 1),
    default=MIN_PLACE_SCORE,
    show_default=True,
    help="the least gazetteer score a geocoded row is placed with; rows below it go to the review file",
)
@click.option("--strict", is_flag=True, help="write nothing when a row cannot be geocoded")
@click.option(
    "--review",
    type=click.Path(dir_okay=False, path_type=Path),
    help="the CSV listing the rows that could not be geocoded (default: FILE's name + .review.csv)",
)
@reports_errors
def import_(file, fmt, mappings, update, reason, encoding, geocode, min_score, strict, review):
    """Import the incidents of FILE: every row is checked, and all are stored or none.

    Re-importing a file adds nothing; bad rows are listed as "row N: column: problem" (the
    header is row 1) and the database is left unchanged. Rows without coordinates are placed by
    their place name (--geocode); those the gazetteer cannot place surely enough (--min-score) are
    not imported but listed in a review file, or with --strict refused with the import.
    """
    from .io.csv import parse_column_map
    from .io.importer import import_file, write_review

    column_map = parse_column_map(mappings)
    store = open_store()
    summary = import_file(
        store,
        file,
        fmt,
        column_map=column_map,
        update=update,
        encoding=encoding,
        geocode=geocode,
        min_score=min_score,
        strict=strict,
        by=writer(store),
        reason=reason,
    )
    for line in summary.lines():
        click.echo(line)
    if summary.unplaced:
        review = review or file.with_name(file.name + ".review.csv")
        write_review(review, summary.unplaced)
        click.echo(f"the rows not placed are listed in {review}")


def filter_options(func):
    """Add an option per filter parameter (:data:`webmap.query.FILTER_PARAMETERS`) to a command;
    the command gets them together as ``filter_values``."""
    from .query import FILTER_PARAMETERS

    for parameter in reversed(FILTER_PARAMETERS):
        dest = "filter_" + parameter.name
        if parameter.flag:
            option = click.option(parameter.option, dest, is_flag=True, help=parameter.help)
        else:
            help_text = parameter.help + ("; repeatable" if parameter.several else "")
            option = click.option(
                parameter.option, dest, multiple=parameter.several, metavar=parameter.metavar, help=help_text
            )
        func = option(func)

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        given = {name: kwargs.pop(name) for name in list(kwargs) if name.startswith("filter_")}
        kwargs["filter_values"] = given
        return func(*args, **kwargs)

    return wrapper


def build_filter(filter_values: dict):
    """The :class:`~webmap.query.IncidentFilter` of a command's filter options, read exactly as the
    same query parameters are on the web; an error names the option the user typed."""
    from .errors import InvalidFilter
    from .query import FILTER_PARAMETERS, IncidentFilter

    params: dict[str, list[str]] = {}
    for parameter in FILTER_PARAMETERS:
        value = filter_values["filter_" + parameter.name]
        if parameter.flag:
            value = ["1"] if value else []
        elif not parameter.several:
            value = [] if value is None else [value]
        if value:
            params[parameter.name] = list(value)
    try:
        return IncidentFilter.from_params(params)
    except InvalidFilter as exc:
        option = next((p.option for p in FILTER_PARAMETERS if p.name == exc.parameter), exc.parameter)
        raise InvalidFilter(option, exc.message.removeprefix(f"{exc.parameter}: ")) from None


@main.command("export")
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="the file to write (never a link, a device or the database; an existing file only with --overwrite)",
)
@click.option(
    "--format", "fmt", metavar="FORMAT", help="geojson, csv or gpkg (default: from the extension of --output)"
)
@click.option("--overwrite", is_flag=True, help="replace --output if it exists (in one step: whole or not at all)")
@click.option(
    "--raw", is_flag=True, help="CSV: write texts as they are, even those a spreadsheet would run as formulas"
)
@click.option(
    "--provenance", is_flag=True, help="add who made and reviewed each incident, and its version (reviewed_by, ...)"
)
@filter_options
@reports_errors
def export(output, fmt, overwrite, raw, provenance, filter_values):
    """Write the filtered incidents to a GeoJSON, CSV or GeoPackage file (the filter is the map's:
    each option is the query parameter of the same name).

    A CSV text that a spreadsheet would run as a formula (=, +, -, @ first) is written with ' before
    it, unless --raw; webmap import takes the ' off again.
    """
    from .io.exporters import export_file
    from .query import iter_incidents
    from .roles import authorize

    flt = build_filter(filter_values)
    store = open_store()
    actor = cli_actor(store)
    if flt.include_drafts:
        authorize(actor, "read_drafts")
    if provenance:
        authorize(actor, "read_history")
    count = export_file(
        iter_incidents(store, flt),
        output,
        fmt,
        overwrite=overwrite,
        protected=store.database_files(),
        raw=raw,
        provenance=provenance,
    )
    click.echo(f"{count} incidents written to {output}" + ("" if count else " (the filter matched none)"))


@main.group()
def geodata():
    """Boundary layers: governorates (adm1), districts (adm2), sub-districts (adm3)."""


@geodata.command("import")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option(
    "--level",
    required=True,
    type=click.Choice(["adm1", "adm2", "adm3"]),
    help="adm1 governorates, adm2 districts, adm3 sub-districts",
)
@click.option(
    "--pcode-column", metavar="COLUMN", help="the column holding P-codes (default: detected, e.g. ADM2_PCODE)"
)
@click.option(
    "--name-column", metavar="COLUMN", help="the column holding English names (default: detected, e.g. ADM2_EN)"
)
@reports_errors
def geodata_import(path, level, pcode_column, name_column):
    """Replace the LEVEL boundaries with the polygons of PATH (GeoJSON, Shapefile, GeoPackage).

    The file is checked (valid polygons, a CRS or EPSG:4326 assumed, names and P-codes, nesting in
    the level above); if it passes it is kept in WEBMAP_GEODATA and every stored incident is
    re-joined in one transaction. Otherwise the bad features are listed and nothing changes.
    """
    import warnings

    from .io.geodata import import_admin_layer

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            store = open_store()
            result = import_admin_layer(
                store, path, level, pcode_column=pcode_column, name_column=name_column, by=writer(store)
            )
        finally:
            for warning in caught:
                click.echo(f"Warning: {warning.message}", err=True)
    click.echo(f"{result.level}: {result.features} areas installed as {result.path}")
    click.echo(f"{result.rejoined} stored incidents re-joined, {result.unassigned} outside every area")


def _serve_options(func):
    func = click.option(
        "--threads",
        default=8,
        show_default=True,
        type=click.IntRange(1, 64),
        help="worker threads (one request each, so a long export never blocks the map)",
    )(func)
    func = click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535))(func)
    func = click.option(
        "--host",
        default="127.0.0.1",
        show_default=True,
        help="address to listen on (0.0.0.0: every interface, for a team server)",
    )(func)
    return func


def _serve(host: str, port: int, threads: int) -> None:
    """Serve the app with waitress until Ctrl-C; a port already in use is a ConfigError naming --port."""
    import errno

    from waitress.server import create_server

    from . import create_app

    # A bad WEBMAP_DB is reported now, and the map's data are computed before the first visitor.
    app = create_app(open_store=True)
    try:
        server = create_server(
            app,
            host=host,
            port=port,
            threads=threads,
            clear_untrusted_proxy_headers=True,
            max_request_body_size=app.config["WEBMAP_LARGEST_BODY"],
        )
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise ConfigError(
                "--port",
                f"{host}:{port} is already in use (is webmap already running? "
                f"try --port {port + 1 if port < 65535 else 5000})",
            ) from None
        raise ConfigError("--host", f"cannot listen on {host}:{port}: {exc.strerror}") from None
    _prepare_extraction()
    click.echo(f"webmap: serving the map at http://{host}:{port}/ with {threads} threads (Ctrl-C stops it)")
    try:
        server.run()
    except KeyboardInterrupt:
        click.echo("webmap: stopped")
    finally:
        server.close()


def _prepare_extraction() -> None:
    """Load what reading a report needs (:mod:`webmap.extract.prepare`) before the first request, saying
    each step and, for a long one, how far it is every quarter; so the first report is read in a moment."""
    import time

    from .extract.prepare import STEPS, prepare

    told: dict[int, int] = {}
    started = time.perf_counter()

    def progress(step: int, share: float) -> None:
        quarter = int(share * 4)
        if step not in told:
            click.echo(f"webmap: {STEPS[step].label}…")
        elif 0 < quarter < 4 and quarter > told[step]:
            click.echo(f"webmap:   {quarter * 25}%")
        told[step] = max(told.get(step, 0), quarter)

    prepare(progress)
    click.echo(f"webmap: ready to read reports ({time.perf_counter() - started:.1f} s)")


@main.command()
@_serve_options
@reports_errors
def serve(host, port, threads):
    """Serve the map, the API and the exports with waitress (the database is WEBMAP_DB)."""
    _serve(host, port, threads)


@main.command()
@_serve_options
@reports_errors
def demo(host, port, threads):
    """Load the demo incidents into the database and serve the map at http://127.0.0.1:5000.

    The demo incidents are real: UCDP GED events (CC BY 4.0) of 2014-2018 in Kirkuk, Ninewa,
    Salah al-Din, Diyala and Erbil, shipped in geodata/demo_incidents.csv. Loading them again
    adds nothing.
    """
    from .io.demo import load_demo

    store = open_store()
    try:
        summary = load_demo(store, by=writer(store))
    finally:
        store.dispose()
    for line in summary.lines():
        click.echo(line)
    _serve(host, port, threads)


@main.command()
@click.argument("name")
@click.option("--context", metavar="TEXT", help="words around the name, e.g. 'southwest of Kirkuk'")
@click.option("--district", metavar="NAME", help="the district the place is stated to lie in (a name or P-code)")
@click.option("--governorate", metavar="NAME", help="the governorate the place is stated to lie in (a name or P-code)")
@click.option("--json", "as_json", is_flag=True, help='print {"query", "match", "candidates"} as JSON')
@click.option(
    "--limit",
    default=DEFAULT_CANDIDATES,
    show_default=True,
    type=click.IntRange(1, MAX_CANDIDATES),
    help="candidates to list",
)
@click.option(
    "--online",
    is_flag=True,
    help="ask Nominatim (network) when the gazetteer has no match; also on with WEBMAP_GEOCODER=nominatim",
)
@reports_errors
def geocode(name, context, district, governorate, as_json, limit, online):
    """Resolve the place NAME with the gazetteer (WEBMAP_GAZETTEER, else the user's or the shipped
    gazetteer.csv), in the --district and --governorate it is stated to lie in, as imports and the
    API place a record without coordinates. Exit status 0 with a match, 1 without."""
    import json

    from .errors import GazetteerError
    from .gazetteer import geocode as resolve_name

    if not (name.strip() or district or governorate):
        raise GazetteerError("NAME: empty (give a name, or --district or --governorate)")
    answer = resolve_name(
        name,
        context,
        online=True if online else None,
        limit=limit,
        district=district,
        governorate=governorate,
    )
    if as_json:
        click.echo(json.dumps(answer, ensure_ascii=False))
    for rank, c in enumerate(answer["candidates"] if not as_json else ()):
        area = " / ".join(a for a in (c["governorate"], c["district"]) if a) or "-"
        click.echo(
            f"{'' if rank == 0 else '  '}{c['name']}  {c['latitude']:.5f} {c['longitude']:.5f}  "
            f"{c['country_code']} {area}  {c['feature_code']}  {c['place_id']}  "
            f"score {c['score']:.2f} ({c['reason']})"
        )
    if answer["match"] is None:
        click.echo(f"no match for {name!r}", err=True)
        sys.exit(1)


@main.group()
def gazetteer():
    """The place-name gazetteer (WEBMAP_GAZETTEER, else ~/.local/share/webmap/gazetteer.csv once an
    import has made it, else the shipped gazetteer.csv)."""


@gazetteer.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--format",
    "fmt",
    required=True,
    type=click.Choice(["geonames", "wof", "csv"]),
    help="a GeoNames country dump, a flattened WOF CSV or a gazetteer CSV",
)
@click.option("--country", metavar="CC", help="country code for a WOF file without a country column, e.g. IQ")
@reports_errors
def gazetteer_import(file, fmt, country):
    """Add or replace (same GeoNames / WOF id) the places of FILE, all or none.

    Writes WEBMAP_GAZETTEER when set; otherwise a copy of the shipped gazetteer in the user's data
    folder (~/.local/share/webmap/gazetteer.csv), which is then the default gazetteer.
    """
    from .gazetteer import import_places
    from .roles import authorize
    from .spatial import join_admin_areas

    store = open_store()
    try:
        authorize(writer(store), "geodata")
    finally:
        store.dispose()
    summary = import_places(file, fmt, country=country, admin_join=join_admin_areas)
    click.echo(f"{summary.added} place(s) added, {summary.replaced} replaced in {summary.target}")


@main.command("extract")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@click.option(
    "--date",
    "published",
    required=True,
    metavar="YYYY-MM-DD",
    help="the report's publication date: 'early Saturday' is the Saturday on or before it",
)
@click.option("--source", help="the outlet (default: the one a dateline such as 'ERBIL (Kurdistan 24) –' names)")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help='print {"language", "drafts", "left_out"} as JSON, as POST /api/extract answers',
)
@click.option("--save", is_flag=True, help="store the drafts (status draft; the same report again adds nothing)")
@reports_errors
def extract_(file, published, source, as_json, save):
    """Propose draft incidents from the news report in FILE ('-' reads standard input).

    English or Arabic, plain text or HTML, up to 200,000 characters. Exit status 0 with drafts,
    1 without; events whose place the report does not name are listed on stderr.
    """
    import json

    from .errors import InvalidRecord
    from .extract import MAX_REPORT_BYTES, extract
    from .files import check_input_file, read_capped
    from .records import GEO_PRECISION, TIME_PRECISION

    name = "standard input" if file == "-" else file
    if file == "-":
        raw = read_capped(click.get_binary_stream("stdin"), MAX_REPORT_BYTES, name)
    else:
        check_input_file(file, MAX_REPORT_BYTES)
        with open(file, "rb") as stream:
            raw = read_capped(stream, MAX_REPORT_BYTES, name)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidRecord("text", f"{name} is not UTF-8 text (byte {exc.start})") from None
    result = extract(text, published, source=source)
    if as_json:
        click.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=1))
    for n, draft in enumerate(result.drafts if not as_json else (), start=1):
        i = draft.incident
        actors = " vs ".join(a for a in (i.actor1, i.actor2) if a) or "actors not named"
        killed = "killed not reported" if i.fatalities is None else f"killed {i.fatalities}"
        injured = f", injured {i.injured}" if i.injured is not None else ""
        click.echo(
            f"{n}. {i.event_date} ({TIME_PRECISION[i.time_precision]})  {i.event_type} / {i.sub_event_type}  "
            f"{actors}  {i.location} {i.latitude:.5f} {i.longitude:.5f} ({GEO_PRECISION[i.geo_precision]})  "
            f"{killed}{injured}"
        )
        for evidence in draft.evidence:
            click.echo(f"   « {evidence.text} »")
    for evidence in result.left_out:
        click.echo(f"left out, no place named: « {evidence.text} »", err=True)
    if save and result.drafts:
        store = open_store()
        try:
            actor = writer(store)
            with store.transaction() as conn:
                summary = store.save_batch(conn, [d.incident for d in result.drafts], by=actor)
        finally:
            store.dispose()
        click.echo(f"saved as drafts: {summary.inserted} new, {summary.unchanged} already stored", err=as_json)
    if not result.drafts:
        why = "the text is empty" if not text.strip() else "no attack or clash with a place named"
        click.echo(f"no incidents found: {why}", err=True)
        sys.exit(1)


# -- accounts and tokens ----------------------------------------------------------------------------
def _read_password(name: str) -> str:
    """A new password for ``name``: typed twice at a terminal, or the first line of standard input."""
    if sys.stdin.isatty():
        return click.prompt(f"Password for {name}", hide_input=True, confirmation_prompt=True)
    return sys.stdin.readline().rstrip("\r\n")


def _when(value) -> str:
    return f"{value:%Y-%m-%d %H:%M}" if value else "never"


@main.group()
def users():
    """Accounts: viewer, analyst, reviewer, admin (an admin manages them)."""


@users.command("add")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(["viewer", "analyst", "reviewer", "admin"]))
@reports_errors
def users_add(name, role):
    """Add the account NAME with ROLE; its password is asked twice, or read from standard input."""
    from .accounts import check_name, hash_password

    check_name(name)
    store = open_store()
    actor = writer(store)
    if actor.bootstrap and role != "admin":
        # The command is the bootstrap admin only until the first account exists: a first account
        # that is not an admin would leave it no one to add the others.
        raise InvalidRecord("--role", f"the first account must be an admin (webmap users add {name} --role admin)")
    store.add_account(name, role, hash_password(_read_password(name), name), by=actor)
    click.echo(f"account {name} added ({role})")


@users.command("list")
@reports_errors
def users_list():
    """Every account: name, role, state, last login, live tokens."""
    store = open_store()
    for account in store.accounts(by=writer(store)):
        state = "disabled" if account["disabled"] else "enabled"
        click.echo(
            f"{account['name']}\t{account['role']}\t{state}\tlast login {_when(account['last_login_at'])}"
            f"\t{account['tokens']} tokens"
        )


@users.command("set-role")
@click.argument("name")
@click.argument("role", type=click.Choice(["viewer", "analyst", "reviewer", "admin"]))
@reports_errors
def users_set_role(name, role):
    """Give the account NAME the role ROLE."""
    store = open_store()
    store.set_role(name, role, by=writer(store))
    click.echo(f"{name} is now {role}")


@users.command("disable")
@click.argument("name")
@click.option("--enable", is_flag=True, help="enable the account again")
@reports_errors
def users_disable(name, enable):
    """Disable the account NAME: its sessions end, its tokens are refused (--enable: undo)."""
    store = open_store()
    store.set_disabled(name, not enable, by=writer(store))
    click.echo(f"{name} {'enabled' if enable else 'disabled'}")


@users.command("reset-password")
@click.argument("name")
@reports_errors
def users_reset_password(name):
    """Give the account NAME a new password (asked twice, or read from standard input); its sessions end."""
    from .accounts import hash_password

    store = open_store()
    actor = writer(store)
    if store.account(name) is None:
        from .errors import NotFound

        raise NotFound(f"no account named {name!r}")
    store.set_password(name, hash_password(_read_password(name), name), by=actor)
    click.echo(f"new password set for {name}")


@main.group()
def tokens():
    """Personal API tokens (sent as Authorization: Bearer <token>)."""


def _expiry(value: str | None) -> dt.datetime | None:
    """``--expires``: a number of days (``30``, ``30d``) or a date (``2027-01-31``, the start of that day UTC)."""
    from .errors import InvalidRecord

    if not value:
        return None
    text = value.strip().lower().removesuffix("d")
    if text.isdigit() and 0 < int(text) <= 3650:
        return dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0) + dt.timedelta(days=int(text))
    try:
        day = dt.date.fromisoformat(value.strip())
    except ValueError:
        raise InvalidRecord("--expires", f"{value[:30]!r} is neither a number of days (1-3650) nor a date") from None
    if day <= dt.date.today():
        raise InvalidRecord("--expires", f"{day} is not in the future")
    return dt.datetime.combine(day, dt.time())


@tokens.command("create")
@click.option("--user", "name", required=True, help="the account the token acts as")
@click.option("--expires", metavar="DAYS|DATE", help="when it stops working: days from now, or a date")
@click.option("--label", help="what the token is for, e.g. 'nightly import'")
@reports_errors
def tokens_create(name, expires, label):
    """Make a personal API token for the account --user; it is shown once, here, and kept only as a digest."""
    from .accounts import new_token

    store = open_store()
    actor = writer(store)
    token, token_id, digest = new_token()
    store.create_token(name, token_id, digest, by=actor, label=label, expires_at=_expiry(expires))
    click.echo(token)
    click.echo(
        f"token {token_id} for {name}: shown once; keep it secret (revoke: webmap tokens revoke {token_id})", err=True
    )


@tokens.command("list")
@click.option("--user", "name", help="only this account's tokens (default: your own; an admin's: everyone's)")
@reports_errors
def tokens_list(name):
    """Tokens with their account, label, expiry, last use and revocation; never the token itself."""
    from .roles import may

    store = open_store()
    actor = writer(store)
    if name is None and not may(actor, "users"):
        name = actor.name
    for t in store.tokens(name, by=actor):
        state = f"revoked {_when(t['revoked_at'])}" if t["revoked_at"] else f"expires {_when(t['expires_at'])}"
        click.echo(
            f"{t['token_id']}\t{t['user']}\t{t['label'] or ''}\tmade {_when(t['created_at'])} by {t['created_by']}"
            f"\t{state}\tlast used {_when(t['last_used_at'])}"
        )


@tokens.command("revoke")
@click.argument("token_id")
@reports_errors
def tokens_revoke(token_id):
    """Revoke the token TOKEN_ID (the part after wm_): refused from then on."""
    store = open_store()
    store.revoke_token(token_id, by=writer(store))
    click.echo(f"token {token_id} revoked")


@main.command("history")
@click.argument("incident_id", type=int)
@reports_errors
def history(incident_id):
    """The history of incident INCIDENT_ID, oldest first: version, when, who, what, why, the fields changed."""
    from .roles import authorize

    store = open_store()
    authorize(cli_actor(store), "read_history")
    for entry in store.history(incident_id):
        reason = f" because: {entry['reason']}" if entry["reason"] else ""
        click.echo(f"v{entry['version']} {entry['at']} {entry['actor']} {entry['action']}{reason}")
        if entry["version"] > 1:
            for field_name, (before, after) in entry["changes"].items():
                click.echo(f"    {field_name}: {before!r} -> {after!r}")


if __name__ == "__main__":
    main()
