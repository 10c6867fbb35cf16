"""test/mutate.py: the driver behind test/mutate (run that, not this file).

test/mutate installs the Debian packages and the virtualenv with
universalmutator, then runs this with the environment it sets:

  MUTATE_TOP        the checkout
  MUTATE_PG_BINDIR  bin directory of the PostgreSQL installation to copy
  MUTATE_TOOL       universalmutator's `mutate` command
  MUTATE_SAMPLE, MUTATE_SEED, MUTATE_TIMEOUT, MUTATE_KEEP, MUTATE_LINES
                    see test/mutate

The steps: copy the PostgreSQL installation and the tree into a work
directory under /tmp (owned by the postgres user when we are root); build
and test the unmodified tree, timing each test stage; then per file,
generate every mutant with universalmutator (--noCheck: it would compile
each of thousands of mutants), shuffle them with the seed, and walk the
shuffled list until the sample is full: a mutant that is listed as
equivalent, does not build, or builds to the same object code is skipped;
any other is installed and tested, stage after stage, until a stage fails
(killed) or all pass (survived).
"""

import filecmp
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

TOP = os.environ["MUTATE_TOP"]
PG_BINDIR = os.environ["MUTATE_PG_BINDIR"].rstrip("/")
TOOL = os.environ["MUTATE_TOOL"]
SEED = os.environ.get("MUTATE_SEED", "1")
KEEP = os.environ.get("MUTATE_KEEP", "0") == "1"
# MUTATE_LINES: "A-B[,C-D...]", only mutants of those lines (of every file given)
LINES = [tuple(int(x) for x in r.split("-", 1)) if "-" in r else (int(r), int(r))
         for r in os.environ.get("MUTATE_LINES", "").split(",") if r.strip()]
EQUIVALENT_FILE = os.path.join(TOP, "test", "mutate-equivalent.txt")
AS_ROOT = os.geteuid() == 0

# The build test/run's CI makes (with assertion checking), without debug
# information so that object files compare equal when the code is equal.
BUILD_FLAGS = ["EXTRA_CPPFLAGS=-DUSE_ASSERT_CHECKING", "COPT=-g0"]

# ---------------------------------------------------------------------------
# Which tests exercise which file, fastest first.  A stage is (kind, tests):
# "regress" with a list of sql/ tests (01_install, which creates the
# extension, is always run first; None means every test but those named in
# "except"), "isolation" (every spec) or "tap": None for every TAP test, or
# a list of test/t/ file names (passed to prove as PROVE_TESTS).  TAP tests
# boot several clusters each (the whole suite takes about 3.5 minutes), so
# a file's TAP stage names only the TAP files that exercise it.  Each stage
# runs on its own temporary instance; a mutant's run stops at the first
# stage that fails.
#
# A stage list must contain every test that exercises the file: a shorter
# list makes the score higher than it is.  Which TAP files do what (see the
# comment at the top of each):
#   001  install, with and without the library preloaded (the launcher
#        registers, shared memory is set up or not)
#   002, 004  jobs across pg_dump and restore (run_job, capture)
#   003  crashes in and after run_job() transactions
#   005-008  the background worker: launcher, schedulers, runs of jobs,
#        wake-ups, failures, restarts, standbys
#   009  upgrade from 0.1.0, with jobs that it converts and runs
#   020, 021  pg_partman, pg_cron (run_due_jobs()); skipped where not
#        installed
#   030  the dbt package, whose materialization runs jobs
# so every TAP file runs jobs; only 005-008 turn the worker on.
# ---------------------------------------------------------------------------
ALGORITHM_ONLY = ["02_window", "03_sessions", "04_srf", "05_differential"]
# the TAP files that exercise the background worker's files (see below)
TAP_WORKER = ["001_install.pl", "005_worker_runs.pl", "006_worker_failures.pl",
              "007_worker_lifecycle.pl", "008_worker_standby.pl", "021_pg_cron.pl"]
