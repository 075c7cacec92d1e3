"""Shared harness for the end-to-end benchmark groups (e2e, peer, daemon) and the soak script.

Starts real processes -- Mosquitto, floorgate-egm-sim, the floorgate daemon, fg-test-consumer,
mosquitto_sub/_pub -- in a temporary directory, samples /proc for CPU/RSS/fds, reads the
simulator's ledger over its control socket and prints figures as one JSON line each:
{"bench":"<group>.<figure>","value":N,"unit":"u"}.  Python 3 standard library only.
Env: FLOORGATE_BUILD_DIR (release build tree), FLOORGATE_SOURCE_DIR (repo), TMPDIR.
"""
import glob
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

BUILD = os.environ.get("FLOORGATE_BUILD_DIR", "")
SOURCE = os.environ.get("FLOORGATE_SOURCE_DIR", os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
CLK_TCK = os.sysconf("SC_CLK_TCK")
EGMS_PER_BUS = 16
ADDRS_PER_SIM = 112  # unique SAS addresses per simulator process (ledger has no bus index)


def log(*a):
    print("bench:", *a, file=sys.stderr, flush=True)


def emit(name, value, unit, **extra):
    """Prints one figure line on stdout."""
    line = {"bench": name, "value": round(float(value), 3), "unit": unit}
    line.update(extra)
    print(json.dumps(line), flush=True)


def binpath(rel):
    p = os.path.join(BUILD, rel)
    if not os.path.exists(p):
        raise SystemExit(f"bench: {p} is missing (build it in {BUILD})")
    return p


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def port_open(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


def stop_all(procs):
    """Stops what a benchmark started, last started first (stop() where a helper has one)."""
    for p in reversed(procs):
        p.stop() if hasattr(p, "stop") else p.kill()


def wait_until(pred, timeout, step=0.1):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(step)
    return pred()


def percentile(values, q):
    if not values:
        return 0.0
    v = sorted(values)
    return v[min(len(v) - 1, int(len(v) * q))]


# ---------------------------------------------------------------- processes and /proc
HELPER_CPU = []  # (program, cpu %) of every Proc when it was stopped; see report_helpers()


class Proc:
    """A child process in its own session; stdout/stderr to a file. When it is stopped, the
    CPU it used is logged and kept for report_helpers(): a helper spinning (a consumer in a
    reconnect loop, say) would otherwise distort the figures silently."""

    def __init__(self, argv, logfile=None, stdin=None, env=None):
        out = open(logfile, "ab") if logfile else subprocess.DEVNULL
        self.p = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT if logfile else
                                  subprocess.DEVNULL, stdin=stdin, start_new_session=True,
                                  env=env)
        self.argv = argv
        self.t0 = time.monotonic()
        self.cpu_reported = False

    def note_cpu(self):
        if self.cpu_reported or not self.running():
            return
        self.cpu_reported = True
        dt = time.monotonic() - self.t0
        pct = 100.0 * cpu_seconds(self.p.pid) / dt if dt > 0 else 0.0
        name = os.path.basename(self.argv[0])
        HELPER_CPU.append((name, pct))
        log(f"helper {name} (pid {self.p.pid}): {pct:.1f}% CPU over {dt:.0f} s")

    @property
    def pid(self):
        return self.p.pid

    def running(self):
        return self.p.poll() is None

    def kill(self, sig=signal.SIGTERM, timeout=30):
        self.note_cpu()
        if self.running():
            try:
                os.kill(self.p.pid, sig)
            except ProcessLookupError:
                pass
        try:
            self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            os.kill(self.p.pid, signal.SIGKILL)
            self.p.wait()


def report_helpers(group):
    """Emits <group>.helper_cpu_pct_max: the busiest helper process (simulators, broker,
    consumers, the daemon) over its life, so a spinning helper shows in the figures."""
    helpers = [h for h in HELPER_CPU if h[0] != "floorgate"]  # the daemon is measured itself
    if helpers:
        name, pct = max(helpers, key=lambda x: x[1])
        emit(f"{group}.helper_cpu_pct_max", pct, "%", program=name)


def proc_status(pid, key):
    """A kB field of /proc/PID/status (VmRSS, VmHWM); 0 if gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_seconds(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK
    except OSError:
        return 0.0


def open_fds(pid):
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return 0


class Sampler:
    """RSS/CPU/fd samples of one pid between mark() calls."""

    def __init__(self, pid):
        self.pid = pid
        self.t0 = time.monotonic()
        self.c0 = cpu_seconds(pid)
        self.rss = []

    def sample(self):
        self.rss.append(proc_status(self.pid, "VmRSS"))

    def cpu_percent(self):
        dt = time.monotonic() - self.t0
        return 100.0 * (cpu_seconds(self.pid) - self.c0) / dt if dt > 0 else 0.0

    def rss_mb(self):
        return max(self.rss or [proc_status(self.pid, "VmRSS")]) / 1024.0


# ---------------------------------------------------------------- broker
class Broker:
    """A Mosquitto on a free loopback port; restartable on the same port."""

    def __init__(self, workdir, name="broker", extra="", persistence=False):
        self.dir = os.path.join(workdir, name)
        os.makedirs(self.dir, exist_ok=True)
        self.port = free_port()
        self.extra = extra
        self.persistence = persistence
        self.proc = None
        self.start()

    def start(self):
        conf = os.path.join(self.dir, "mosquitto.conf")
        with open(conf, "w") as f:
            f.write(f"listener {self.port} 127.0.0.1\nallow_anonymous true\n"
                    "max_queued_messages 1000000\nmax_inflight_messages 0\n"
                    "set_tcp_nodelay true\n")
            if self.persistence:
                f.write(f"persistence true\npersistence_location {self.dir}/\n")
            else:
                f.write("persistence false\n")
            f.write(self.extra + "\n")
        self.proc = Proc(["mosquitto", "-c", conf], os.path.join(self.dir, "mosquitto.log"))
        if not wait_until(lambda: port_open(self.port), 10):
            raise RuntimeError("mosquitto did not start")

    def stop(self, sig=signal.SIGTERM):
        if self.proc:
            self.proc.kill(sig)
            self.proc = None


# ---------------------------------------------------------------- simulator
def egm_id(n):
    return f"egm-{n:03d}"


class Simulators:
    """n_egms virtual SAS machines in ceil(n/112) simulator processes, 16 per bus, buses
    alternating pty and TCP (links="mixed"), or all "pty" or all "tcp". Machine k (1-based) is
    egm-k."""

    def __init__(self, workdir, n_egms, rate=0.0, seed=7, links="mixed"):
        if links not in ("mixed", "pty", "tcp"):
            raise ValueError(f"links: {links!r}")
        self.workdir = workdir
        self.procs, self.controls, self.buses = [], [], []
        self.addr_of = {}  # egm id -> (sim index, address)
        k = 0
        for s in range((n_egms + ADDRS_PER_SIM - 1) // ADDRS_PER_SIM):
            ctl = os.path.join(workdir, f"sim{s}.sock")
            argv = [binpath("firmware-host/egm-sim/floorgate-egm-sim"), "--control", ctl,
                    "--seed", str(seed + s)]
            if rate > 0:
                argv += ["--rate", str(rate)]
            in_sim = min(ADDRS_PER_SIM, n_egms - k)
            for b in range((in_sim + EGMS_PER_BUS - 1) // EGMS_PER_BUS):
                bus_n = len(self.buses)
                count = min(EGMS_PER_BUS, in_sim - b * EGMS_PER_BUS)
                if links == "tcp" or (links == "mixed" and bus_n % 2 == 1):
                    port = free_port()
                    argv += ["--tcp", f"127.0.0.1:{port}"]
                    bus = {"id": f"bus{bus_n}", "driver": "sas-tcp", "endpoint": f"127.0.0.1:{port}"}
                else:
                    pty = os.path.join(workdir, f"bus{bus_n}")
                    argv += ["--pty", pty]
                    bus = {"id": f"bus{bus_n}", "driver": "sas-serial", "port": pty}
                bus["egms"] = []
                for i in range(count):
                    addr = b * EGMS_PER_BUS + i + 1
                    k += 1
                    argv += ["--egm", str(addr)]
                    bus["egms"].append((egm_id(k), addr))
                    self.addr_of[egm_id(k)] = (s, addr)
                self.buses.append(bus)
            self.procs.append(Proc(argv, os.path.join(workdir, f"sim{s}.log")))
            self.controls.append(ctl)
        for ctl in self.controls:
            if not wait_until(lambda: self.command_on(ctl, "status"), 20):
                raise RuntimeError("simulator did not start")

    @staticmethod
    def command_on(path, line, multi=False):
        try:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(30)
            s.connect(path)
            s.sendall((line + "\n").encode())
            buf = b""
            while True:
                chunk = s.recv(1 << 20)
                if not chunk:
                    break
                buf += chunk
                if not multi and buf.endswith(b"\n"):
                    break
                if multi and buf.endswith(b'{"end":true}\n'):
                    break
            s.close()
            return [json.loads(l) for l in buf.decode().splitlines() if l.strip()]
        except (OSError, ValueError):
            return None

    def ledger(self):
        """{egm id: [entry, ...]} in ledger order; entry has code, acked, dropped, raised_at."""
        out = {}
        rev = {v: k for k, v in self.addr_of.items()}
        for s, ctl in enumerate(self.controls):
            lines = self.command_on(ctl, "ledger", multi=True)
            if lines is None:
                return None
            for e in lines:
                if "address" in e:
                    out.setdefault(rev.get((s, e["address"]), "?"), []).append(e)
        return out

    def stop(self):
        for p in self.procs:
            p.kill()


# ---------------------------------------------------------------- daemon and consumers
DEFAULT_CONSUMERS = [("slot-mgmt", "[financial, security]", True),
                     ("maintenance", "[fault, security]", True),
                     ("analytics", None, False)]


def floor_config(workdir, broker_port, buses, consumers=DEFAULT_CONSUMERS, store=None,
                 poll_ms=40, max_size_mb=None):
    store = store or os.path.join(workdir, "floorgate.db")
    y = ["gateway: {id: bench, site: lab}", "logging: {level: warn}",
         f"store: {{path: {store}" + (f", retention: {{max_size_mb: {max_size_mb}}}"
                                         if max_size_mb else "") + "}",
         f"mqtt: {{host: 127.0.0.1, port: {broker_port}, health_period_s: 1}}", "consumers:"]
    for name, classes, required in consumers:
        route = f", route: {{classes: {classes}}}" if classes else ""
        y.append(f"  - {{name: {name}{route}, required: {'true' if required else 'false'}, "
                 "ack_timeout_s: 5}")
    y.append("buses:")
    for b in buses:
        y.append(f"  - id: {b['id']}\n    driver: {b['driver']}")
        if b["driver"] == "sas-tcp":
            y.append(f"    endpoint: {b['endpoint']}")
        else:
            y.append(f"    link: pty\n    port: {b['port']}")
        y.append("    egms:")
        for eid, addr in b["egms"]:
            y.append(f"      - {{id: {eid}, address: {addr}, poll_period_ms: {poll_ms}}}")
    y.append("web: {enabled: false}")
    path = os.path.join(workdir, "floorgate.yaml")
    with open(path, "w") as f:
        f.write("\n".join(y) + "\n")
    return path


ROOT = "floor/v1/lab/bench"


class Daemon:
    def __init__(self, workdir, config):
        self.workdir, self.config = workdir, config
        self.log = os.path.join(workdir, "floorgate.log")
        self.proc = None
        self.readies = 0

    def ready_count(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read().count("floorgate ready")
        except OSError:
            return 0

    def start(self, timeout=120):
        """Starts the daemon; returns ms until 'floorgate ready' appeared in its log."""
        t0 = time.monotonic()
        self.proc = Proc([binpath("firmware-host/floorgate/floorgate"), "--config", self.config,
                          "--log-level", "info"], self.log)
        if not wait_until(lambda: self.ready_count() > self.readies, timeout, 0.005):
            raise RuntimeError("floorgate did not become ready; see " + self.log)
        self.readies = self.ready_count()
        return (time.monotonic() - t0) * 1000.0

    def kill(self, sig=signal.SIGTERM):
        if self.proc:
            self.proc.kill(sig)

    @property
    def pid(self):
        return self.proc.pid


class Consumer:
    """fg-test-consumer for one consumer name; out=None writes to /dev/null."""

    def __init__(self, workdir, broker_port, name, out=True):
        self.path = os.path.join(workdir, f"{name}.jsonl") if out else "/dev/null"
        self.proc = Proc([binpath("tests/tools/fg-test-consumer"), "--port", str(broker_port),
                          "--root", ROOT, "--consumer", name, "--out", self.path,
                          "--ack-batch", "20"], os.path.join(workdir, f"{name}.err"))
        self.offset = 0
        self.events = []

    def read(self):
        """Appends newly written lines to self.events (dicts with rx_ms and msg)."""
        if self.path == "/dev/null":
            return self.events
        with open(self.path, "rb") as f:
            f.seek(self.offset)
            data = f.read()
        end = data.rfind(b"\n") + 1
        self.offset += end
        for line in data[:end].splitlines():
            try:
                self.events.append(json.loads(line))
            except ValueError:
                pass
        return self.events

    def stop(self):
        self.proc.kill()


class Health:
    """mosquitto_sub on <root>/health; last() is the newest message."""

    def __init__(self, workdir, broker_port):
        self.path = os.path.join(workdir, "health.jsonl")
        self.proc = Proc(["mosquitto_sub", "-p", str(broker_port), "-t", ROOT + "/health"],
                         self.path)

    def last(self):
        try:
            with open(self.path, "rb") as f:
                f.seek(max(0, os.path.getsize(self.path) - 65536))
                lines = f.read().splitlines()
        except OSError:
            return None
        for line in reversed(lines):
            try:
                return json.loads(line)
            except ValueError:
                continue
        return None

    def consumer(self, name):
        h = self.last() or {}
        for c in h.get("consumers", []):
            if c.get("name") == name:
                return c
        return None

    def stop(self):
        self.proc.kill()


def compare_live(ledger, events):
    """Ledger (per EGM) vs delivered events: returns (acked, missing). For every EGM and
    exception code, the acked, not dropped ledger entries must be matched by as many delivered
    events with that attrs.code (counted per code: an EGM may report an overflow 0x70 or a
    priority exception out of raise order). Duplicate (epoch, seq) deliveries count once."""
    delivered = {}
    seen = set()
    for ev in events:
        m = ev["msg"]
        key = (m.get("epoch", 0), m.get("seq"))
        if key in seen:
            continue
        seen.add(key)
        code = (m.get("attrs") or {}).get("code")
        if code:
            per = delivered.setdefault(m.get("egm"), {})
            per[code.lower()] = per.get(code.lower(), 0) + 1
    acked = missing = 0
    for egm, entries in ledger.items():
        expected = {}
        for e in entries:
            if e.get("acked") and not e.get("dropped"):
                c = "0x" + e["code"].lower().zfill(2)
                expected[c] = expected.get(c, 0) + 1
                acked += 1
        got = delivered.get(egm, {})
        missing += sum(max(0, n - got.get(c, 0)) for c, n in expected.items())
    return acked, missing


class Workdir:
    """A temporary directory removed at exit unless FLOORGATE_BENCH_KEEP=1."""

    def __init__(self, prefix):
        self.path = tempfile.mkdtemp(prefix=prefix)

    def close(self):
        if os.environ.get("FLOORGATE_BENCH_KEEP") != "1":
            shutil.rmtree(self.path, ignore_errors=True)
        else:
            log("kept", self.path)


# The web page's demo users (tests): password "floorgate".
DEMO_HASH = ("pbkdf2-sha256$100000$Zmxvb3JnYXRlLWRlbW8tcw==$"
             "PRDEgClxwstsCKPwC+ETBp5CNBnNqVT3rVFrUUZo41I=")


def enable_web(config_path, web_port, extra_bus=""):
    """Turns the web page on in a floor_config() file, with users tech and view."""
    with open(config_path) as f:
        text = f.read()
    text = text.replace("web: {enabled: false}\n", (
        extra_bus + f"web:\n  port: {web_port}\n  users:\n"
        f"    - {{name: tech, role: technician, password_hash: \"{DEMO_HASH}\"}}\n"
        f"    - {{name: view, role: viewer, password_hash: \"{DEMO_HASH}\"}}\n"))
    with open(config_path, "w") as f:
        f.write(text)


def http(port, method, path, body=None, headers=None, timeout=60):
    """One request to 127.0.0.1:port; returns (status, headers, text); status 0 on no answer."""
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method,
                                 data=body.encode() if body is not None else None,
                                 headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, dict(r.headers), r.read().decode(errors="replace")
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read().decode(errors="replace")
    except OSError:
        return 0, {}, ""


def login(port, user):
    """Signs in a demo user; returns (cookie, csrf token)."""
    st, h, body = http(port, "POST", "/api/login",
                       json.dumps({"user": user, "password": "floorgate"}),
                       {"Content-Type": "application/json"})
    if st != 200:
        raise RuntimeError(f"login {user}: {st}")
    return h["Set-Cookie"].split(";")[0], json.loads(body)["csrf"]


def metric(port, name):
    """One unlabelled sample of the daemon's /metrics."""
    st, _, text = http(port, "GET", "/metrics")
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise RuntimeError(f"no {name} in /metrics ({st})")


# ---------------------------------------------------------------- PostgreSQL
class Postgres:
    """Debian's PostgreSQL in a temp dir on a free loopback port; as root it runs as nobody
    (PostgreSQL refuses root). Trust auth for user floorgate."""

    def __init__(self, workdir):
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"))
        if not bins:
            raise SystemExit("bench: PostgreSQL is not installed (apt-get install postgresql)")
        self.bindir = os.path.dirname(bins[-1])
        self.port = free_port()
        self.data = os.path.join(workdir, "pgdata")
        os.makedirs(self.data)
        self.as_user = []
        if os.geteuid() == 0:
            os.chmod(workdir, 0o711)
            os.chown(self.data, 65534, 65534)
            self.as_user = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"]
        logf = os.path.join(workdir, "postgres.log")
        rc = Proc(self.as_user + [f"{self.bindir}/initdb", "-D", self.data, "-U", "floorgate",
                                  "--auth=trust", "-E", "UTF8"], logf).p.wait()
        if rc != 0:
            raise RuntimeError("initdb failed; see " + logf)
        self.proc = Proc(self.as_user + [f"{self.bindir}/postgres", "-D", self.data, "-p",
                                         str(self.port), "-k", self.data, "-c",
                                         "listen_addresses=127.0.0.1"], logf)
        if not wait_until(lambda: subprocess.call(
                [f"{self.bindir}/pg_isready", "-h", "127.0.0.1", "-p", str(self.port), "-q"]) == 0,
                60):
            raise RuntimeError("postgres did not start; see " + logf)

    @property
    def conninfo(self):
        return f"host=127.0.0.1 port={self.port} user=floorgate dbname=postgres"

    def query(self, sql):
        """One value (first column of the first row) as text; '' when no row or no table."""
        r = subprocess.run([f"{self.bindir}/psql", "-h", "127.0.0.1", "-p", str(self.port), "-U",
                            "floorgate", "-d", "postgres", "-At", "-c", sql],
                           capture_output=True, text=True)
        return r.stdout.strip().split("\n")[0] if r.returncode == 0 else ""

    def stop(self):
        self.proc.kill(signal.SIGINT, timeout=60)
