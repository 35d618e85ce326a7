/*
 * tenant_store_native: the signed tenant context's check, remembered per server session.
 *
 * `tenant_store_private.current_tenant(scope)` in PL/pgSQL costs about 55 us a statement: the
 * key lookup, the HMAC, and PL/pgSQL's set-up in each new transaction (see BENCHMARKS.md,
 * group "pgbench"). `tenant-store migrations native` replaces it with `current_tenant` below,
 * which keeps the PL/pgSQL function as `current_tenant_verify` and asks it only about a
 * context it has not seen verify on this backend.
 *
 * What is remembered: the last CACHE_SIZE (context text, scope) pairs that the PL/pgSQL check
 * answered with a tenant, with that tenant and when the check ran. A call whose setting is
 * byte for byte one of them, with the same scope, answers from memory after checking again
 * what depends on the transaction: the token's bound (a `t` token speaks only in the
 * transaction that started at that microsecond, an `e` token in transactions that start
 * before its expiry). Anything else is asked of the PL/pgSQL check, which verifies the HMAC,
 * the key, the backend and the bound, and raises on a token signed for another backend.
 *
 * Why this keeps every guarantee of the PL/pgSQL check:
 * - The memory is this process's static memory. SQL cannot read or write it: no function
 *   here takes a value to remember, only the setting the PL/pgSQL check accepted.
 * - A context is remembered only after the check accepted it on this backend, so its pid is
 *   this backend's; a hit compares the whole text (any other byte is a miss, and the check
 *   decides), so a forged token never matches one that verified.
 * - The bound is checked again on every hit, with the same arithmetic as the check.
 * - A retired key: a remembered context is answered from memory for at most
 *   MAX_AGE_US after its check, then checked again (the key's row is read again then).
 */
#include "postgres.h"

#include <limits.h>

#include "access/xact.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/regproc.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"

PG_MODULE_MAGIC;

#define CACHE_SIZE 8
#define MAX_CONTEXT 256
#define MAX_SCOPE 32
/* How long a remembered context is trusted without asking the key table again. */
#define MAX_AGE_US INT64CONST(1000000)
/* Microseconds from the Unix epoch to PostgreSQL's (2000-01-01). */
#define UNIX_TO_PG_US INT64CONST(946684800000000)

typedef struct Remembered
{
	bool		used;
	char		context[MAX_CONTEXT + 1];
	char		scope[MAX_SCOPE + 1];
	pg_uuid_t	tenant;
	/* 't': only the transaction that started at `bound` (us); 'e': those starting before `bound` (ms). */
	char		kind;
	int64		bound;
	/* When the PL/pgSQL check accepted it (transaction start, PostgreSQL's epoch). */
	TimestampTz checked_at;
} Remembered;

static Remembered remembered[CACHE_SIZE];
static int	next_slot = 0;

/* The token's fourth dot-separated field, `t<digits>` or `e<digits>`; false if it is not. */
static bool
parse_bound(const char *context, char *kind, int64 *bound)
{
	const char *p = context;
	int			dots = 0;
	int64		value = 0;

	while (*p && dots < 3)
		if (*p++ == '.')
			dots++;
	if (dots != 3 || (*p != 't' && *p != 'e'))
		return false;
	*kind = *p++;
	if (*p < '0' || *p > '9')
		return false;
	for (; *p >= '0' && *p <= '9'; p++)
	{
		if (value > (PG_INT64_MAX - 9) / 10)
			return false;
		value = value * 10 + (*p - '0');
	}
	if (*p != '.')
		return false;
	*bound = value;
	return true;
}

/* Whether a token of this bound speaks in the current transaction (the check's arithmetic). */
static bool
bound_holds(char kind, int64 bound)
{
	int64		started_us = GetCurrentTransactionStartTimestamp() + UNIX_TO_PG_US;

	if (kind == 't')
		return bound == started_us;
	/* e<ms>: substr(p[4], 2)::bigint * 1000 >= started_us; a bound past int64 holds. */
	return bound > PG_INT64_MAX / 1000 || bound * 1000 >= started_us;
}

/* The PL/pgSQL check, by its qualified name and argument type (no search_path involved). */
static Datum
verify(text *scope, bool *isnull)
{
	Oid			fn = DatumGetObjectId(DirectFunctionCall1(regprocedurein,
														  CStringGetDatum("tenant_store_private.current_tenant_verify(pg_catalog.text)")));
	FmgrInfo	flinfo;
	Datum		result;

	LOCAL_FCINFO(call, 1);
	fmgr_info(fn, &flinfo);
	InitFunctionCallInfoData(*call, &flinfo, 1, InvalidOid, NULL, NULL);
	call->args[0].value = PointerGetDatum(scope);
	call->args[0].isnull = false;
	result = FunctionCallInvoke(call);
	*isnull = call->isnull;
	return result;
}

PG_FUNCTION_INFO_V1(current_tenant);

Datum
current_tenant(PG_FUNCTION_ARGS)
{
	const char *setting;
	char		context[MAX_CONTEXT + 1];
	char		scope[MAX_SCOPE + 1];
	text	   *scope_text;
	size_t		scope_len;
	TimestampTz started = GetCurrentTransactionStartTimestamp();
	pg_uuid_t  *out;
	Datum		tenant;
	bool		isnull;
	char		kind;
	int64		bound;
	int			i;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	scope_text = PG_GETARG_TEXT_PP(0);
	scope_len = VARSIZE_ANY_EXHDR(scope_text);
	setting = GetConfigOption("tenant_store.ctx", true, false);
	/* The check answers NULL for these too; nothing to remember. */
	if (setting == NULL || strlen(setting) > MAX_CONTEXT || scope_len > MAX_SCOPE)
		PG_RETURN_NULL();
	/* A copy: the setting's storage is the GUC machinery's, and the check runs in between. */
	strlcpy(context, setting, sizeof(context));
	memcpy(scope, VARDATA_ANY(scope_text), scope_len);
	scope[scope_len] = '\0';
	if (strlen(scope) != scope_len)
		PG_RETURN_NULL();

	for (i = 0; i < CACHE_SIZE; i++)
	{
		Remembered *r = &remembered[i];

		if (r->used && strcmp(r->context, context) == 0 && strcmp(r->scope, scope) == 0)
		{
			if (started >= r->checked_at && started - r->checked_at < MAX_AGE_US)
			{
				if (!bound_holds(r->kind, r->bound))
					PG_RETURN_NULL();
				out = (pg_uuid_t *) palloc(sizeof(pg_uuid_t));
				memcpy(out, &r->tenant, sizeof(pg_uuid_t));
				PG_RETURN_UUID_P(out);
			}
			r->used = false;	/* too old: ask again */
		}
	}

	tenant = verify(scope_text, &isnull);
	if (isnull)
		PG_RETURN_NULL();
	if (parse_bound(context, &kind, &bound))
	{
		Remembered *r = &remembered[next_slot];

		next_slot = (next_slot + 1) % CACHE_SIZE;
		strlcpy(r->context, context, sizeof(r->context));
		strlcpy(r->scope, scope, sizeof(r->scope));
		memcpy(&r->tenant, DatumGetUUIDP(tenant), sizeof(pg_uuid_t));
		r->kind = kind;
		r->bound = bound;
		r->checked_at = started;
		r->used = true;
	}
	out = (pg_uuid_t *) palloc(sizeof(pg_uuid_t));
	memcpy(out, DatumGetUUIDP(tenant), sizeof(pg_uuid_t));
	PG_RETURN_UUID_P(out);
}
