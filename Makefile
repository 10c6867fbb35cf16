# Makefile for sessionize, built with PGXS.
#
#   make                  build (warnings are errors)
#   make install          install into the PostgreSQL that pg_config names
#   make installcheck     run the regress and isolation suites against the
#                         running server that PGHOST/PGPORT/PGUSER name (with
#                         sessionize installed; its worker must leave the test
#                         databases alone), then the TAP suite, whose tests
#                         boot their own servers.  As root, it runs as the
#                         postgres system user in a copy of the tree
#                         (test/as-postgres), since initdb refuses root.
#   make check-regress, make check-isolation
#                         the same suites on a temporary server of their own,
#                         with the settings in TEST_CONF (test/run runs them
#                         with test/preload.conf and test/no-preload.conf)
#   make test             all of the above from a fresh machine (installs the
#                         Debian packages it needs first; see test/run)
#   make demo             the live demo on a throwaway cluster (test/demo)

EXTENSION = sessionize
EXTVERSION = 0.2.0

MODULE_big = sessionize
OBJS = \
	src/sessionize.o \
	src/session_state.o \
	src/session_window.o \
	src/session_agg.o \
	src/first_last.o \
	src/user_sessions.o \
	src/session_srf.o \
	src/security.o \
	src/job_api.o \
	src/capture.o \
	src/refresh.o \
	src/apply_inserts.o \
	src/job_catalog.o \
	src/job_runner.o \
	src/ddl_events.o \
	src/worker_shmem.o \
	src/launcher.o \
	src/scheduler.o \
	src/measures.o \
	src/measures_build.o \
	src/numeric_scaled.o

# The install script of the version being made is built from its parts in
# src/sql/ (the window forms' 24 aggregates are generated); the scripts of
# released versions and the update scripts are kept as they are.
INSTALL_SQL = sessionize--$(EXTVERSION).sql
INSTALL_SQL_PARTS = src/sql/schema.sql src/sql/window_forms.sh src/sql/sessions.sql src/sql/first_last.sql src/sql/jobs.sql
DATA = $(filter-out $(INSTALL_SQL),$(wildcard sessionize--*.sql))
DATA_built = $(INSTALL_SQL)

REGRESS = $(patsubst sql/%.sql,%,$(sort $(wildcard sql/*.sql)))
ISOLATION = $(patsubst specs/%.spec,%,$(sort $(wildcard specs/*.spec)))
# settings of the temporary servers of check-regress and check-isolation
TEST_CONF = $(srcdir)/test/preload.conf

TAP_TESTS = 1
PROVE_TESTS = test/t/*.pl

PG_CFLAGS = -Wall -Wextra -Werror -Wno-unused-parameter -Wno-sign-compare -Wno-missing-field-initializers
PG_CPPFLAGS = -I$(srcdir)/src $(EXTRA_CPPFLAGS)

EXTRA_CLEAN = tmp_check_regress tmp_check_iso results output_iso

# installcheck is ours (below): in three parts, and as postgres when root
NO_INSTALLCHECK = 1

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs 2>/dev/null)

ifeq ($(wildcard $(PGXS)),)
# No PostgreSQL server development files yet: only the bootstrap targets.
all install installcheck installcheck-regress installcheck-isolation installcheck-tap check-regress check-isolation:
	@echo "PostgreSQL server development files not found; run 'make test' (as root) to install them" >&2
	@exit 1
else
include $(PGXS)

.PHONY: installcheck installcheck-regress installcheck-isolation installcheck-tap check-regress check-isolation
ifeq ($(shell id -u),0)
# pg_regress would connect as a role named root, and initdb refuses root:
# run the same target as postgres, in a copy of the tree postgres owns.
installcheck installcheck-regress installcheck-isolation installcheck-tap check-regress check-isolation:
	@bash $(srcdir)/test/as-postgres $@ $(MAKEOVERRIDES)
else
# The suites one by one; installcheck runs all three, stopping at the first
# that fails.
installcheck: installcheck-regress installcheck-isolation installcheck-tap
installcheck-regress: installcheck-server
	$(pg_regress_installcheck) $(REGRESS_OPTS) $(REGRESS)
installcheck-isolation: installcheck-server
	$(pg_isolation_regress_installcheck) $(ISOLATION_OPTS) $(ISOLATION)
installcheck-tap:
	$(prove_installcheck)
# Whether the running server can take the suites (test/installcheck-server).
.PHONY: installcheck-server
installcheck-server:
	@bash $(srcdir)/test/installcheck-server $(EXTVERSION) contrib_regression isolation_regression
check-regress:
	$(pg_regress_installcheck) --temp-instance=./tmp_check_regress --temp-config=$(TEST_CONF) $(REGRESS_OPTS) $(REGRESS)
check-isolation:
	$(pg_isolation_regress_installcheck) --temp-instance=./tmp_check_iso --temp-config=$(TEST_CONF) $(ISOLATION_OPTS) $(ISOLATION)
endif
endif

$(INSTALL_SQL): $(INSTALL_SQL_PARTS)
	{ cat src/sql/schema.sql && bash src/sql/window_forms.sh && cat src/sql/sessions.sql src/sql/first_last.sql src/sql/jobs.sql; } >$@.tmp
	mv $@.tmp $@

.PHONY: test demo
test:
	bash test/run

demo:
	bash test/demo
