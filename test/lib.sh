# test/lib.sh: shared by test/run, test/demo and .ci/run.  Source it.
#
# ensure_packages  installs (as root, only what is missing) the Debian
#                  packages that building and testing sessionize need
# as_unprivileged  runs a command as the postgres system user when we are
#                  root (initdb refuses to run as root), as ourselves otherwise

SESSIONIZE_PACKAGES="postgresql-15 postgresql-server-dev-15 libipc-run-perl build-essential"
PG_BINDIR=/usr/lib/postgresql/15/bin

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
	echo "== installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# the server package must not start a cluster of its own on install
	mkdir -p /etc/postgresql-common
	if [ ! -f /etc/postgresql-common/createcluster.conf ] ||
		! grep -q '^create_main_cluster *= *false' /etc/postgresql-common/createcluster.conf; then
		echo 'create_main_cluster = false' >>/etc/postgresql-common/createcluster.conf
	fi
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
}

as_unprivileged() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

# PATH with this PostgreSQL's pg_config first
export PATH="$PG_BINDIR:$PATH"
