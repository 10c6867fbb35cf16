/*-------------------------------------------------------------------------
 *
 * measures.c
 *	  Per-session measures of a job: the list a caller writes
 *	  ("sum(amount) AS revenue, first(page) AS landing_page"), parsed and
 *	  checked once, and kept as PostgreSQL's own deparsed text.
 *
 * The caller's text is never pasted into a statement.  It goes through the
 * raw parser as the target list of a SELECT, whose tree must be a target
 * list and nothing else (no FROM, WHERE, second statement, ...); the tree
 * is analyzed against the job's source, each entry must be an aggregate
 * over the source's columns and call no volatile function; and what is
 * stored, and later run as the job owner, is each expression as ruleutils
 * deparses it with only pg_catalog on the search_path: every name quoted,
 * every function and operator outside pg_catalog schema-qualified, every
 * column as e.<column> (the source's alias in the job's statements).
 *
 * first(x) and last(x) (unqualified, one argument) are rewritten, before
 * analysis, to sessionize.first(x, <time column>) and sessionize.last(x,
 * <time column>): the value at the session's first and last event.
 *
 * Copyright (c) 2026, the sessionize developers
 *
 * src/measures.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_aggregate.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/clauses.h"
#include "optimizer/optimizer.h"
#include "parser/analyze.h"
#include "parser/parser.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/resowner.h"
#include "utils/ruleutils.h"

#include "measures.h"
#include "security.h"

/* The columns every target has, which no measure may be named. */
static const char *const fixed_columns[] = {
	"session_start", "last_event_at", "session_end", "event_count", "closed"
};

/* Is name one of the columns of every target (or the user column)? */
static bool
is_fixed_column(const char *name, const char *user_column)
{
	for (int i = 0; i < lengthof(fixed_columns); i++)
		if (strcmp(name, fixed_columns[i]) == 0)
			return true;
	return strcmp(name, user_column) == 0;
}

/* Rewrite first(x) and last(x) to sessionize.first(x, time) and friends. */
static bool
rewrite_first_last(Node *node, void *context)
{
	const char *time_column = (const char *) context;

	if (node == NULL)
		return false;
	if (IsA(node, FuncCall))
	{
		FuncCall   *fc = (FuncCall *) node;

		if (list_length(fc->funcname) == 1 && list_length(fc->args) == 1 &&
			!fc->agg_star && fc->agg_order == NIL && fc->over == NULL &&
			!fc->agg_within_group && !fc->func_variadic)
		{
			const char *name = strVal(linitial(fc->funcname));

			if (strcmp(name, "first") == 0 || strcmp(name, "last") == 0)
			{
				ColumnRef  *cref = makeNode(ColumnRef);

				cref->fields = list_make2(makeString("e"), makeString(pstrdup(time_column)));
				cref->location = -1;
				fc->funcname = list_make2(makeString("sessionize"), makeString(pstrdup(name)));
				fc->args = lappend(fc->args, cref);
			}
		}
	}
	return raw_expression_tree_walker(node, rewrite_first_last, context);
}

/* Does the expression use a whole row or a system column of the source? */
static bool
uses_other_than_columns(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (IsA(node, Var) && ((Var *) node)->varattno <= 0)
		return true;
	return expression_tree_walker(node, uses_other_than_columns, context);
}

/*
 * An error in the measures points into the measure list, not into the
 * caller's statement, as PL/pgSQL does for its queries.
 */
static void
measures_error_callback(void *arg)
{
	const char *text = (const char *) arg;
	int			pos = geterrposition();

	if (pos > 0)
	{
		errposition(0);
		/* "SELECT " precedes the list in what was parsed */
		if (pos > 7)
		{
			internalerrposition(pos - 7);
			internalerrquery(text);
		}
	}
	errcontext("measures: %s", text);
}

/*
 * How a run may merge the measure of a session that new events extend with
 * the measure of those events alone (see apply_inserts.c), or NULL when it
 * must recompute it from all of the session's events.  Only a plain call
 * of one of these aggregates (no DISTINCT, no ORDER BY) merges:
 *	- pg_catalog's count(), and sum() of a type whose + adds the sums: the
 *	  two values added (a NULL sum is no value);
 *	- pg_catalog's min() and max(): LEAST and GREATEST, which skip NULLs as
 *	  the aggregates do; only for an uncollated type or the default
 *	  collation, which LEAST and GREATEST then use too;
 *	- bool_and(), every() and bool_or(): AND and OR of the non-null values;
 *	- sessionize.first() and last() without FILTER: the stored value stays
 *	  the first (new events come after it), and the last is the new events'.
 */
