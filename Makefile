# Makefile for sessionize, built with PGXS.
#
#   make                  build (warnings are errors)
#   make install          install into the PostgreSQL that pg_config names
#   make installcheck     run regress, isolation and TAP suites; each boots its
#                         own temporary server, so none needs to be running
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
	src/scheduler.o

# The install script of the version being made is built from its parts in
# src/sql/ (the window forms' 24 aggregates are generated); the scripts of
# released versions and the update scripts are kept as they are.
INSTALL_SQL = sessionize--$(EXTVERSION).sql
INSTALL_SQL_PARTS = src/sql/schema.sql src/sql/window_forms.sh src/sql/sessions.sql src/sql/jobs.sql
DATA = $(filter-out $(INSTALL_SQL),$(wildcard sessionize--*.sql))
DATA_built = $(INSTALL_SQL)

REGRESS = $(patsubst sql/%.sql,%,$(sort $(wildcard sql/*.sql)))
REGRESS_OPTS = --temp-instance=./tmp_check_regress --temp-config=$(srcdir)/sessionize.conf

ISOLATION = $(patsubst specs/%.spec,%,$(sort $(wildcard specs/*.spec)))
ISOLATION_OPTS = --temp-instance=./tmp_check_iso --temp-config=$(srcdir)/sessionize.conf

TAP_TESTS = 1
PROVE_TESTS = test/t/*.pl

PG_CFLAGS = -Wall -Wextra -Werror -Wno-unused-parameter -Wno-sign-compare -Wno-missing-field-initializers
PG_CPPFLAGS = -I$(srcdir)/src $(EXTRA_CPPFLAGS)

EXTRA_CLEAN = tmp_check_regress tmp_check_iso results output_iso

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs 2>/dev/null)

ifeq ($(wildcard $(PGXS)),)
# No PostgreSQL server development files yet: only the bootstrap targets.
all install installcheck installcheck-regress installcheck-isolation installcheck-tap:
	@echo "PostgreSQL server development files not found; run 'make test' (as root) to install them" >&2
	@exit 1
else
include $(PGXS)

# The suites one by one (installcheck runs all three, stopping at the first
# that fails).
.PHONY: installcheck-regress installcheck-isolation installcheck-tap
installcheck-regress:
	$(pg_regress_installcheck) $(REGRESS_OPTS) $(REGRESS)
installcheck-isolation:
	$(pg_isolation_regress_installcheck) $(ISOLATION_OPTS) $(ISOLATION)
installcheck-tap:
	$(prove_installcheck)
endif

$(INSTALL_SQL): $(INSTALL_SQL_PARTS)
	{ cat src/sql/schema.sql && bash src/sql/window_forms.sh && cat src/sql/sessions.sql src/sql/jobs.sql; } >$@.tmp
	mv $@.tmp $@

.PHONY: test demo
test:
	bash test/run

demo:
	bash test/demo
