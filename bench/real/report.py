# report.py - the bench-real tables (markdown) from run.sh's result lines.
#   python3 report.py RESULTS "TUNED..." "HELDOUT..." N RECORDS SECONDS
# A result line: PROG VARIANT key value key value ... (see run.sh), or
# PROG policy [NAME]. Ratios are to the whole-process (process) variant.
import os, platform, statistics, sys, time

path, tuned, held, n, records, secs = sys.argv[1:7]
tuned, held = tuned.split(), held.split()
res, order, policy = {}, [], {}
for line in open(path):
    w = line.split()
    if len(w) < 2:
        continue
    prog, var = w[0], w[1]
    if prog not in tuned + held:
        continue
    if prog not in order:
        order.append(prog)
    if var == "policy":
        policy[prog] = w[2] if len(w) > 2 else ""
        continue
    res.setdefault(prog, {})[var] = dict(zip(w[2::2], w[3::2]))


def num(v, k):
    try:
        return float(v[k])
    except (KeyError, TypeError, ValueError):
        return None


def ratio(a, b):
    return None if a is None or not b else a / b


def f(x, fmt="%.2f"):
    return "-" if x is None else fmt % x


mem = 0
for l in open("/proc/meminfo"):
    if l.startswith("MemTotal:"):
        mem = int(l.split()[1]) / 2**20
out = []
say = out.append
say("## Real programs (make bench-real), %s" % time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()))
say("")
say("machine: nproc %d, kernel %s, RAM %.1f GiB; ksmd pages_to_scan 2000, sleep_millisecs 10, "
    "smart_scan 1 (tests/ksm-hold); %s instances per program, %s records each; "
    "whole run %s s." % (os.cpu_count(), platform.release(), mem, n, records, secs))
say("")
say("Tuned half (developed on): %s. Held-out half (reported, not tuned on): %s."
    % (", ".join(tuned), ", ".join(held)))
say("")
say("Variants: none; process = whole-process prctl(PR_SET_MEMORY_MERGE) then exec; "
    "zero = libksmpreload.so, empty policy directory (built-in default); "
    "shipped = libksmpreload.so with policy/ (only where a file there names the program); "
    "auto (BENCH_AUTO=1) = libksmpreload.so with a policy of just `mode auto`, mergefs's controller beside it; "
    "attach, attach-shipped (BENCH_ATTACH=1) = started without the library, then `ksmpreload attach "
    "--mode process`, or `--mode regions` with the shipped policy, once all instances are ready. "
    "saved = pages mapped - distinct PFNs over the present anonymous pages of the instances "
    "(pagemap + kpageflags, shared zero page left out), at the plateau; rmap = Σ ksm_rmap_items "
    "at the plateau; ksmd = ksmd CPU s from launch until the plateau; ctl = CPU s of the controller "
    "(mergefs, mounted beside the library variants) from mount until the plateau; "
    "t = s from all instances ready until merging came within 1% of its plateau "
    "(plateau: stable for the set time; 'cap' = the cap ended the watch first); "
    "ideal = `ksmpreload estimate` saved pages (+ zero-filled pages beyond one); "
    "limits = share of present pages an ideal selector must scan to hold 97% of the KSM pages "
    "under whole-process merging, by 2 MiB chunks, 64 KiB chunks, whole VMAs.")
say("")
say("| program | half | policy | ideal | saved whole | saved zero / whole | saved shipped / whole "
    "| saved auto / whole | rmap zero / whole | rmap shipped / whole | rmap auto / whole | 2 MiB limit | 64 KiB | VMA | ksmd s whole / zero / shipped "
    "| t s whole / zero / shipped | zero-config targets |")