static const char *
merge_kind(Expr *expr)
{
	Aggref	   *agg;
	char	   *name;
	Oid			nsp;

	if (!IsA(expr, Aggref))
		return NULL;
	agg = (Aggref *) expr;
	if (agg->aggdistinct != NIL || agg->aggorder != NIL || agg->aggkind != AGGKIND_NORMAL ||
		agg->agglevelsup != 0 || agg->aggvariadic)
		return NULL;
	name = get_func_name(agg->aggfnoid);
	nsp = get_func_namespace(agg->aggfnoid);
	if (name == NULL)
		return NULL;
	if (nsp == PG_CATALOG_NAMESPACE)
	{
		if (strcmp(name, "count") == 0)
			return "count";
		if (strcmp(name, "sum") == 0)
		{
			switch (agg->aggtype)
			{
				case INT8OID:
				case NUMERICOID:
				case FLOAT4OID:
				case FLOAT8OID:
				case INTERVALOID:
				case CASHOID:
					return "sum";
				default:
					return NULL;
			}
		}
		if (strcmp(name, "min") == 0 || strcmp(name, "max") == 0)
		{
			if (OidIsValid(agg->aggcollid) && agg->aggcollid != DEFAULT_COLLATION_OID)
				return NULL;
			return strcmp(name, "min") == 0 ? "min" : "max";
		}
		if (strcmp(name, "bool_and") == 0 || strcmp(name, "every") == 0)
			return "and";
		if (strcmp(name, "bool_or") == 0)
			return "or";
		return NULL;
	}
	if (nsp == get_namespace_oid("sessionize", true) && agg->aggfilter == NULL)
	{
		if (strcmp(name, "first") == 0)
			return "first";
		if (strcmp(name, "last") == 0)
			return "last";
	}
	return NULL;
}

/* The raw statement must be "SELECT <target list>", nothing more. */
static SelectStmt *
check_shape(List *raw, const char *text)
{
	RawStmt    *rs;
	SelectStmt *s;

	if (list_length(raw) != 1 || !IsA(((RawStmt *) linitial(raw))->stmt, SelectStmt))
		ereport(ERROR,
				(errcode(ERRCODE_SYNTAX_ERROR),
				 errmsg("measures must be a list of aggregate expressions"),
				 errdetail("The list was: %s", text),
				 errhint("Write them as in a SELECT list, for example: sum(amount) AS revenue, first(page) AS landing_page.")));
	rs = linitial(raw);
	s = (SelectStmt *) rs->stmt;
	if (s->distinctClause || s->intoClause || s->fromClause || s->whereClause ||
		s->groupClause || s->groupDistinct || s->havingClause || s->windowClause ||
		s->valuesLists || s->sortClause || s->limitOffset || s->limitCount ||
		s->lockingClause || s->withClause || s->op != SETOP_NONE ||
		s->targetList == NIL)
		ereport(ERROR,
				(errcode(ERRCODE_SYNTAX_ERROR),
				 errmsg("measures must be a list of aggregate expressions"),
				 errdetail("The list was: %s", text),
				 errhint("Write them as in a SELECT list, without FROM, WHERE or GROUP BY: the job aggregates each session's events.")));
	return s;
}

/*
 * Parse, check and deparse a list of measures over "source" (whose time
 * column is time_column and user column user_column), as the current user,
 * with the current search_path resolving names.  Returns a List of JobMeasure.
 * Raises an error with an SQLSTATE for anything that is not a list of
 * non-volatile aggregates over the source's columns, each named, under
 * names that are not the target's own columns, or that the current user
 * could not evaluate (checked by running the list over no rows, as the job
 * runs it: restricted, pg_catalog alone on the search_path).
 */
