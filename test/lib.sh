# test/lib.sh: shared by test/run, test/demo and .ci/run.  Source it.
#
# ensure_packages  installs (as root, apt-get update once, then only what is
#                  missing) the Debian packages that building and testing
#                  sessionize need; fast when everything is there
# as_unprivileged  runs a command as the postgres system user when we are
#                  root (initdb refuses to run as root), as ourselves
#                  otherwise, with our PATH (as root, in / when postgres
#                  cannot enter the current directory)
# elapsed_since    seconds since a `date +%s` value

SESSIONIZE_PACKAGES="postgresql-15 postgresql-server-dev-15 libipc-run-perl build-essential"
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

# PATH with this PostgreSQL's pg_config and server binaries first
export PATH="$PG_BINDIR:$PATH"
