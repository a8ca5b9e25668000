"""``make bench``: the counter's redemption and lookup next to what the database can do.

Starts a throwaway PostgreSQL, fills it (``generate.py --scale``), serves the product
with gunicorn (4 sync workers) and drives it with wrk (32 connections):

- ``POST /api/v1/redemptions``, every request a new Idempotency-Key, the volunteers in
  turn, all redeeming one city-wide perk without stock or limit; its ceiling is pgbench's
  TPC-B (``pgbench -c 32 -j 2``) on the same cluster in the same run;
- ``GET /api/v1/members/{no}``; its ceiling is a bare Flask endpoint running one SELECT,
  served the same way (``bare.py``);
- for context, a naive Flask spend served the same way (``bare.py``: one conditional
  UPDATE and one INSERT, none of the guarantees), next to pgbench, and a naive Flask
  lookup (``bare.py``: the token, the member and the counter's perks in three SELECTs,
  none of the checks), next to the bare SELECT;
- the hot perk: 32 connections on one perk with a counted stock, then proof that no
  item was sold twice (items redeemed = stock taken, stock never below 0);
- growth: the history, lookup, honor roll and dashboard pages timed at the scale below
  ``--scale`` (``tiny`` for ``small``, ``small`` for ``city``) and at ``--scale``, in
  three rounds taken in turn, each page's quickest median kept; the ratio should stay
  under 1.5 (the plan of the slowest query is printed when it does not);
- SQLite: the same redemptions with 8 connections on the embedded default; no
  "database is locked" may reach a client.

Then profiles one redemption (``profile_redemption.py``) and runs ``points verify``.
Prints a table (each figure next to its ceiling and target), writes
``bench/results/latest.json`` and a dated Markdown table beside it.
"""

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness

RESULTS = harness.BENCH / "results"
TARGETS = {"redeem_ratio": 0.5, "redeem_p99_ms": 50, "lookup_ratio": 0.7, "growth_ratio": 1.5}
CONNECTIONS = 32
# The growth of each scale is measured against the scale below it.
GROWTH_BASELINE = {"small": "tiny", "city": "small"}
SQLITE_CONNECTIONS = 8


def _tag():
    return datetime.now(UTC).strftime("run%Y%m%d%H%M%S")


def pgbench_tps(cluster, seconds):
    cluster.createdb("pgbench")
    cluster.pgbench("pgbench", "-i", "-q", "-s", "10")
    output = cluster.pgbench("pgbench", "-c", str(CONNECTIONS), "-j", "2", "-T", str(seconds))
    return float(re.search(r"tps = ([\d.]+)", output).group(1))


def verify(database_url):
    result = subprocess.run(
        [str(harness.ROOT / ".venv" / "bin" / "flask"), "--app", "wsgi", "points", "verify"],
        env=harness.bench_environment(database_url),
        cwd=harness.ROOT,
        capture_output=True,
        text=True,
    )
    return result.returncode == 0, (result.stdout.strip().splitlines() or [""])[-1]