JOB_STAGES = [
    ("regress", {"except": ALGORITHM_ONLY}),
    ("isolation", None),
    ("tap", None),	# every TAP file runs jobs
]
FILE_STAGES = {
    "src/session_window.c": [
        ("regress", ["02_window", "09_edges"]),
        ("regress", ["05_differential"]),
    ],
    "src/session_state.c": [
        ("regress", ["02_window", "03_sessions", "04_srf", "09_edges"]),
        ("regress", ["06_jobs", "07_jobs_random"]),
        ("regress", ["05_differential"]),
        ("isolation", None),
    ],
    "src/session_state.h": [
        ("regress", ["02_window", "03_sessions", "04_srf", "09_edges"]),
        ("regress", ["06_jobs", "07_jobs_random"]),
        ("regress", ["05_differential"]),
        ("isolation", None),
    ],
    "src/session_agg.c": [
        ("regress", ["03_sessions", "09_edges"]),
        ("regress", ["06_jobs", "07_jobs_random"]),
        ("regress", ["05_differential"]),
    ],
    # (sessionize_open_btree_index(): the indexes that appends probe, 06
    # and 19)
    "src/session_srf.c": [
        ("regress", ["04_srf", "09_edges"]),
        ("regress", ["06_jobs", "07_jobs_random", "19_measures_append"]),
        ("regress", ["05_differential"]),
    ],
    "src/user_sessions.c": [
        ("regress", ["04_srf", "06_jobs", "09_edges"]),
        ("regress", ["07_jobs_random", "05_differential"]),
        ("isolation", None),
    ],
    "src/capture.c": JOB_STAGES,
    "src/refresh.c": JOB_STAGES,
    "src/apply_inserts.c": JOB_STAGES,
    # measures: parsed at create_job()/alter_job() (14_measures), run by
    # every job with measures (14, 07's seeds with measures, 13's upgrade)
    "src/measures.c": [
        ("regress", ["14_measures", "18_measures_build"]),
        ("regress", ["07_jobs_random", "13_upgrade"]),
        ("regress", {"except": ALGORITHM_ONLY}),
    ],
    "src/first_last.c": [
        ("regress", ["15_first_last"]),
        ("regress", ["14_measures", "18_measures_build", "07_jobs_random"]),
    ],
    # the one-pass full build of jobs with measures, and the measures of
    # the sessions that appends write (spans): their own tests, then every
    # test that builds or runs a job with measures
    "src/measures_build.c": [
        ("regress", ["18_measures_build", "19_measures_append"]),
        ("regress", ["14_measures", "17_job_time_types", "07_jobs_random"]),
    ],
    # numerics as scaled integers, used by the one-pass build and spans only
    "src/numeric_scaled.c": [
        ("regress", ["18_measures_build", "19_measures_append"]),
        ("regress", ["14_measures", "07_jobs_random"]),
    ],
    # the worker's files, with one TAP stage (one baseline run when they
    # are measured together): the worker's TAP files 005-008; 001, where
    # the library is preloaded with sessionize.enabled off (the TAP files
    # other than 005-008 do the same: the launcher starts and idles); 021,
    # whose pg_cron calls run_due_jobs().  scheduler.c and launcher.c run
    # only in background workers, which no regress or isolation instance
    # starts (the library is not preloaded there).  job_runner.c runs a due
    # job unattended, for run_due_jobs() (12_run_due_jobs) and for the
    # scheduler.  worker_shmem.c: the jobs-changed trigger and the wake-up
    # at commit run in every backend that changes jobs (a no-op without
    # shared memory, as in the regress instances: 06_jobs stands for them),
    # the slots and wake requests in the workers.
    "src/job_runner.c": [
        ("regress", ["12_run_due_jobs"]),
        ("tap", TAP_WORKER),
    ],
    "src/scheduler.c": [
        ("tap", TAP_WORKER),
    ],
    "src/launcher.c": [
        ("tap", TAP_WORKER),
    ],
    "src/worker_shmem.c": [
        ("regress", ["06_jobs", "12_run_due_jobs"]),
        ("tap", TAP_WORKER),
    ],
}
# anything else (job_api.c, security.c, sessionize.c, files to come): all
DEFAULT_STAGES = [
    ("regress", {"except": ["05_differential"]}),
    ("regress", ["05_differential"]),
    ("isolation", None),
    ("tap", None),
]

