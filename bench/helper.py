# SPDX-License-Identifier: Apache-2.0
"""bench/run's helper: measurements from /proc, records, the keep-alive client for
callgrind, callgrind arithmetic, and the report (Markdown table + gnuplot chart).

Standard library only; run with /usr/bin/python3.

  helper.py ports N                       N free loopback ports
  helper.py snap PIDFILE BACKEND_PORT [STATUS_URL]
                                          one JSON snapshot: httpd CPU and RSS, backend sockets
  helper.py record KEY=VALUE... BEFORE AFTER WRK_OUT
                                          one JSON result line from two snapshots and wrk's output
  helper.py client PORT SCENARIO COUNT [ITEM_ID]
                                          COUNT requests on one kept-alive connection
  helper.py callgrind OUT_DIR N WARMUP    per-request instructions from the callgrind runs
  helper.py phase START END RESULTS BACKEND THREADS POLLS_BETWEEN POLLS_TOTAL
                                          one backend's whole phase (connections, RSS)
  helper.py report WORK RESULTS_DIR NAME [latest]
                                          RESULTS_DIR/NAME.md and .png (and latest.md, .png)
"""
import http.client
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import urllib.request

CLK_TCK = os.sysconf("SC_CLK_TCK")
SCENARIOS = ["static", "floor", "get", "post", "list", "mixed"]
LABELS = {
    "static": "static file (ceiling)",
    "floor": "floor: one round trip to the stub, no work",
    "get": "GET /items/{id}",
    "post": "POST /items/",
    "list": "GET /items/?limit=10",
    "mixed": "mixed 80/20 GET/POST",
}
POST_BODY = b'{"name":"Benchmark item","description":"Created by bench/run through wrk"}'


# --- measurements -------------------------------------------------------------------------

def free_ports(n):
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


def httpd_pids(pidfile):
    """The parent httpd (from its pid file) and its children."""
    with open(pidfile) as f:
        parent = int(f.read().strip())
    pids = [parent]
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[1]) == parent:
            pids.append(int(name))
    return pids


def proc_cpu_rss(pid):
    """utime+stime (ticks, all threads) and VmRSS (KiB) of one process."""
    with open(f"/proc/{pid}/stat") as f:
        stat = f.read()
    fields = stat[stat.rindex(")") + 2:].split()
    ticks = int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    rss = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
    return ticks, rss


def backend_sockets(port):
    """Client-side TCP sockets to 127.0.0.1:port: established and TIME-WAIT local ports."""
    est, tw = [], []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    parts = line.split()
                    local, remote, state = parts[1], parts[2], parts[3]
                    if int(remote.rsplit(":", 1)[1], 16) != port:
                        continue
                    lport = int(local.rsplit(":", 1)[1], 16)
                    if state == "01":
                        est.append(lport)
                    elif state == "06":
                        tw.append(lport)
        except OSError:
            pass
    return sorted(est), sorted(tw)


