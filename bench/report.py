#!/usr/bin/env python3
"""Turns the JSON lines of bench/run.sh into the results section of BENCHMARKS.md."""
import json
import sys

rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]


def one(kind, **match):
    for r in rows:
        if r["kind"] == kind and all(r.get(k) == v for k, v in match.items()):
            return r
    return None


def n(x, digits=0):
    return f"{x:,.{digits}f}"


machine = one("machine") or {}
rsa = one("rsa") or {}
pgb = one("pgbench") or {}
scales = sorted({r["members"] for r in rows if "members" in r})
out = []
out.append(
    f"Measured {machine.get('date', '?')} on {machine.get('cores', '?')} cores ({machine.get('cpu', '?')}), "
    f"{machine.get('mem_gib', '?')} GiB, PostgreSQL {machine.get('postgres', '?')}; server, database and load "
    "generator on the same machine. Raw figures: `bench/last-run.jsonl`.\n"
)
out.append("**The machine's own limits** (same run):\n")
out.append("| limit | per second |")
out.append("|---|---|")
if pgb:
    out.append(f"| PostgreSQL `pgbench -S -M prepared` (32 clients, scale {pgb['scale']}) | {n(pgb['select_only_prepared_tps'])} |")
if rsa:
    out.append(f"| RSA-2048 verifications, one core (aws-lc-rs) | {n(rsa['rsa2048_verify_per_second_one_core'])} |")
    out.append(f"| full certificate path + CRL validations, one core | {n(rsa['full_path_validation_per_second_one_core'])} |")
    out.append(f"| a card check's crypto with the certificate remembered, one core | {n(rsa['card_check_crypto_per_second_one_core'])} |")
for s in scales:
    sl = one("sqlite_lookups", members=s)
    if sl:
        out.append(f"| SQLite unique-key look-ups through sqlx, {n(s)} members ({sl['concurrency']} tasks) | {n(sl['sqlite_lookups_per_second'])} |")
    c = one("copy", members=s)
    if c:
        out.append(f"| PostgreSQL `COPY` of the {n(s)}-member file into a bare table (rows) | {n(s / c['seconds'])} |")
out.append("")

out.append("**Eligibility checks over HTTP** (`onshi loadgen`; number path: random current members; card path: signed challenges prepared before the timed phase):\n")
out.append("| members | store | path | checks/s | p50 ms | p99 ms | p99.9 ms | errors | ÷ limit |")
out.append("|---|---|---|---|---|---|---|---|---|")
for s in scales:
    for b in ("postgresql", "sqlite"):
        for p in ("card", "number"):
            r = one("checks", members=s, backend=b, path=p)
            if not r:
                continue
            if b == "postgresql" and pgb:
                ratio = f"{r['per_second'] / pgb['select_only_prepared_tps'] * 100:.0f} % of pgbench -S"
            elif b == "sqlite" and one("sqlite_lookups", members=s):
                ratio = f"{r['per_second'] / one('sqlite_lookups', members=s)['sqlite_lookups_per_second'] * 100:.0f} % of SQLite look-ups"
            else:
                ratio = ""
            if p == "card" and rsa:
                ratio += f"; {r['per_second'] / rsa['rsa2048_verify_per_second_one_core'] * 100:.0f} % of RSA verify/core"
            out.append(
                f"| {n(s)} | {b} | {p} | {n(r['per_second'])} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | {r['p999_ms']:.1f} | {r['errors']} | {ratio} |"
            )
out.append("")

cpu_rows = []
for s in scales:
    for b in ("postgresql", "sqlite"):
        for p in ("card", "number"):
            r = one("checks", members=s, backend=b, path=p)
            cpu = (r or {}).get("cpu_us_per_check") or {}
            if not cpu or any(v is None for v in cpu.values()):
                continue
            total = sum(cpu.values())
            ceiling = (machine.get("cores") or 0) * 1e6 / total if total else 0
            cpu_rows.append(
                f"| {n(s)} | {b} | {p} | {cpu.get('server', 0):.0f} | "
                + (f"{cpu['postgres']:.0f}" if "postgres" in cpu else "(in the server)")
                + f" | {cpu.get('loadgen', 0):.0f} | {total:.0f} | {n(ceiling)} | {n(r['per_second'])} |"
            )
if cpu_rows:
    out.append(
        "**CPU per check** in the timed phase (`loadgen --cpu-of`, µs; PostgreSQL is every `postgres` process, "
        "SQLite runs inside the server); the cores divided by their sum is the rate at which the machine would "
        "be fully busy:\n"
    )
    out.append("| members | store | path | server | database | load generator | sum | cores ÷ sum | measured checks/s |")
    out.append("|---|---|---|---|---|---|---|---|---|")
    out.extend(cpu_rows)
    out.append("")

out.append("**Import** (`onshi import members`, first import into an empty registry) and memory:\n")
out.append("| members | store | seconds | rows/s | ÷ PostgreSQL COPY | import peak RSS | server peak RSS |")
out.append("|---|---|---|---|---|---|---|")
for s in scales:
    c = one("copy", members=s)
    for b in ("postgresql", "sqlite"):
        r = one("import", members=s, backend=b)
        if not r:
            continue
        rss = one("server_rss", members=s, backend=b)
        ratio = f"{(s / r['seconds']) / (s / c['seconds']) * 100:.1f} %" if c else ""
        out.append(
            f"| {n(s)} | {b} | {r['seconds']:.1f} | {n(s / r['seconds'])} | {ratio} | {r['peak_rss_kib'] / 1024:.0f} MiB | "
            f"{(rss['peak_rss_kib'] / 1024 if rss else 0):.0f} MiB |"
        )
for s in scales:
    g = one("generate", members=s)
    if g:
        out.append(f"\nGenerating {n(s)} members took {g['seconds']:.1f} s ({g['bytes'] / 1e6:,.0f} MB, peak RSS {g['peak_rss_kib'] / 1024:.0f} MiB).")
audits = [r for r in rows if r["kind"] == "audit"]
if audits:
    out.append("\nAudit chain after each run: " + "; ".join(f"{r['backend']} {n(r['members'])}: {r['result']}" for r in audits) + ".")
print("\n".join(out))