say("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
zs, zr = {"tuned": [], "held-out": []}, {"tuned": [], "held-out": []}
for prog in order:
    r = res.get(prog, {})
    half = "tuned" if prog in tuned else "held-out"
    bad = [v + ": " + r[v]["error"] for v in ("none", "process") if "error" in r.get(v, {})]
    if "process" not in r or "error" in r["process"]:
        say("| %s | %s | %s | %s | | | | | | | | | | | | | |" % (
            prog, half, policy.get(prog) or "none", "; ".join(bad) or "no result"))
        continue
    nv, pv, z, s = r.get("none", {}), r.get("process", {}), r.get("zero"), r.get("shipped")
    au = r.get("auto")
    ps, pr = num(pv, "saved"), num(pv, "rmap")
    ideal = num(nv, "ideal")
    if ideal is not None:
        ideal += num(nv, "ideal_zero") or 0
    sz, ss = ratio(num(z, "saved"), ps), ratio(num(s, "saved"), ps)
    rz, rs = ratio(num(z, "rmap"), pr), ratio(num(s, "rmap"), pr)
    if sz is not None:
        zs[half].append(sz)
    if rz is not None:
        zr[half].append(rz)
    lim = num(pv, "limit_2m")
    tg = "-"
    if sz is not None and rz is not None and lim is not None:
        tg = "saving %s, rmap %s" % ("met" if sz >= 0.97 else "missed",
                                     "met" if rz <= min(lim + 0.05, 1.0) else "missed")
    say("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s / %s / %s | %s / %s / %s | %s |" % (
        prog, half, policy.get(prog) or "none", f(ideal, "%.0f"), f(ps, "%.0f"),
        f(sz, "%.3f"), f(ss, "%.3f"), f(ratio(num(au, "saved"), ps), "%.3f"),
        f(rz, "%.3f"), f(rs, "%.3f"), f(ratio(num(au, "rmap"), pr), "%.3f"),
        f(num(pv, "limit_2m"), "%.2f"), f(num(pv, "limit_64k"), "%.2f"),
        f(num(pv, "limit_vma"), "%.2f"),
        f(num(pv, "ksmd_s")), f(num(z, "ksmd_s")), f(num(s, "ksmd_s")),
        f(num(pv, "t_plateau"), "%.1f"), f(num(z, "t_plateau"), "%.1f"),
        f(num(s, "t_plateau"), "%.1f"), tg))
say("")
say("zero-config targets (issue 13): saving >= 0.97 of whole-process; rmap <= the 2 MiB limit + 0.05 "
    "of whole-process's (and <= 1.0).")
say("")
for h in ("tuned", "held-out"):
    if zs[h]:
        say("Median over the %s half: zero-config saved / whole %.3f, rmap / whole %.3f (%d programs)."
            % (h, statistics.median(zs[h]), statistics.median(zr[h]) if zr[h] else float("nan"),
               len(zs[h])))
say("")
say("used = present - saved: the distinct pages the instances hold, what they cost in memory "
    "(a program that trims its own heap in one run saves less and may still use no more).")
say("")
say("| program | variant | saved | vs whole | rmap | vs whole | ksmd s | ctl s | t s | plateau "
    "| ksm pages | present | used | vs whole | throughput |")
say("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
for prog in order:
    r = res.get(prog, {})
    pv = r.get("process", {})
    for var in ("none", "process", "zero", "shipped", "auto", "attach", "attach-shipped"):
        v = r.get(var)
        if not v or "error" in v:
            if v:
                say("| %s | %s | error: %s | | | | | | | | | | | | |" % (prog, var, v["error"]))
            continue
        used, pused = (None if num(x, "present") is None or num(x, "saved") is None
                       else num(x, "present") - num(x, "saved") for x in (v, pv))
        say("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            prog, var, f(num(v, "saved"), "%.0f"),
            f(ratio(num(v, "saved"), num(pv, "saved")), "%.3f"), f(num(v, "rmap"), "%.0f"),
            f(ratio(num(v, "rmap"), num(pv, "rmap")), "%.3f"), f(num(v, "ksmd_s")),
            f(num(v, "ctl_s")) + (" (not acting)" if v.get("ctl_acting") == "0" else ""),
            f(num(v, "t_plateau"), "%.1f"),
            "yes" if v.get("plateau") == "1" else "cap", f(num(v, "ksm"), "%.0f"),
            f(num(v, "present"), "%.0f"), f(used, "%.0f"), f(ratio(used, pused), "%.3f"),
            v.get("rps", "-").replace(",", ", ")))
cpu = [(p, v) for p in order for v in ("zero", "shipped", "auto")
       if num(res.get(p, {}).get(v, {}), "ksmd_s") is not None
       and num(res.get(p, {}).get("process", {}), "ksmd_s")]
if cpu:
    say("")
    say("CPU until the plateau (issue 13 target: ksmd s + ctl s <= whole-process's ksmd s x (the rmap "
        "ratio reached + 0.1), time to plateau no slower): cpu = (ksmd s + ctl s) / whole-process's "
        "ksmd s; limit = rmap / whole + 0.1; t = t s / whole-process's.")
    say("")
    say("| program | half | variant | rmap / whole | ksmd / whole | ctl / whole | cpu | limit | t | target |")
    say("|---|---|---|---|---|---|---|---|---|---|")
    for prog, var in cpu:
        v, pv = res[prog][var], res[prog]["process"]
        rr = ratio(num(v, "rmap"), num(pv, "rmap"))
        kw = num(pv, "ksmd_s")
        k, c = (num(v, "ksmd_s") or 0) / kw, (num(v, "ctl_s") or 0) / kw
        t = ratio(num(v, "t_plateau"), num(pv, "t_plateau"))
        say("| %s | %s | %s | %s | %.3f | %.3f | %.3f | %s | %s | %s |" % (
            prog, "tuned" if prog in tuned else "held-out", var, f(rr, "%.3f"), k, c, k + c,
            f(None if rr is None else rr + 0.1, "%.3f"), f(t, "%.2f"),
            "-" if rr is None else "met" if k + c <= rr + 0.1 and (t is None or t <= 1.0) else "missed"))
held = [(p, v) for p in order for v in ("process", "zero", "shipped", "auto")
        if "hold_mean" in res.get(p, {}).get(v, {})]
if held:
    say("")
    say("Held after the plateau (BENCH_HOLDFOR): the instances kept running; ksmp-pagestat sampled the "
        "saving every %s s. mean = time-weighted mean saving over the window (pages), vs whole = its "
        "ratio to the process variant's mean over its own window; series = one sample a minute; "
        "sample s = time one sample took; ksmd s, ctl s = CPU seconds over the window; cpu vs whole = "
        "(ksmd s + ctl s) per second of the window over the process variant's ksmd s per second of its "
        "window (what selection saves ksmd once merging has settled); prunes, probes = "
        "the controller's, Σ over the instances' lives (mergefs PID/stats), in window = those within the "
        "window; max/chunk = most prunes + probes of any one 2 MiB chunk (over its life, so an upper "
        "bound for the window), per min = that over the window's minutes; madvise = the library's "
        "madvise calls within the window." % os.environ.get("HOLDEVERY", "10"))
    say("")
    say("| program | variant | window s | samples | mean | vs whole | min | max | sample s | ksmd s "
        "| ctl s | cpu vs whole | prunes | probes | in window | max/chunk | per min | madvise | series |")
    say("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for prog, var in held:
        v, pv = res[prog][var], res[prog].get("process", {})
        win = num(v, "hold_s")
        mx = num(v, "churn_max")
        pk, pwin = num(pv, "hold_ksmd_s"), num(pv, "hold_s")
        k = num(v, "hold_ksmd_s")
        cpu = ((k + (num(v, "hold_ctl_s") or 0)) / win) / (pk / pwin) \
            if k is not None and win and pk and pwin else None
        say("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            prog, var, f(win, "%.0f"), v.get("hold_n", "-"), f(num(v, "hold_mean"), "%.0f"),
            f(ratio(num(v, "hold_mean"), num(pv, "hold_mean")), "%.3f"),
            f(num(v, "hold_min"), "%.0f"), f(num(v, "hold_max"), "%.0f"),
            f(num(v, "hold_sample_s")), f(num(v, "hold_ksmd_s")), f(num(v, "hold_ctl_s")),
            f(cpu, "%.3f"), v.get("churn_prunes", "-"), v.get("churn_probes", "-"), v.get("churn_window", "-"),
            v.get("churn_max", "-"), f(mx / (win / 60) if mx is not None and win else None),
            v.get("madvise_window", "-"), v.get("hold_series", "-").replace(",", ", ")))
print("\n".join(out))