# Mutants per file when MUTATE_SAMPLE is not set, for about 30 minutes on a
# 2-core machine, divided among the files of a run.  Measured for
# session_window.c and session_state.c (7.6 s a mutant on average, skipped
# ones included, with other work on the machine); the others are estimated
# from the time of their test stages.
DEFAULT_SAMPLE = {
    "src/session_window.c": 200,
    "src/session_state.c": 200,
    "src/session_agg.c": 150,
    "src/session_srf.c": 150,
    "src/user_sessions.c": 120,
    "src/capture.c": 100,
    "src/refresh.c": 100,
    "src/apply_inserts.c": 100,
    "src/measures.c": 60,
    "src/first_last.c": 80,
    "src/measures_build.c": 100,
    "src/numeric_scaled.c": 60,
}
DEFAULT_SAMPLE_OTHER = 60

workdir = None
tree = None
pg_env = None


def say(*args):
    print(*args, flush=True)


def die(msg):
    say("test/mutate: " + msg)
    sys.exit(1)


def unprivileged(cmd):
    """cmd as the postgres user when we are root (initdb refuses root)."""
    if AS_ROOT:
        return ["runuser", "-u", "postgres", "--", "env", "PATH=" + pg_env["PATH"]] + cmd
    return cmd


def run(cmd, timeout=None, log=None):
    """Run cmd (as the postgres user) in its own process group; returns
    (status, seconds, timed_out).  Output goes to the file log."""
    start = time.monotonic()
    with open(log or os.devnull, "w") as out:
        p = subprocess.Popen(unprivileged(cmd), cwd=tree, env=pg_env, stdout=out,
                             stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             start_new_session=True)
        try:
            status = p.wait(timeout=timeout)
            return status, time.monotonic() - start, False
        except subprocess.TimeoutExpired:
            # the servers first, so that they shut down cleanly, then the rest
            stop_servers()
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
            return -1, time.monotonic() - start, True