def growth(fixture_path, explain=None):
    arguments = [str(harness.BENCH / "growth.py"), str(fixture_path)] + (["--explain", explain] if explain else [])
    fixture = json.loads(Path(fixture_path).read_text())
    database_url = fixture["database_url"]
    result = subprocess.run(
        [harness.PYTHON, *arguments],
        env=harness.bench_environment(database_url),
        cwd=harness.ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    line = next(line for line in result.stdout.splitlines() if line.startswith("GROWTH_JSON "))
    return json.loads(line.removeprefix("GROWTH_JSON "))


GROWTH_ROUNDS = 3


def _steadiest(baseline_path, fixture_path):
    """Each page's figures at both scales over ``GROWTH_ROUNDS`` rounds taken in turn
    (baseline, scale, baseline, ...), keeping each page's quickest median: a shared
    machine that slows down for a while then slows one round of both, not one scale."""
    best = [{}, {}]
    for _ in range(GROWTH_ROUNDS):
        for kept, path in zip(best, (baseline_path, fixture_path), strict=True):
            for name, page in growth(path).items():
                if name not in kept or page["median_ms"] < kept[name]["median_ms"]:
                    kept[name] = page
    return best


def hot_perk(cluster, server, fixture, seconds):
    figures = harness.wrk(
        server.url,
        "redeem.lua",
        [harness.phone_codes(fixture, seconds, Path(fixture["members_file"]).with_suffix(".hot.txt"))]
        + [fixture["hot_perk_id"], fixture["token"], _tag() + "h"],
        CONNECTIONS,
        seconds,
    )
    server.stop()  # the requests still in flight when wrk stops finish first
    perk = fixture["hot_perk_id"]
    stock_left, redeemed = map(
        int,
        cluster.psql(
            "bench",
            f"SELECT stock, (SELECT coalesce(sum(quantity), 0) FROM redemptions WHERE perk_id = {perk}"
            f" AND status = 'fulfilled') FROM perks WHERE id = {perk}",
        ).split("|"),
    )
    figures.update(
        stock=fixture["hot_stock"],
        stock_left=stock_left,
        redeemed=redeemed,
        oversold=redeemed > fixture["hot_stock"] or stock_left < 0 or redeemed + stock_left != fixture["hot_stock"],
    )
    return figures


def sqlite_mode(workdir, seconds):
    database_url = f"sqlite:///{workdir}/bench.sqlite3"
    fixture = harness.generate(database_url, "tiny", Path(workdir) / "sqlite.json")
    server = harness.Server(database_url)
    try:
        return harness.wrk(
            server.url,
            "redeem.lua",
            [harness.phone_codes(fixture, seconds, Path(workdir) / "sqlite.phones.txt")]
            + [fixture["open_perk_id"], fixture["token"], _tag() + "s"],
            SQLITE_CONNECTIONS,
            seconds,
        )
    finally:
        server.stop()


def _ratio(value, ceiling):
    return round(value / ceiling, 3) if ceiling else None


def run(scale, seconds):
    started = time.monotonic()
    machine_before = harness.machine()
    workdir = Path(tempfile.mkdtemp(prefix="points-bench."))
    cluster = harness.Cluster()
    results = {"scale": scale, "seconds_per_load": seconds, "machine": machine_before}

    print(f"== generating {scale} on PostgreSQL", flush=True)
    database_url = cluster.createdb("bench")
    fixture_path = workdir / f"{scale}.json"
    fixture = harness.generate(database_url, scale, fixture_path)
    fixture_path.write_text(json.dumps({**fixture, "database_url": database_url}))
    results["import_rows_per_s"] = fixture["import_rows_per_s"]

    print("== pgbench TPC-B (the ceiling of a redemption)", flush=True)
    results["pgbench_tps"] = pgbench_tps(cluster, seconds)

    print("== the product under wrk", flush=True)
    server = harness.Server(database_url)
    try:
        members, token = fixture["members_file"], fixture["token"]
        phones = harness.phone_codes(fixture, seconds, workdir / "phones.txt")
        redeem = harness.wrk(
            server.url, "redeem.lua", [phones, fixture["open_perk_id"], token, _tag()], CONNECTIONS, seconds
        )
        lookup = harness.wrk(server.url, "lookup.lua", [members, "/api/v1/members/", token], CONNECTIONS, seconds)
        hot = hot_perk(cluster, server, fixture, max(5, seconds // 2))
    finally:
        server.stop()
    print("== bare Flask: one SELECT (the ceiling of a lookup), a naive lookup and a naive spend", flush=True)
    bare_server = harness.Server(database_url, app="bench.bare:app")
    try:
        bare = harness.wrk(bare_server.url, "lookup.lua", [members, "/bare/", token], CONNECTIONS, seconds)
        naive_lookup = harness.wrk(
            bare_server.url, "lookup.lua", [members, "/bare-lookup/", token], CONNECTIONS, seconds
        )
        naive = harness.wrk(
            bare_server.url, "lookup.lua", [members, "/bare-spend/", token, "POST"], CONNECTIONS, seconds
        )
    finally:
        bare_server.stop()
    results.update(
        redeem_rps=redeem["rps"],
        redeem_p50_ms=redeem["p50_ms"],
        redeem_p99_ms=redeem["p99_ms"],
        redeem_statuses=redeem.get("statuses"),
        redeem_ratio=_ratio(redeem["rps"], results["pgbench_tps"]),
        lookup_rps=lookup["rps"],
        lookup_p99_ms=lookup["p99_ms"],
        lookup_statuses=lookup.get("statuses"),
        bare_rps=bare["rps"],
        lookup_ratio=_ratio(lookup["rps"], bare["rps"]),
        naive_lookup_rps=naive_lookup["rps"],
        naive_lookup_ratio=_ratio(naive_lookup["rps"], bare["rps"]),
        naive_spend_rps=naive["rps"],
        naive_spend_p99_ms=naive["p99_ms"],
        naive_spend_ratio=_ratio(naive["rps"], results["pgbench_tps"]),
        hot_perk=hot,
    )

    baseline = GROWTH_BASELINE[scale]
    print(f"== growth: the same pages at {baseline} and at {scale}", flush=True)
    baseline_url = cluster.createdb("growth_" + baseline)
    baseline_path = workdir / f"{baseline}.json"
    baseline_fixture = harness.generate(baseline_url, baseline, baseline_path)
    baseline_path.write_text(json.dumps({**baseline_fixture, "database_url": baseline_url}))
    at_baseline, at_scale = _steadiest(baseline_path, fixture_path)
    pages = {
        name: {
            "baseline_ms": at_baseline[name]["median_ms"],
            "scale_ms": at_scale[name]["median_ms"],
            "ratio": _ratio(at_scale[name]["median_ms"], at_baseline[name]["median_ms"]),
            "slowest_sql_ms": at_scale[name]["slowest_sql_ms"],
        }
        for name in at_scale
    }
    results["growth_scales"] = [baseline, scale]
    results["growth"] = pages
    results["growth_ratio"] = max(page["ratio"] for page in pages.values())
    worst = max(pages, key=lambda name: pages[name]["ratio"])
    if results["growth_ratio"] > TARGETS["growth_ratio"]:
        explained = growth(fixture_path, explain=worst)[worst]
        results["growth_explain"] = {"page": worst, "sql": explained["slowest_sql"], "plan": explained["plan"]}

    print("== SQLite, 8 connections", flush=True)
    results["sqlite"] = sqlite_mode(workdir, seconds)

    print("== profile of one redemption (cProfile)", flush=True)
    profiled = subprocess.run(
        [harness.PYTHON, str(harness.BENCH / "profile_redemption.py"), str(fixture_path)],
        env=harness.bench_environment(database_url),
        cwd=harness.ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    line = next(line for line in profiled.stdout.splitlines() if line.startswith("PROFILE_JSON "))
    results["profile"] = json.loads(line.removeprefix("PROFILE_JSON "))

    ok, line = verify(database_url)
    results["verify"] = {"clean": ok, "summary": line}
    results["machine_after"] = harness.machine()
    results["minutes"] = round((time.monotonic() - started) / 60, 1)
    cluster.destroy()
    shutil.rmtree(workdir, ignore_errors=True)
    return results


def table(results):
    hot, sqlite = results["hot_perk"], results["sqlite"]
    rows = [
        (
            "POST /api/v1/redemptions",
            f"{results['redeem_rps']:.0f} req/s",
            f"pgbench TPC-B {results['pgbench_tps']:.0f} tps",
            f"{results['redeem_ratio']:.0%}",
            "≥ 50 %",
        ),
        (
            "redemption latency",
            f"p50 {results['redeem_p50_ms']} ms, p99 {results['redeem_p99_ms']} ms",
            "",
            "",
            "p99 ≤ 50 ms",
        ),
        (
            "naive Flask spend (UPDATE + INSERT, no guarantees)",
            f"{results['naive_spend_rps']:.0f} req/s, p99 {results['naive_spend_p99_ms']} ms",
            f"pgbench TPC-B {results['pgbench_tps']:.0f} tps",
            f"{results['naive_spend_ratio']:.0%}",
            "context: what any Flask write reaches here",
        ),
        (
            "GET /api/v1/members/{no}",
            f"{results['lookup_rps']:.0f} req/s",
            f"bare one-SELECT {results['bare_rps']:.0f} req/s",
            f"{results['lookup_ratio']:.0%}",
            "≥ 70 %",
        ),
        (
            "naive Flask lookup (token, member, perks: 3 SELECTs, no checks)",
            f"{results['naive_lookup_rps']:.0f} req/s",
            f"bare one-SELECT {results['bare_rps']:.0f} req/s",
            f"{results['naive_lookup_ratio']:.0%}",
            "context: what any Flask lookup reaches here",
        ),
        (
            "growth {} → {} (worst page)".format(*results["growth_scales"]),
            f"× {results['growth_ratio']}",
            "",
            "",
            "≤ 1.5",
        ),
        (
            "hot perk, 32 connections",
            f"{hot['rps']:.0f} req/s; {hot['redeemed']} of {hot['stock']} sold, {hot['stock_left']} left",
            "",
            "",
            "no oversell: " + ("FAILED" if hot["oversold"] else "held"),
        ),
        (
            "SQLite, 8 connections",
            f"{sqlite['rps']:.0f} req/s, p99 {sqlite['p99_ms']} ms",
            "",
            "",
            f"'database is locked' seen: {sqlite.get('locked', 0)}, 5xx: {sqlite.get('failed', 0)}",
        ),
        ("bulk load (COPY)", f"{results['import_rows_per_s']:,} rows/s", "", "", ""),
        (
            "one redemption in one process, profiled",
            f"{results['profile']['ms_per_redemption']} ms",
            f"{results['profile']['driver_execute_ms']} ms of it in the driver",
            "",
            "bench/results/profile-redemption.txt",
        ),
    ]
    lines = ["| figure | measured | ceiling, same cluster and run | ratio | target |", "|---|---|---|---|---|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    baseline, scale = results["growth_scales"]
    lines += ["", f"| page | {baseline} (ms) | {scale} (ms) | ratio |", "|---|---|---|---|"]
    lines += [
        f"| {name} | {page['baseline_ms']} | {page['scale_ms']} | {page['ratio']} |"
        for name, page in results["growth"].items()
    ]
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", choices=("small", "city"), default="small")
    parser.add_argument("--seconds", type=int, default=20, help="length of each wrk and pgbench load")
    arguments = parser.parse_args()
    results = run(arguments.scale, arguments.seconds)
    text = table(results)
    print()
    print(text)
    if "growth_explain" in results:
        explained = results["growth_explain"]
        print(f"\nslowest query of the page that grew most ({explained['page']}): {explained['sql']}")
        print("\n".join(explained["plan"]))
    machine = results["machine"]
    note = (
        f"{machine['cores']} cores ({machine['cpu']}), load average {machine['load_average']} before and "
        f"{results['machine_after']['load_average']} after; {results['minutes']} minutes;"
        f" verify: {results['verify']['summary']}"
    )
    print("\n" + note)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(results, indent=2) + "\n")
    stamp = datetime.now(UTC).strftime("%Y-%m-%d-%H%M")
    (RESULTS / f"{stamp}-{arguments.scale}.md").write_text(
        f"# make bench, {stamp} UTC, scale {arguments.scale}\n\n{text}\n\n{note}\n"
    )
    return 0 if results["verify"]["clean"] and not results["hot_perk"]["oversold"] else 1


if __name__ == "__main__":
    sys.exit(main())