List *
sessionize_parse_measures(const char *text, Oid source, const char *user_column,
						  const char *time_column)
{
	char	   *sql = psprintf("SELECT %s", text);
	List	   *raw;
	SelectStmt *sel;
	RangeVar   *rv;
	Query	   *query;
	ListCell   *lc;
	List	   *result = NIL;
	List	   *names = NIL;
	List	   *dpcontext;
	SessionizeIdentity saved;
	StringInfoData check;
	int			position = 0;
	ErrorContextCallback errcb;

	errcb.callback = measures_error_callback;
	errcb.arg = (void *) text;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;

	raw = raw_parser(sql, RAW_PARSE_DEFAULT);
	sel = check_shape(raw, text);

	foreach(lc, sel->targetList)
	{
		ResTarget  *rt = lfirst_node(ResTarget, lc);
		ListCell   *ln;

		position++;
		if (rt->name == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_COLUMN_DEFINITION),
					 errmsg("measure %d has no name", position),
					 errhint("Name each measure with AS, for example: sum(amount) AS revenue.")));
		if (is_fixed_column(rt->name, user_column))
			ereport(ERROR,
					(errcode(ERRCODE_DUPLICATE_COLUMN),
					 errmsg("measure \"%s\" has the name of a column every target has", rt->name),
					 errhint("Name it otherwise: the target's columns are the user column, session_start, last_event_at, session_end, event_count and closed.")));
		foreach(ln, names)
			if (strcmp((char *) lfirst(ln), rt->name) == 0)
				ereport(ERROR,
						(errcode(ERRCODE_DUPLICATE_COLUMN),
						 errmsg("measure \"%s\" is named twice", rt->name)));
		names = lappend(names, rt->name);
		(void) rewrite_first_last(rt->val, (void *) time_column);
	}

	/* FROM the source, by its oid, under the alias e */
	rv = makeRangeVar(get_namespace_name(get_rel_namespace(source)),
					  get_rel_name(source), -1);
	if (rv->relname == NULL || rv->schemaname == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", source)));
	rv->alias = makeAlias("e", NIL);
	sel->fromClause = list_make1(rv);

	query = parse_analyze_fixedparams(linitial(raw), sql, NULL, 0, NULL);

	if (query->hasWindowFuncs)
		ereport(ERROR,
				(errcode(ERRCODE_WINDOWING_ERROR),
				 errmsg("window functions are not allowed in measures")));
	if (query->hasSubLinks)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("subqueries are not allowed in measures")));
	if (query->hasTargetSRFs)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("set-returning functions are not allowed in measures")));
	if (list_length(query->rtable) != 1 ||
		linitial_node(RangeTblEntry, query->rtable)->relid != source)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("measures must read the job's source"),
				 errdetail("The source was renamed or replaced while its measures were parsed.")));

	error_context_stack = errcb.previous;

	dpcontext = deparse_context_for("e", source);
	sessionize_become(GetUserId(), true, &saved);
	foreach(lc, query->targetList)
	{
		TargetEntry *tle = lfirst_node(TargetEntry, lc);
		JobMeasure *m;

		if (tle->resjunk)
			continue;
		if (!contain_agg_clause((Node *) tle->expr))
			ereport(ERROR,
					(errcode(ERRCODE_GROUPING_ERROR),
					 errmsg("measure \"%s\" is not an aggregate", tle->resname),
					 errhint("A measure aggregates the events of a session, for example count(*) or sum(amount).")));
		if (contain_volatile_functions((Node *) tle->expr))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
					 errmsg("measure \"%s\" calls a volatile function", tle->resname),
					 errhint("A job recomputes measures whenever their sessions change; they must give the same value each time.")));
		if (uses_other_than_columns((Node *) tle->expr, NULL))
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("measure \"%s\" uses a whole row or a system column", tle->resname),
					 errhint("Measures may use the source's columns only.")));
		m = palloc(sizeof(JobMeasure));
		m->name = pstrdup(tle->resname);
		/* with pg_catalog alone on the search_path: qualified names */
		m->definition = deparse_expression((Node *) tle->expr, dpcontext, true, false);
		m->type = format_type_with_typemod(exprType((Node *) tle->expr),
										   exprTypmod((Node *) tle->expr));
		m->merge = (char *) merge_kind(tle->expr);
		result = lappend(result, m);
	}

	/*
	 * Can the caller (the job owner) evaluate the list as the job will, with
	 * its privileges, from the stored text?  Run it over no rows.
	 */
	initStringInfo(&check);
	appendStringInfoString(&check, "SELECT ");
	foreach(lc, result)
	{
		JobMeasure *m = lfirst(lc);

		appendStringInfo(&check, "%s%s", foreach_current_index(lc) > 0 ? ", " : "", m->definition);
	}
	appendStringInfo(&check, " FROM %s e WHERE false",
					 quote_qualified_identifier(rv->schemaname, rv->relname));
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute(check.data, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not check the measures");
	SPI_finish();
	sessionize_restore(&saved);
	return result;
}

/* What check_one_measure() reports through the error context. */
typedef struct MeasureCheckContext
{
	int64		job_id;
	const JobMeasure *measure;
} MeasureCheckContext;

static void
measure_check_error_callback(void *arg)
{
	MeasureCheckContext *mc = (MeasureCheckContext *) arg;

	errcontext("measure \"%s\" of job " INT64_FORMAT ": %s",
			   mc->measure->name, mc->job_id, mc->measure->definition);
}

/*
 * A stored measure's definition analyzed over the source (qualified name
 * source_name), whose columns it names as e.<column>: its target entry,
 * the source the query's only range table entry (varno 1).  As the current
 * user; nothing is executed.
 */