def stop_servers():
    """Stop the test servers left running under the work directory (after a
    timeout or an interrupt), each by its own data directory."""
    if workdir is None:
        return
    for root, dirs, files in os.walk(workdir):
        if "postmaster.pid" in files:
            subprocess.run(unprivileged([os.path.join(pg_bindir(), "pg_ctl"), "stop",
                                         "-D", root, "-m", "immediate", "-w"]),
                           env=pg_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def pg_bindir():
    return os.path.join(workdir, "pg", PG_BINDIR_SUFFIX.lstrip("/"))


def norm(line):
    return " ".join(line.split())


# ---------------------------------------------------------------------------
# Equivalent mutants: "FILE WHERE: BEFORE ==> AFTER ## REASON".  WHERE is the
# function the mutated line is in ("-" outside functions), with "#K" when
# the same line occurs more than once in it (the K-th); BEFORE and AFTER are
# the line's text (whitespace runs count as one space).
# ---------------------------------------------------------------------------
def read_equivalents():
    equivalent = {}
    if not os.path.exists(EQUIVALENT_FILE):
        return equivalent
    with open(EQUIVALENT_FILE) as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            m = re.match(r"^(\S+) (\S+): (.*) ==> (.*) ## (.+)$", line)
            if not m:
                die("%s line %d: expected 'FILE WHERE: BEFORE ==> AFTER ## REASON'" % (EQUIVALENT_FILE, n))
            equivalent[(m.group(1), m.group(2), norm(m.group(3)), norm(m.group(4)))] = m.group(5).strip()
    return equivalent


def locate_lines(lines):
    """For each line of a C file, WHERE it is: the enclosing function (PostgreSQL
    style puts the function name at column 0, the body's braces too), "-" at
    file level, with "#K" for the K-th of several equal lines there."""
    func = "-"
    candidate = None
    where = []
    for line in lines:
        if func == "-":
            m = re.match(r"^([A-Za-z_]\w*)\(", line)
            if m:
                candidate = m.group(1)
            if line.startswith("{"):
                func = candidate or "-"
            elif line.rstrip().endswith(";"):
                candidate = None	# a declaration, not a definition
        where.append(func)
        if line.startswith("}"):
            func = "-"
            candidate = None
    total = {}
    for f, line in zip(where, lines):
        total[(f, norm(line))] = total.get((f, norm(line)), 0) + 1
    seen = {}
    result = []
    for f, line in zip(where, lines):
        key = (f, norm(line))
        seen[key] = seen.get(key, 0) + 1
        result.append(f if total[key] == 1 else "%s#%d" % (f, seen[key]))
    return result


# ---------------------------------------------------------------------------
# Setup: a private PostgreSQL installation and a copy of the tree.
# ---------------------------------------------------------------------------
def setup():
    global workdir, tree, pg_env, PG_BINDIR_SUFFIX
    m = re.match(r"^(.*)(/usr/lib/postgresql/(\d+)/bin)$", PG_BINDIR)
    if not m:
        die("the PostgreSQL to copy must be laid out as <prefix>/usr/lib/postgresql/N/bin, not %s" % PG_BINDIR)
    prefix, PG_BINDIR_SUFFIX, major = m.group(1), m.group(2), m.group(3)
    workdir = tempfile.mkdtemp(prefix="sessionize-mutate.", dir="/tmp")
    os.chmod(workdir, 0o755)
    say("== work directory %s" % workdir)
    # PostgreSQL is relocatable: pg_config and the server find their files
    # relative to the bin directory, so a copy with the same layout is a
    # private installation
    for d in ("usr/lib/postgresql", "usr/share/postgresql", "usr/include/postgresql"):
        src = os.path.join(prefix or "/", d, major)
        if not os.path.isdir(src):
            die("%s is missing (is postgresql-server-dev-%s installed?)" % (src, major))
        os.makedirs(os.path.join(workdir, "pg", d))
        subprocess.run(["cp", "-a", src, os.path.join(workdir, "pg", d, major)], check=True)
    tree = os.path.join(workdir, "tree")
    os.makedirs(tree)
    tar = subprocess.Popen(["tar", "-C", TOP, "--exclude=./.git", "--exclude=./.mutate",
                            "--exclude=./.demo", "--exclude=./tmp_check*", "--exclude=./results",
                            "--exclude=./output_iso", "--exclude=./log", "-cf", "-", "."],
                           stdout=subprocess.PIPE)
    subprocess.run(["tar", "-C", tree, "-xf", "-"], stdin=tar.stdout, check=True)
    tar.wait()
    if AS_ROOT:
        subprocess.run(["chown", "-R", "postgres", workdir], check=True)
    pg_env = dict(os.environ)
    pg_env["PATH"] = pg_bindir() + ":" + os.environ["PATH"]
    out = subprocess.run([os.path.join(pg_bindir(), "pg_config"), "--pkglibdir"], env=pg_env,
                         capture_output=True, text=True).stdout.strip()
    if not out.startswith(workdir):
        die("the copied pg_config reports %s, not a directory in %s" % (out, workdir))
    say("== private PostgreSQL %s in %s" % (major, os.path.join(workdir, "pg")))


def regress_tests(spec):
    names = sorted(os.path.basename(p)[:-4] for p in os.listdir(os.path.join(tree, "sql"))
                   if p.endswith(".sql"))
    if isinstance(spec, dict):
        chosen = [n for n in names if n not in spec["except"]]
    else:
        missing = [n for n in spec if n not in names]
        if missing:
            die("the test map names regress tests that do not exist: %s" % " ".join(missing))
        chosen = list(spec)
    return ["01_install"] + [n for n in chosen if n != "01_install"]


def stage_command(stage):
    kind, spec = stage
    if kind == "regress":
        tests = regress_tests(spec)
        return ["make", "-s", "check-regress", "REGRESS=" + " ".join(tests)], \
            "regress " + " ".join(tests[1:])
    if kind == "isolation":
        return ["make", "-s", "check-isolation"], "isolation"
    if spec is None:
        return ["make", "-s", "installcheck-tap"], "TAP"
    missing = [t for t in spec if not os.path.isfile(os.path.join(tree, "test", "t", t))]
    if missing:
        die("the test map names TAP tests that do not exist: %s" % " ".join(missing))
    return ["make", "-s", "installcheck-tap",
            "PROVE_TESTS=" + " ".join("test/t/" + t for t in spec)], \
        "TAP " + " ".join(t.split("_")[0] for t in spec)


def objects_of(relpath):
    """The object files a source file goes into: its own, or all for a header."""
    if relpath.endswith(".h"):
        return sorted("src/" + f[:-2] + ".o" for f in os.listdir(os.path.join(tree, "src"))
                      if f.endswith(".c"))
    return [relpath[:-2] + ".o"]


def build_objects(objs, log):
    for o in objs:
        try:
            os.remove(os.path.join(tree, o))
        except FileNotFoundError:
            pass
    status, _, _ = run(["make", "-s"] + BUILD_FLAGS + objs, timeout=600, log=log)
    return status == 0


def build_and_install(log):
    status, _, _ = run(["make", "-s"] + BUILD_FLAGS, timeout=600, log=log)
    if status != 0:
        return False
    status, _, _ = run(["make", "-s", "install"], timeout=600, log=log)
    return status == 0


def generate(relpath, gendir):
    """Every mutant of relpath, as (where, before, after, lineno, text, diff) in
    universalmutator's order."""
    os.makedirs(gendir)
    base = os.path.basename(relpath)
    src = os.path.join(gendir, base)
    shutil.copy(os.path.join(tree, relpath), src)
    mdir = os.path.join(gendir, "mutants")
    os.makedirs(mdir)
    language = "c"
    with open(os.path.join(gendir, "mutate.log"), "w") as out:
        subprocess.run([TOOL, base, language, "--noCheck", "--mutantDir", mdir + "/"],
                       cwd=gendir, stdout=out, stderr=subprocess.STDOUT, check=True)
    with open(src) as f:
        original = f.read().split("\n")
    where = locate_lines(original)
    stem, ext = os.path.splitext(base)
    pat = re.compile(re.escape(stem) + r"\.mutant\.(\d+)" + re.escape(ext) + "$")
    found = sorted((int(m.group(1)), f) for f in os.listdir(mdir) for m in [pat.match(f)] if m)
    mutants = []
    seen = set()
    for _, f in found:
        with open(os.path.join(mdir, f)) as fh:
            text = fh.read()
        lines = text.split("\n")
        if text in seen or len(lines) != len(original):
            continue
        seen.add(text)
        changed = [i for i in range(len(lines)) if lines[i] != original[i]]
        if len(changed) != 1:
            continue
        i = changed[0]
        diff = "--- %s\n+++ %s (mutant)\n@@ line %d @@\n-%s\n+%s" % (
            relpath, relpath, i + 1, original[i], lines[i])
        mutants.append((where[i], norm(original[i]), norm(lines[i]), i + 1, text, diff))
    return mutants


def main(files):
    started = time.time()
    equivalents = read_equivalents()
    for f in files:
        if not os.path.isfile(os.path.join(TOP, f)) or not re.search(r"\.[ch]$", f):
            die("%s: not a C source or header of the checkout (give paths like src/session_window.c)" % f)
    um_version = subprocess.run([os.path.join(os.path.dirname(TOOL), "python"), "-m", "pip", "show",
                                 "universalmutator"], capture_output=True, text=True).stdout
    um_version = re.search(r"^Version: (.*)$", um_version, re.M).group(1)
    sample_env = os.environ.get("MUTATE_SAMPLE")
    say("== test/mutate %s: universalmutator %s, seed %s, sample %s" % (
        " ".join(files), um_version, SEED,
        sample_env if sample_env else "default (per file, see test/mutate.py)"))
    setup()

    # the unmutated tree: build, save its objects, run every stage once
    logdir = os.path.join(workdir, "logs")
    os.makedirs(logdir)
    os.chmod(logdir, 0o777)
    say("== build and test the unmutated tree")
    run(["make", "-s", "clean"], log=os.path.join(logdir, "clean.log"))
    if not build_and_install(os.path.join(logdir, "build.log")):
        say(open(os.path.join(logdir, "build.log")).read())
        die("the unmutated tree does not build")
    saved = os.path.join(workdir, "objects")
    os.makedirs(saved)
    for f in os.listdir(os.path.join(tree, "src")):
        if f.endswith(".o"):
            shutil.copy(os.path.join(tree, "src", f), os.path.join(saved, f))
    baseline = {}
    for relpath in files:
        for stage in FILE_STAGES.get(relpath, DEFAULT_STAGES):
            cmd, title = stage_command(stage)
            if title in baseline:
                continue
            log = os.path.join(logdir, "baseline.log")
            status, secs, _ = run(cmd, timeout=3600, log=log)
            if status != 0:
                say(open(log).read())
                die("the unmutated tree fails %s; fix that first" % title)
            baseline[title] = secs
            say("   %-60s %6.1f s" % (title, secs))

    total_killed = total_tested = 0
    for relpath in files:
        stages = [stage_command(s) for s in FILE_STAGES.get(relpath, DEFAULT_STAGES)]
        if sample_env:
            sample = int(sample_env)
        else:
            sample = max(5, DEFAULT_SAMPLE.get(relpath, DEFAULT_SAMPLE_OTHER) // len(files))
        mutants = generate(relpath, os.path.join(workdir, "gen", relpath.replace("/", "_")))
        order = list(range(len(mutants)))
        random.Random("%s:%s" % (SEED, relpath)).shuffle(order)
        if LINES:
            order = [k for k in order if any(lo <= mutants[k][3] <= hi for lo, hi in LINES)]
        say("")
        say("== %s: %d mutants generated; testing %d of them (seed %s), stages: %s" % (
            relpath, len(mutants), sample, SEED, "; ".join(t for _, t in stages)))
        objs = objects_of(relpath)
        src_path = os.path.join(tree, relpath)
        with open(src_path) as fh:
            original_text = fh.read()
        killed = tested = hangs = 0
        skipped = {"listed equivalent": 0, "does not build": 0, "same object code": 0}
        survivors = []
        for k in order:
            if tested >= sample:
                break
            where, before, after, lineno, text, diff = mutants[k]
            if (relpath, where, before, after) in equivalents:
                skipped["listed equivalent"] += 1
                continue
            with open(src_path, "w") as fh:
                fh.write(text)
            log = os.path.join(logdir, "mutant.log")
            try:
                if not build_objects(objs, log):
                    skipped["does not build"] += 1
                    continue
                if all(filecmp.cmp(os.path.join(tree, o), os.path.join(saved, os.path.basename(o)),
                                   shallow=False) for o in objs):
                    skipped["same object code"] += 1
                    continue
                if not build_and_install(log):
                    skipped["does not build"] += 1
                    continue
                tested += 1
                verdict = "SURVIVED"
                for cmd, title in stages:
                    limit = float(os.environ.get("MUTATE_TIMEOUT") or 3 * baseline[title] + 30)
                    status, secs, timed_out = run(cmd, timeout=limit, log=log)
                    if timed_out:
                        verdict = "KILLED (%s: hung, timeout after %.0f s)" % (title, secs)
                        hangs += 1
                        break
                    if status != 0:
                        verdict = "KILLED (%s, %.1f s)" % (title, secs)
                        break
                say("[%d/%d] line %d in %s: %s ==> %s  %s" % (tested, sample, lineno, where, before,
                                                             after, verdict))
                if verdict == "SURVIVED":
                    survivors.append(diff)
                    say(diff)
                    say("(if no behaviour can tell it from the original, list it in "
                        "test/mutate-equivalent.txt as:\n %s %s: %s ==> %s ## <reason>)" % (
                            relpath, where, before, after))
                else:
                    killed += 1
            finally:
                # the original source and objects back, newer than the source
                with open(src_path, "w") as fh:
                    fh.write(original_text)
                for o in objs:
                    shutil.copy(os.path.join(saved, os.path.basename(o)), os.path.join(tree, o))
        say("-- %s: %s; %s" % (relpath, "; ".join("%d %s" % (v, k) for k, v in skipped.items()),
                               "%d killed by a hang (timeout)" % hangs))
        if tested < sample:
            say("-- %s: only %d mutants could be tested" % (relpath, tested))
        if survivors:
            say("-- %s: %d survivors (diffs above)" % (relpath, len(survivors)))
        say("%s: mutation score: %d/%d killed" % (relpath, killed, tested))
        total_killed += killed
        total_tested += tested
    say("")
    say("(%.0f minutes)" % ((time.time() - started) / 60))
    say("mutation score: %d/%d killed" % (total_killed, total_tested))


def on_signal(signum, frame):
    raise KeyboardInterrupt


if __name__ == "__main__":
    if len(sys.argv) < 2:
        die("usage: test/mutate src/FILE.c [src/FILE.c ...]")
    signal.signal(signal.SIGTERM, on_signal)
    PG_BINDIR_SUFFIX = ""
    try:
        main([os.path.normpath(f) for f in sys.argv[1:]])
    except KeyboardInterrupt:
        say("test/mutate: interrupted")
        sys.exit(130)
    finally:
        stop_servers()
        if workdir and not KEEP:
            shutil.rmtree(workdir, ignore_errors=True)
        elif workdir:
            say("(work directory kept: %s)" % workdir)
