"""Start, stop and locate the private PostgreSQL cluster that `make run` and `make test` use.

Run as `python -m pannusmap.devdb start|stop|url|status`. The cluster lives in var/pg, listens only
on a Unix socket in var/pg/run, and trusts local connections, so it needs no password and opens no
port. PostgreSQL refuses to run as root, so under root the cluster is owned by, and run as, the
`postgres` system user (or `nobody` when that user does not exist).
"""

import glob
import os
import pwd
import shutil
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

REPO = Path(__file__).resolve().parent.parent
CLUSTER_DIR = REPO / "var" / "pg"
DATA_DIR = CLUSTER_DIR / "data"
SOCKET_DIR = CLUSTER_DIR / "run"
LOG_FILE = CLUSTER_DIR / "postgres.log"
PORT = os.environ.get("PANNUSMAP_PG_PORT", "5439")
DB_USER = "pannusmap"
DB_NAME = "pannusmap"


def find_binary(name):
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    if candidates:
        return candidates[0]
    sys.exit(
        f"PostgreSQL program '{name}' was not found on PATH or under /usr/lib/postgresql/*/bin. "
        "Install the server, e.g. `apt-get install postgresql` on Debian, or set DATABASE_URL "
        "to an existing PostgreSQL database."
    )


def server_user():
    """Return the account that owns and runs the cluster, or None for the current user."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    sys.exit(
        "Running as root, but neither a 'postgres' nor a 'nobody' account exists to run PostgreSQL."
    )


def run_as_server_user(command, **kwargs):
    user = server_user()
    if user is None:
        return subprocess.run(command, check=True, **kwargs)
    return subprocess.run(
        command, check=True, user=user.pw_uid, group=user.pw_gid, extra_groups=[], **kwargs
    )


def check_reachable(user):
    """Fail with advice when the server account cannot enter the repository folder."""
    probe = subprocess.run(
        ["test", "-x", str(CLUSTER_DIR)], user=user.pw_uid, group=user.pw_gid, extra_groups=[]
    )
    if probe.returncode != 0:
        sys.exit(
            f"The '{user.pw_name}' account cannot enter {CLUSTER_DIR}, so PostgreSQL cannot run "
            "there. Clone the repository under a folder that other users can traverse, or set "
            "DATABASE_URL to an existing PostgreSQL database."
        )


def url():
    host = quote(str(SOCKET_DIR), safe="")
    return f"postgresql://{DB_USER}@{host}:{PORT}/{DB_NAME}"


def is_running():
    pg_ctl = find_binary("pg_ctl")
    if not DATA_DIR.exists():
        return False
    result = subprocess.run(
        [pg_ctl, "status", "-D", str(DATA_DIR)], capture_output=True, user=_uid(), group=_gid()
    )
    return result.returncode == 0


def _uid():
    user = server_user()
    return None if user is None else user.pw_uid


def _gid():
    user = server_user()
    return None if user is None else user.pw_gid


def init_cluster():
    initdb = find_binary("initdb")
    SOCKET_DIR.mkdir(parents=True, exist_ok=True)
    user = server_user()
    if user is not None:
        for path in (CLUSTER_DIR, SOCKET_DIR):
            os.chown(path, user.pw_uid, user.pw_gid)
        check_reachable(user)
    if (DATA_DIR / "PG_VERSION").exists():
        return
    print(f"Creating a private PostgreSQL cluster in {DATA_DIR}")
    run_as_server_user(
        [
            initdb,
            "-D",
            str(DATA_DIR),
            "-U",
            DB_USER,
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C.UTF-8" if _has_c_utf8() else "--locale=C",
        ],
        stdout=subprocess.DEVNULL,
    )


def _has_c_utf8():
    locales = subprocess.run(["locale", "-a"], capture_output=True, text=True).stdout.lower()
    return "c.utf8" in locales or "c.utf-8" in locales


def start():
    init_cluster()
    if not is_running():
        pg_ctl = find_binary("pg_ctl")
        options = f"-k {SOCKET_DIR} -p {PORT} -c listen_addresses='' -c fsync=off"
        run_as_server_user(
            [pg_ctl, "start", "-w", "-D", str(DATA_DIR), "-l", str(LOG_FILE), "-o", options],
            stdout=subprocess.DEVNULL,
        )
    create_database()
    print(f"PostgreSQL is running on the socket in {SOCKET_DIR} (port {PORT}).")


def create_database():
    psql = find_binary("psql")
    query = f"SELECT 1 FROM pg_database WHERE datname = '{DB_NAME}'"
    for _attempt in range(20):
        result = subprocess.run(
            [
                psql,
                "-h",
                str(SOCKET_DIR),
                "-p",
                PORT,
                "-U",
                DB_USER,
                "-d",
                "postgres",
                "-tAc",
                query,
            ],
            capture_output=True,
            text=True,
        )
        if result.returncode == 0:
            break
        time.sleep(0.5)
    else:
        sys.exit(f"PostgreSQL did not accept connections; see {LOG_FILE}.\n{result.stderr}")
    if result.stdout.strip() != "1":
        subprocess.run(
            [find_binary("createdb"), "-h", str(SOCKET_DIR), "-p", PORT, "-U", DB_USER, DB_NAME],
            check=True,
        )


def stop():
    if is_running():
        run_as_server_user(
            [find_binary("pg_ctl"), "stop", "-w", "-m", "fast", "-D", str(DATA_DIR)],
            stdout=subprocess.DEVNULL,
        )
        print("PostgreSQL stopped.")
    else:
        print("PostgreSQL was not running.")


def main(argv):
    commands = {
        "start": start,
        "stop": stop,
        "url": lambda: print(url()),
        "status": lambda: print("running" if is_running() else "stopped"),
    }
    if len(argv) != 2 or argv[1] not in commands:
        sys.exit(f"usage: python -m pannusmap.devdb {{{'|'.join(commands)}}}")
    commands[argv[1]]()


if __name__ == "__main__":
    main(sys.argv)