def nginx_accepts(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            text = resp.read().decode()
    except OSError:
        return None
    m = re.search(r"server accepts handled requests\s+(\d+)\s+(\d+)\s+(\d+)", text)
    return int(m.group(1)) if m else None


def snap(pidfile, port, status_url=None):
    ticks = rss = 0
    pids = httpd_pids(pidfile)
    for pid in pids:
        try:
            t, r = proc_cpu_rss(pid)
        except OSError:
            continue
        ticks += t
        rss += r
    est, tw = backend_sockets(int(port))
    return {"cpu_ticks": ticks, "rss_kib": rss, "processes": len(pids), "children": pids[1:],
            "backend_established": est, "backend_time_wait": tw,
            "stub_accepts": nginx_accepts(status_url) if status_url else None}


def new_connections(before, after):
    """Backend connections opened between two snapshots: nginx's count when there is one,
    else new local ports (established or already closed by us, in TIME-WAIT)."""
    if before.get("stub_accepts") is not None and after.get("stub_accepts") is not None:
        # Our own two stub_status requests are connections too.
        return max(0, after["stub_accepts"] - before["stub_accepts"] - 1)
    seen = set(before["backend_established"]) | set(before["backend_time_wait"])
    now = set(after["backend_established"]) | set(after["backend_time_wait"])
    return len(now - seen)


def parse_wrk(path):
    with open(path, errors="replace") as f:
        for line in f:
            if line.startswith("BENCH "):
                return json.loads(line[6:])
    raise SystemExit(f"no BENCH line in {path}: wrk failed?")


def record(args):
    meta = {}
    while args and "=" in args[0]:
        k, v = args.pop(0).split("=", 1)
        meta[k] = int(v) if v.isdigit() else v
    before_path, after_path, wrk_path = args[:3]
    warm = parse_wrk(args[3])["requests"] if len(args) > 3 and os.path.getsize(args[3]) else 0
    with open(before_path) as f:
        before = json.load(f)
    with open(after_path) as f:
        after = json.load(f)
    w = parse_wrk(wrk_path)
    n = w["requests"]
    secs = w["duration_us"] / 1e6
    cpu_us = (after["cpu_ticks"] - before["cpu_ticks"]) * 1e6 / CLK_TCK
    errors = sum(w["errors"].values())
    out = dict(meta)
    out.update({
        "requests": n, "seconds": round(secs, 3), "rps": round(n / secs, 1) if secs else 0,
        "p50_us": w["latency_us"]["p50"], "p99_us": w["latency_us"]["p99"],
        "p999_us": w["latency_us"]["p999"], "max_us": w["latency_us"]["max"],
        "cpu_us_per_req": round(cpu_us / n, 2) if n else None,
        "new_backend_conns": new_connections(before, after),
        "backend_established_before": len(before["backend_established"]),
        "backend_established_after": len(after["backend_established"]),
        "rss_kib_before": before["rss_kib"], "rss_kib_after": after["rss_kib"],
        "httpd_processes_before": before["processes"], "httpd_processes_after": after["processes"],
        "children_seen": sorted(set(before.get("children", [])) | set(after.get("children", []))),
        "errors": errors, "error_detail": w["errors"], "warmup_requests": warm,
    })
    print(json.dumps(out, sort_keys=True))


def phase(start_path, end_path, results_path, backend, threads, threads_per_child,
          polls_between, polls_total):
    """The whole of one backend's phase, from after its warm-up to its end. polls_*: how many
    stub_status requests (each a connection to the stub) bench/run made after the start
    snapshot up to the end one, and in all."""
    with open(start_path) as f:
        start = json.load(f)
    with open(end_path) as f:
        end = json.load(f)
    with open(results_path) as f:
        rows = [json.loads(line) for line in f if line.strip()]
    rows = [r for r in rows if r["backend"] == backend]
    seen = set(end.get("children", []))
    for r in rows:
        seen |= set(r.get("children_seen", []))
    new_children = sorted(seen - set(start.get("children", [])))
    out = {
        "requests": sum(r["requests"] + r.get("warmup_requests", 0) for r in rows),
        "children_start": len(start.get("children", [])), "children_new": len(new_children),
        "threads_per_child": int(threads_per_child),
        "rss_kib_start": start["rss_kib"], "rss_kib_end": end["rss_kib"],
        "worker_threads": int(threads),
        "new_backend_conns": new_connections(start, end),
        "backend_established_end": len(end["backend_established"]),
    }
    out["children_exited"] = len((seen | set(start.get("children", [])))
                                 - set(end.get("children", [])))
    if end.get("stub_accepts") is not None and start.get("stub_accepts") is not None:
        out["new_backend_conns"] = end["stub_accepts"] - start["stub_accepts"] - int(polls_between)
        out["stub_accepts_total"] = end["stub_accepts"] - int(polls_total)
        # Opened, yet no longer open: each was closed and (if needed again) replaced.
        out["backend_conns_lost"] = out["stub_accepts_total"] - out["backend_established_end"]
    # RSS at the target's connection count, once warm: the runs at the lowest connection
    # count from the second repetition on (all of them with one repetition), leaving out any
    # run during which an httpd process started or stopped.
    low = min((r["conns"] for r in rows), default=0)
    reps = [r for r in rows if r["conns"] == low]
    if any(r["rep"] >= 2 for r in reps):
        reps = [r for r in reps if r["rep"] >= 2]
    reps = [r for r in reps
            if r.get("httpd_processes_before") == r.get("httpd_processes_after")
            and len(r.get("children_seen", [])) == r.get("httpd_processes_after", 0) - 1]
    out["rss_runs"] = {"conns": low, "runs": len(reps),
                       "requests": sum(r["requests"] for r in reps),
                       "growth_kib": sum(r["rss_kib_after"] - r["rss_kib_before"] for r in reps),
                       "from_rep": 2 if any(r["rep"] >= 2 for r in reps) else 1}
    print(json.dumps(out))


# --- callgrind ------------------------------------------------------------------------------

def client(port, scenario, count, item_id="bench-0001"):
    """count requests on one kept-alive connection; exits non-zero on any unexpected status."""
    conn = http.client.HTTPConnection("127.0.0.1", int(port), timeout=60)
    bad = 0
    for _ in range(int(count)):
        if scenario == "static":
            conn.request("GET", "/static/item.json")
            want = 200
        elif scenario == "floor":
            conn.request("GET", "/floor/" + item_id)
            want = 200
        elif scenario == "get":
            conn.request("GET", "/items/" + item_id)
            want = 200
        elif scenario == "list":
            conn.request("GET", "/items/?limit=10")
            want = 200
        elif scenario == "post":
            conn.request("POST", "/items/", body=POST_BODY,
                         headers={"Content-Type": "application/json"})
            want = 201
        else:
            raise SystemExit(f"unknown scenario {scenario}")
        resp = conn.getresponse()
        resp.read()
        bad += resp.status != want
    conn.close()
    if bad:
        raise SystemExit(f"{bad} of {count} {scenario} requests had an unexpected status")


def callgrind_total(path):
    """Total Ir of a callgrind output file."""
    with open(path, errors="replace") as f:
        for line in f:
            if line.startswith("summary:") or line.startswith("totals:"):
                return int(line.split()[1])
    raise SystemExit(f"no totals in {path}")


def callgrind_profile(path):
    """Self and inclusive Ir per (object, function), read from a callgrind output file.

    The format (valgrind's docs, "Callgrind Format Specification"): ob=/fn= name the
    current object and function, "(id) name" compressed; a cost line is positions then
    events (Ir alone here); the cost line after calls= is the inclusive cost of that call,
    charged to the caller's inclusive cost and not to its self cost.
    """
    names = {}

    def name(kind, value):
        value = value.strip()
        m = re.match(r"^\((\d+)\)(?:\s+(.*))?$", value)
        if not m:
            return value
        key = (kind, m.group(1))
        if m.group(2) is not None:
            names[key] = m.group(2)
        return names.get(key, value)

    self_ir, incl_ir = {}, {}
    ob = fn = None
    after_calls = False
    with open(path, errors="replace") as f:
        for line in f:
            c = line[:1]
            if c.isdigit() or c in "+-*":
                parts = line.split()
                ir = int(parts[1]) if len(parts) > 1 else 0
                key = (ob, fn)
                if after_calls:
                    incl_ir[key] = incl_ir.get(key, 0) + ir
                    after_calls = False
                else:
                    self_ir[key] = self_ir.get(key, 0) + ir
                    incl_ir[key] = incl_ir.get(key, 0) + ir
                continue
            if line.startswith("ob="):
                ob = name("ob", line[3:])
            elif line.startswith("fn="):
                fn = name("fn", line[3:])
            elif line.startswith("cob="):
                name("ob", line[4:])
            elif line.startswith("cfn="):
                name("fn", line[4:])
            elif line.startswith(("fl=", "fi=", "fe=", "cfi=", "cfl=")):
                name("fl", line.split("=", 1)[1])
            elif line.startswith("calls="):
                after_calls = True
    return self_ir, incl_ir


def short_object(ob):
    base = os.path.basename(ob or "?")
    return re.sub(r"\.so(\.[\d.]+)?$", ".so", base)


def callgrind(out_dir, n, warmup):
    n = int(n)
    base_path = os.path.join(out_dir, "callgrind.out.base")
    base = callgrind_total(base_path)
    base_self, base_incl = callgrind_profile(base_path)
    result = {"requests": n, "warmup": int(warmup), "base_ir": base, "scenarios": {}}
    for s in SCENARIOS:
        path = os.path.join(out_dir, f"callgrind.out.{s}")
        if not os.path.exists(path):
            continue
        total = callgrind_total(path)
        per_req = (total - base) / n
        self_ir, incl_ir = callgrind_profile(path)
        objects = {}
        for key, v in self_ir.items():
            o = short_object(key[0])
            objects[o] = objects.get(o, 0) + (v - base_self.get(key, 0)) / n
        incl = []
        for key, v in incl_ir.items():
            fn = key[1] or "?"
            if fn.startswith("0x"):
                continue  # a stripped library's internal function: no name to show
            d = (v - base_incl.get(key, 0)) / n
            # Frames that hold (nearly) the whole request say nothing.
            if 0 < d < 0.9 * per_req:
                incl.append((f"{fn} ({short_object(key[0])})", d))
        incl.sort(key=lambda kv: -kv[1])
        result["scenarios"][s] = {
            "total_ir": total, "ir_per_request": round(per_req),
            "objects": {k: round(v) for k, v in sorted(objects.items(), key=lambda kv: -kv[1])
                        if round(v) > 0},
            "inclusive": [{"function": k, "ir": round(v)} for k, v in incl[:20]],
        }
    with open(os.path.join(out_dir, "callgrind.json"), "w") as f:
        json.dump(result, f, indent=1)
    for s, r in result["scenarios"].items():
        print(f"callgrind: {s:6s} {r['ir_per_request']:>9,} instructions/request")


# --- report --------------------------------------------------------------------------------

def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def fmt_us(us):
    if us is None:
        return "-"
    return f"{us / 1000:.2f} ms" if us >= 10000 else f"{us:.0f} us"


def fmt_ratio(x):
    return "-" if x is None else f"{x:.2f}x"


def aggregate(rows):
    """(backend, conns, scenario) -> medians and totals over the repetitions."""
    groups = {}
    for r in rows:
        groups.setdefault((r["backend"], r["conns"], r["scenario"]), []).append(r)
    agg = {}
    for key, rs in groups.items():
        rs.sort(key=lambda r: r["rep"])
        reqs = sum(r["requests"] for r in rs)
        agg[key] = {
            "reps": len(rs), "requests": reqs,
            "rps": median(r["rps"] for r in rs),
            "p50": median(r["p50_us"] for r in rs), "p99": median(r["p99_us"] for r in rs),
            "p999": median(r["p999_us"] for r in rs),
            "cpu": median(r["cpu_us_per_req"] for r in rs),
            "new_conns": sum(r["new_backend_conns"] for r in rs),
            "est_before": rs[0]["backend_established_before"],
            "est_after": rs[-1]["backend_established_after"],
            "rss_before": rs[0]["rss_kib_before"], "rss_after": rs[-1]["rss_kib_after"],
            "procs_before": rs[0].get("httpd_processes_before"),
            "procs_after": rs[-1].get("httpd_processes_after"),
            "errors": sum(r["errors"] for r in rs),
        }
    return agg


def ratio(a, b):
    return a / b if a is not None and b else None


def fmt_rss(kib, procs):
    return f"{kib / 1024:.1f}" + (f" ({procs})" if procs else "")


def report(work, results_dir, stamp, latest=""):
    with open(os.path.join(work, "meta.json")) as f:
        meta = json.load(f)
    with open(os.path.join(work, "results.jsonl")) as f:
        rows = [json.loads(line) for line in f if line.strip()]
    phases = {}
    for name in ("stub", "dynalite"):
        p = os.path.join(work, f"phase-{name}.json")
        if os.path.exists(p):
            with open(p) as f:
                phases[name] = json.load(f)
    cg = None
    cg_path = os.path.join(work, "callgrind", "callgrind.json")
    if os.path.exists(cg_path):
        with open(cg_path) as f:
            cg = json.load(f)
    agg = aggregate(rows)
    backends = [b for b in ("stub", "dynalite") if any(k[0] == b for k in agg)]
    conns = sorted({k[1] for k in agg})

    L = [f"# mod_items benchmark {stamp}", ""]
    L.append(f"`{meta['command']}`: {meta['cpus']} cores ({meta['cpu_model']}), {meta['httpd']}, "
             f"wrk {meta['wrk']} (-t{meta['wrk_threads']}) on the same cores. Module "
             f"`{meta['module']}`, source `{meta['git']}`.")
    L.append("")
    conf = meta.get("conf", "conf/httpd.conf")
    L.append(f"Every row{'' if rows else ' (none: callgrind only)'}: the same `{conf}` "
             f"({meta['mpm']}); access log "
             f"{meta['access_log']}. Each cell is the median of {meta['reps']} run(s) of "
             f"{meta['duration']} s on the stub, {meta['dynalite_reps']} on dynalite, each after a "
             f"{meta['warmup']} s warm-up, runs interleaved. CPU = utime+stime of all httpd "
             "processes (/proc) over the run / requests. RSS = sum over httpd processes, MiB "
             "(processes). New backend conns: connections the module opened during the measured "
             "runs (nginx's accept count on the stub; new client ports on dynalite); the floor's "
             "row: the floor's, to its own instance of the stub.")
    if meta.get("note"):
        L += ["", f"Conditions: {meta['note']}"]
    L += ["", "Ratios are to the static file served by the same httpd in the same run at the same "
          "connection count (x static, the ceiling), and to the floor (x floor): the same httpd "
          "answering the same bytes after one keep-alive round trip to an instance of the stub "
          "and no other work (`bench/floor/mod_items_floor.c`), the least that any handler "
          "calling DynamoDB can cost. Track the ratios, not the absolute figures.", ""]
    for b in backends:
        title = {"stub": "Backend: constant-answer DynamoDB stub (nginx on loopback)",
                 "dynalite": "Backend: dynalite (in-memory DynamoDB, the embedded default); "
                             "ratios to the stub run's static file and floor"}[b]
        L += [f"## {title}", ""]
        L.append("| scenario | conns | req/s | x static | x floor | p50 | p99 | p99.9 "
                 "| p99 x static | CPU us/req | CPU x static | CPU x floor | new backend conns "
                 "| backend conns before/after | RSS MiB before/after | errors |")
        L.append("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
        for c in conns:
            st = agg.get(("stub", c, "static"))
            fl = agg.get(("stub", c, "floor"))
            for s in SCENARIOS:
                a = agg.get((b, c, s))
                if not a:
                    continue
                is_static = s == "static"
                one = "1.00x" if is_static else None
                one_fl = "1.00x" if s == "floor" else None
                L.append("| " + " | ".join([
                    LABELS[s], str(c), f"{a['rps']:,.0f}",
                    one or fmt_ratio(ratio(a["rps"], st and st["rps"])),
                    one_fl or fmt_ratio(ratio(a["rps"], fl and fl["rps"])),
                    fmt_us(a["p50"]), fmt_us(a["p99"]), fmt_us(a["p999"]),
                    one or fmt_ratio(ratio(a["p99"], st and st["p99"])),
                    "-" if a["cpu"] is None else f"{a['cpu']:.1f}",
                    one or fmt_ratio(ratio(a["cpu"], st and st["cpu"])),
                    one_fl or fmt_ratio(ratio(a["cpu"], fl and fl["cpu"])),
                    "-" if is_static else f"{a['new_conns']} in {a['requests']:,} req",
                    "-" if is_static else f"{a['est_before']} / {a['est_after']}",
                    f"{fmt_rss(a['rss_before'], a['procs_before'])} / "
                    f"{fmt_rss(a['rss_after'], a['procs_after'])}",
                    str(a["errors"])]) + " |")
        ph = phases.get(b)
        if ph:
            growth = ph["rss_kib_end"] - ph["rss_kib_start"]
            L += ["", f"Whole phase, from after its warm-up (every scenario at the highest "
                  f"connection count) to its end: {ph['requests']:,} requests (warm-ups included); "
                  f"backend connections opened: {ph['new_backend_conns']}, held at the end: "
                  f"{ph['backend_established_end']}; httpd processes started meanwhile: "
                  f"{ph['children_new']}, stopped: {ph.get('children_exited', 0)} "
                  f"({ph['threads_per_child']} threads each); "
                  f"httpd RSS {ph['rss_kib_start']:,} -> {ph['rss_kib_end']:,} KiB "
                  f"({growth:+,} KiB)."]
        L.append("")

    tc = 32 if 32 in conns else (conns[0] if conns else None)
    st = agg.get(("stub", tc, "static"))
    if st:
        g, p, li, fl = (agg.get(("stub", tc, s)) for s in ("get", "post", "list", "floor"))
        ph = phases.get("stub")
        checks = []

        def check(name, value, limit, ok):
            checks.append(f"| {name} | {value} | {limit} | {'PASS' if ok else '**FAIL**'} |")

        if g:
            r = ratio(g["rps"], st["rps"])
            check("GET by id: req/s vs static", fmt_ratio(r), ">= 0.60x", r is not None and r >= 0.6)
            r = ratio(g["cpu"], st["cpu"])
            check("GET by id: CPU/req vs static", fmt_ratio(r), "<= 1.70x", r is not None and r <= 1.7)
            r = ratio(g["p99"], st["p99"])
            check("GET by id: p99 vs static", fmt_ratio(r), "<= 2.00x", r is not None and r <= 2.0)
        for label, a in (("POST create", p), ("list of 10", li)):
            if a:
                r = ratio(a["cpu"], st["cpu"])
                check(f"{label}: CPU/req vs static", fmt_ratio(r), "<= 1.80x",
                      r is not None and r <= 1.8)
        if ph:
            exited = ph.get("children_exited", 0)
            if "backend_conns_lost" in ph:
                lost = ph["backend_conns_lost"]
                per10k = lost * 10000 / ph["requests"] if ph["requests"] else 0
                check("backend connections closed and opened again (whole phase, every "
                      "connection count)", f"{lost} in {ph['requests']:,} req "
                      f"({per10k:.2f} per 10,000)",
                      "0" + (f" ({exited} httpd processes exited: their connections count)"
                             if exited else ""), lost <= 0)
                threads = (ph["children_start"] + ph["children_new"]) * ph["threads_per_child"]
                check("backend connections opened in all (warm-up included)",
                      f"{ph['stub_accepts_total']}, all still open"
                      if lost <= 0 else f"{ph['stub_accepts_total']}",
                      f"<= {threads} (one per worker thread)", ph["stub_accepts_total"] <= threads)
            rr = ph.get("rss_runs")
            if rr and rr["requests"]:
                per = rr["growth_kib"] * 500000 / rr["requests"]
                check(f"httpd RSS growth per 500,000 requests ({rr['runs']} runs at "
                      f"{rr['conns']} connections, repetition {rr['from_rep']} on)",
                      f"{per:+,.0f} KiB ({rr['growth_kib']:+,} KiB over {rr['requests']:,} req)",
                      "< 1,024 KiB" + (" (first repetition: warm-up growth included; judge "
                                       "on a full run)" if rr["from_rep"] == 1 else ""),
                      per < 1024)
        if fl:
            # Not a target: how far below the ceiling the floor itself sits says which targets
            # any handler that calls DynamoDB once per request could meet on this machine.
            checks.append(
                f"| floor (one httpd request + one keep-alive round trip to the stub, no work) vs "
                f"static | req/s {fmt_ratio(ratio(fl['rps'], st['rps']))}, CPU/req "
                f"{fmt_ratio(ratio(fl['cpu'], st['cpu']))}, p99 "
                f"{fmt_ratio(ratio(fl['p99'], st['p99']))} | - | info |")
            if g:
                checks.append(
                    f"| GET by id vs the floor | req/s {fmt_ratio(ratio(g['rps'], fl['rps']))}, "
                    f"CPU/req {fmt_ratio(ratio(g['cpu'], fl['cpu']))}, p99 "
                    f"{fmt_ratio(ratio(g['p99'], fl['p99']))} | - | info |")
        L += [f"## Targets (stub backend, {tc} connections, this run)", "",
              "| target | measured | limit | |", "|---|--:|--:|---|"] + checks + [""]

    if cg:
        L += ["## Instructions per request (callgrind, stub backend)", ""]
        L.append(f"`httpd -X` (one process, same conf) under `valgrind --tool=callgrind`, one kept-"
                 f"alive connection. Every run sends {cg['warmup']} warm-up requests of each "
                 f"scenario; a scenario's run then sends {cg['requests']:,} more of it. Per request "
                 "= (that run's total - the warm-up-only run's total) / requests: start-up, "
                 "warm-up and shut-down cancel out. User-space instructions of all threads; the "
                 "kernel's work (syscalls, loopback TCP) is not counted.")
        L.append("")
        present = [s for s in SCENARIOS if s in cg["scenarios"]]
        sref = cg["scenarios"].get("static", {}).get("ir_per_request")
        L.append("| | " + " | ".join(LABELS[s] for s in present) + " |")
        L.append("|---|" + "--:|" * len(present))
        L.append("| **instructions/request** | " + " | ".join(
            f"**{cg['scenarios'][s]['ir_per_request']:,}**" for s in present) + " |")
        L.append("| x static | " + " | ".join(
            fmt_ratio(ratio(cg["scenarios"][s]["ir_per_request"], sref)) for s in present) + " |")
        fref = cg["scenarios"].get("floor", {}).get("ir_per_request")
        if fref:
            L.append("| x floor | " + " | ".join(
                fmt_ratio(ratio(cg["scenarios"][s]["ir_per_request"], fref)) for s in present)
                + " |")
        objs = []
        for s in present:
            for o in cg["scenarios"][s]["objects"]:
                if o not in objs:
                    objs.append(o)
        for o in objs:
            vals = [cg["scenarios"][s]["objects"].get(o, 0) for s in present]
            if max(vals) >= 1000:
                L.append(f"| in {o} | " + " | ".join(f"{v:,}" for v in vals) + " |")
        L.append("")
        for s in ("get", "post", "list"):
            r = cg["scenarios"].get(s)
            if not r:
                continue
            L += [f"<details><summary>{LABELS[s]}: named functions by inclusive instructions "
                  "per request</summary>", "", "| function (object) | Ir/request, inclusive |",
                  "|---|--:|"]
            L += [f"| `{t['function']}` | {t['ir']:,} |" for t in r["inclusive"]]
            L += ["", "</details>", ""]

    if rows:
        L += [f"![requests/s and CPU per request]({stamp}.png)", ""]
    md = "\n".join(L)
    png = chart(results_dir, stamp, work, agg, backends, conns) if rows else None
    with open(os.path.join(results_dir, f"{stamp}.md"), "w") as f:
        f.write(md)
    if latest:
        with open(os.path.join(results_dir, "latest.md"), "w") as f:
            f.write(md.replace(f"]({stamp}.png)", "](latest.png)"))
        if png:
            shutil.copyfile(png, os.path.join(results_dir, "latest.png"))
    print(md)


def chart(results_dir, stamp, work, agg, backends, conns):
    """results_dir/stamp.png: req/s, CPU per request, and the ratios to the static file."""
    cols = [(b, c) for b in backends for c in conns]
    dat = os.path.join(work, "chart.dat")
    names = {"static": "static", "floor": "floor", "get": "GET id", "post": "POST",
             "list": "list 10", "mixed": "mixed"}
    with open(dat, "w") as f:
        for field, fmt in (("rps", "{:.0f}"), ("cpu", "{:.1f}")):
            f.write("scenario " + " ".join(f"{b}-{c}" for b, c in cols) + "\n")
            for s in SCENARIOS:
                vals = []
                for b, c in cols:
                    a = agg.get((b, c, s))
                    vals.append("0" if not a or a[field] is None else fmt.format(a[field]))
                f.write(f'"{names[s]}" ' + " ".join(vals) + "\n")
            f.write("\n\n")
        # Ratios to the static file, stub backend.
        f.write("scenario " + " ".join(f"req/s-{c} CPU-{c}" for c in conns) + "\n")
        for s in SCENARIOS[1:]:
            vals = []
            for c in conns:
                a, st = agg.get(("stub", c, s)), agg.get(("stub", c, "static"))
                vals.append(f"{ratio(a['rps'], st['rps']):.3f}" if a and st else "0")
                vals.append(f"{ratio(a['cpu'], st['cpu']):.3f}" if a and st and a["cpu"] else "0")
            f.write(f'"{names[s]}" ' + " ".join(vals) + "\n")
    png = os.path.join(results_dir, f"{stamp}.png")
    n = len(cols)
    plots_rps = ", ".join(f"'{dat}' index 0 using {i + 2}:xtic(1) title columnheader({i + 2})"
                          for i in range(n))
    # A column header as title (with the key off) also keeps the header line out of the data.
    plots_cpu = ", ".join(f"'{dat}' index 1 using {i + 2}:xtic(1) title columnheader({i + 2})"
                          for i in range(n))
    plots_ratio = ", ".join(f"'{dat}' index 2 using {i + 2}:xtic(1) title columnheader({i + 2})"
                            for i in range(2 * len(conns)))
    script = f"""
set terminal pngcairo size 1100,1100 font 'Sans,10' noenhanced
set output '{png}'
set multiplot layout 3,1 title 'mod_items benchmark {stamp}: medians; static = httpd serving a file of the GET answer size, floor = one round trip to the stub and no work'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set grid ytics
set key top right
set yrange [0:*]
set ylabel 'requests/s'
plot {plots_rps}
set ylabel 'httpd CPU us per request'
set key off
plot {plots_cpu}
set key on top right
set ylabel 'x static file (stub backend)'
set arrow 1 from graph 0, first 0.6 to graph 1, first 0.6 nohead dt 2 lc rgb 'dark-green'
set arrow 2 from graph 0, first 1.7 to graph 1, first 1.7 nohead dt 2 lc rgb 'red'
set label 1 'target: GET req/s >= 0.6x' at graph 0.01, first 0.6 offset 0,0.7 tc rgb 'dark-green' front
set label 2 'target: GET CPU <= 1.7x' at graph 0.01, first 1.7 offset 0,0.7 tc rgb 'red' front
plot {plots_ratio}
unset multiplot
"""
    gp = os.path.join(work, "chart.gp")
    with open(gp, "w") as f:
        f.write(script)
    try:
        subprocess.run(["gnuplot", gp], check=True, capture_output=True, text=True)
    except (OSError, subprocess.CalledProcessError) as e:
        print(f"warning: gnuplot failed: {e}", file=sys.stderr)
        return None
    return png


def main(argv):
    if not argv:
        raise SystemExit(__doc__)
    cmd, args = argv[0], argv[1:]
    if cmd == "ports":
        print(" ".join(map(str, free_ports(int(args[0])))))
    elif cmd == "snap":
        print(json.dumps(snap(*args)))
    elif cmd == "record":
        record(list(args))
    elif cmd == "phase":
        phase(*args)
    elif cmd == "client":
        client(*args)
    elif cmd == "callgrind":
        callgrind(*args)
    elif cmd == "report":
        report(*args)
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