TargetEntry *
sessionize_analyze_measure(Oid source, const char *source_name, const char *definition)
{
	char	   *sql = psprintf("SELECT %s FROM %s e", definition, source_name);
	List	   *raw = raw_parser(sql, RAW_PARSE_DEFAULT);
	Query	   *query = parse_analyze_fixedparams(linitial(raw), sql, NULL, 0, NULL);

	if (list_length(query->targetList) != 1 || list_length(query->rtable) != 1 ||
		linitial_node(RangeTblEntry, query->rtable)->relid != source)
		elog(ERROR, "measure %s is not one expression over the source", definition);
	return linitial_node(TargetEntry, query->targetList);
}

/*
 * Analyze one stored measure over the source (qualified name "source")
 * again, and check that it is still of the type its target column has
 * (m->type).  An analysis that fails raises its error; a type that is no
 * longer m->type is an error too with throw_error, else the problem
 * returned (NULL: none).  Caller has become the job owner, restricted,
 * with search_path pinned: analysis runs type input functions for the
 * definition's constants.  Nothing is executed.
 */
static char *
check_one_measure(int64 job_id, Oid source, const char *source_name, const JobMeasure *m,
				  bool throw_error)
{
	MeasureCheckContext mc = {job_id, m};
	ErrorContextCallback errcb;
	TargetEntry *tle;
	char	   *type;

	errcb.callback = measure_check_error_callback;
	errcb.arg = (void *) &mc;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;

	tle = sessionize_analyze_measure(source, source_name, m->definition);
	type = format_type_with_typemod(exprType((Node *) tle->expr), exprTypmod((Node *) tle->expr));
	error_context_stack = errcb.previous;
	if (strcmp(type, m->type) != 0 && !throw_error)
		return psprintf("42804: measure \"%s\" of job " INT64_FORMAT " is now of type %s, not %s, as a column it uses changed type",
						m->name, job_id, type, m->type);
	if (strcmp(type, m->type) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("measure \"%s\" of job " INT64_FORMAT " is now of type %s, not %s",
						m->name, job_id, type, m->type),
				 errdetail("A column it uses changed type."),
				 errhint("Set the job's measures again with sessionize.alter_job(" INT64_FORMAT ", measures => ...), which rebuilds its sessions.",
						 job_id)));
	return NULL;
}

/*
 * Do a job's stored measures still fit its source?  Each is analyzed over
 * the source again as the job owner, restricted: a column it uses that was
 * renamed, dropped or changed type (so that the measure's type is no longer
 * its target column's), a function that was dropped, are found here rather
 * than by a run that would write values of another type.  With
 * throw_error, the first problem is raised; otherwise it is returned as
 * 'SQLSTATE: message' (NULL: none), each measure checked in a
 * subtransaction of its own.
 */
char *
sessionize_measures_problem(int64 job_id, Oid source, Oid owner, List *measures,
							bool throw_error)
{
	char	   *relname = get_rel_name(source);
	char	   *nspname = relname ? get_namespace_name(get_rel_namespace(source)) : NULL;
	char	   *source_name;
	char	   *volatile problem = NULL;
	ListCell   *lc;

	if (measures == NIL || nspname == NULL)
		return NULL;			/* (a missing source is reported elsewhere) */
	source_name = quote_qualified_identifier(nspname, relname);

	foreach(lc, measures)
	{
		JobMeasure *m = lfirst(lc);
		SessionizeIdentity saved;
		MemoryContext oldcxt = CurrentMemoryContext;
		ResourceOwner oldowner = CurrentResourceOwner;

		if (throw_error)
		{
			sessionize_become(owner, true, &saved);
			(void) check_one_measure(job_id, source, source_name, m, true);
			sessionize_restore(&saved);
			continue;
		}

		BeginInternalSubTransaction(NULL);
		MemoryContextSwitchTo(oldcxt);
		PG_TRY();
		{
			sessionize_become(owner, true, &saved);
			problem = check_one_measure(job_id, source, source_name, m, false);
			sessionize_restore(&saved);
			ReleaseCurrentSubTransaction();
			MemoryContextSwitchTo(oldcxt);
			CurrentResourceOwner = oldowner;
		}
		PG_CATCH();
		{
			ErrorData  *edata;

			/* (aborting the subtransaction restores the user and the GUCs) */
			MemoryContextSwitchTo(oldcxt);
			edata = CopyErrorData();
			FlushErrorState();
			RollbackAndReleaseCurrentSubTransaction();
			MemoryContextSwitchTo(oldcxt);
			CurrentResourceOwner = oldowner;
			problem = psprintf("%s: measure \"%s\" of job " INT64_FORMAT " no longer fits its source: %s",
							   unpack_sql_state(edata->sqlerrcode), m->name, job_id, edata->message);
			FreeErrorData(edata);
		}
		PG_END_TRY();
		if (problem != NULL)
			return problem;
	}
	return NULL;
}

