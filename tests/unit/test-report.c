/* SPDX-License-Identifier: MIT */
/*
 * test-report.c - unit tests for the report model and its writers:
 * grouping of live blocks by stack, the sort order and its tie-breaks,
 * top-N truncation and total_stacks, blocks with an unknown stack id, the
 * text writer's exact output (module+offset for a frame without a
 * function), the JSON writer's output parsed back with json-c (nulls, hex
 * pcs, module offsets, escaping), and write errors (-EIO on /dev/full).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "leaktrap/report.h"
#include "test.h"

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static struct report_frame frame(uint64_t pc, const char *function,
				 uint64_t offset, const char *module,
				 const char *file, int line)
{
	return (struct report_frame){ .pc = pc,
		.function = dup_or_null(function), .offset = offset,
		.module = dup_or_null(module), .file = dup_or_null(file),
		.line = line };
}

/* ---- report_build ----------------------------------------------------- */

/* The defaults: no filter, by bytes, then --top. */
static int build_top(const struct ledger *lg, const struct stacks *st, unsigned top,
		     struct report *rep)
{
	struct report_options o = { .sort = REPORT_SORT_BYTES };
	int err = report_build(lg, st, &o, rep);
	if (!err)
		report_truncate(rep, top);
	return err;
}

struct fixture {
	struct ledger *lg;
	struct stacks *st;
	uint64_t next_addr;
};

static void fixture_alloc(struct fixture *fx, uint32_t stack, uint64_t size,
			  unsigned count)
{
	for (unsigned i = 0; i < count; i++) {
		struct ledger_block b = { .addr = fx->next_addr += 0x100,
					  .size = size, .stack_id = stack };

		TEST_ASSERT(ledger_alloc(fx->lg, &b) == 0);
	}
}

/* Stacks 0..6, stack k has k frames 0xk0, 0xk1, ... (stack 0 is empty). */
static void fixture_init(struct fixture *fx)
{
	fx->lg = ledger_create();
	fx->st = stacks_create();
	fx->next_addr = 0x10000;
	for (uint32_t k = 0; k < 7; k++) {
		uint64_t pcs[7];
		uint32_t id = UINT32_MAX;

		for (uint32_t f = 0; f < k; f++)
			pcs[f] = k * 0x10 + f;
		TEST_ASSERT(stacks_intern(fx->st, pcs, k, &id) == 0);
		TEST_ASSERT_EQ_U64(id, k);
	}
}

static void fixture_fini(struct fixture *fx)
{
	ledger_destroy(fx->lg);
	stacks_destroy(fx->st);
}

/* Expected order: 3 (500 B), 0 (200 B), 2 (100 B in 4), 1 and 6 (100 B in
 * 2, id breaks the tie), 5 (100 B in 1); stack 4's blocks were freed. */
static const struct {
	uint32_t id;
	uint64_t bytes, blocks;
} sorted[] = {
	{ 3, 500, 1 }, { 0, 200, 2 }, { 2, 100, 4 },
	{ 1, 100, 2 }, { 6, 100, 2 }, { 5, 100, 1 },
};

static void fixture_fill(struct fixture *fx)
{
	fixture_alloc(fx, 6, 50, 2);
	fixture_alloc(fx, 5, 100, 1);
	fixture_alloc(fx, 4, 1000, 1);
	TEST_ASSERT(ledger_free(fx->lg, fx->next_addr) == 0);
	fixture_alloc(fx, 1, 50, 2);
	fixture_alloc(fx, 2, 25, 4);
	fixture_alloc(fx, 3, 500, 1);
	fixture_alloc(fx, 0, 100, 2);
}

static void check_stack(const struct report_stack *rs, size_t k)
{
	TEST_ASSERT_EQ_U64(rs->stack_id, sorted[k].id);
	TEST_ASSERT_EQ_U64(rs->bytes, sorted[k].bytes);
	TEST_ASSERT_EQ_U64(rs->blocks, sorted[k].blocks);
	TEST_ASSERT_EQ_U64(rs->n_frames, sorted[k].id);
	TEST_ASSERT(rs->n_frames == 0 ? rs->frames == NULL : rs->frames != NULL);
	for (unsigned f = 0; f < rs->n_frames; f++) {
		TEST_ASSERT_EQ_U64(rs->frames[f].pc, sorted[k].id * 0x10 + f);
		TEST_ASSERT(rs->frames[f].function == NULL);
		TEST_ASSERT(rs->frames[f].module == NULL);
		TEST_ASSERT(rs->frames[f].file == NULL);
		TEST_ASSERT(rs->frames[f].line == 0);
	}
}

static void test_build_top(unsigned top, unsigned want_n)
{
	struct fixture fx;
	struct report rep;

	fixture_init(&fx);
	fixture_fill(&fx);
	TEST_ASSERT(build_top(fx.lg, fx.st, top, &rep) == 0);
	TEST_ASSERT_EQ_U64(rep.total_stacks, 6);
	TEST_ASSERT_EQ_U64(rep.n_stacks, want_n);
	TEST_ASSERT_EQ_U64(rep.totals.allocs, 13);
	TEST_ASSERT_EQ_U64(rep.totals.frees, 1);
	TEST_ASSERT_EQ_U64(rep.totals.live_blocks, 12);
	TEST_ASSERT_EQ_U64(rep.totals.live_bytes, 1100);
	for (unsigned k = 0; k < rep.n_stacks; k++)
		check_stack(&rep.stacks[k], k);
	/* symbolized strings are owned by the report; ASan checks release */
	if (rep.n_stacks > 2)
		rep.stacks[2].frames[0] = frame(0x20, "f", 1, "/m", "/f.c", 2);
	rep.command = strdup("app");
	report_release(&rep);
	TEST_ASSERT(rep.stacks == NULL && rep.command == NULL);
	fixture_fini(&fx);
}

static void test_build(void)
{
	static const struct {
		unsigned top, want_n;
	} cases[] = { { 0, 6 }, { 1, 1 }, { 2, 2 }, { 5, 5 }, { 6, 6 },
		      { 7, 6 }, { 1000, 6 } };

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		test_build_top(cases[i].top, cases[i].want_n);
}

static void test_build_empty(void)
{
	struct fixture fx;
	struct report rep;

	fixture_init(&fx);
	fixture_alloc(&fx, 2, 10, 1);
	TEST_ASSERT(ledger_free(fx.lg, fx.next_addr) == 0);
	TEST_ASSERT(build_top(fx.lg, fx.st, 0, &rep) == 0);
	TEST_ASSERT_EQ_U64(rep.n_stacks, 0);
	TEST_ASSERT_EQ_U64(rep.total_stacks, 0);
	TEST_ASSERT_EQ_U64(rep.totals.allocs, 1);
	TEST_ASSERT_EQ_U64(rep.totals.live_blocks, 0);
	report_release(&rep);
	report_release(NULL);
	fixture_fini(&fx);
}

static void test_build_unknown_id(void)
{
	struct fixture fx;
	struct report rep;

	fixture_init(&fx);
	fixture_alloc(&fx, 1, 10, 1);
	fixture_alloc(&fx, 99, 30, 1);   /* never interned */
	TEST_ASSERT(build_top(fx.lg, fx.st, 0, &rep) == 0);
	TEST_ASSERT_EQ_U64(rep.n_stacks, 2);
	TEST_ASSERT_EQ_U64(rep.stacks[0].stack_id, UINT32_MAX);
	TEST_ASSERT_EQ_U64(rep.stacks[0].bytes, 30);
	TEST_ASSERT_EQ_U64(rep.stacks[0].n_frames, 0);
	TEST_ASSERT_EQ_U64(rep.stacks[1].stack_id, 1);
	report_release(&rep);
	fixture_fini(&fx);
}

/* ---- a symbolized model for the writers -------------------------------- */

static void model_init(struct report *rep)
{
	struct report_stack *s = calloc(2, sizeof(*s));

	*rep = (struct report){ .pid = 4242, .command = strdup("app"),
		.duration_s = 3.04, .end_reason = "duration", .threads = 3,
		.functions = 9, .totals = { 12, 2, 0, 10, 81921 },
		.n_stacks = 2, .total_stacks = 2, .stacks = s };
	s[0] = (struct report_stack){ .stack_id = 4, .bytes = 81920,
		.blocks = 10, .n_frames = 3,
		.frames = calloc(3, sizeof(struct report_frame)) };
	s[0].frames[0] = frame(0x40113f, "fibonacci", 0x1f, "/usr/bin/app",
			       "/home/u/src/app.c", 7);
	s[0].frames[0].module_offset = 0x113f;
	s[0].frames[1] = frame(0x401183, "child", 0x43, "/usr/bin/app",
			       "app.c", 14);
	s[0].frames[2] = frame(0x7f3c8a294ac2, "start_thread", 0xf2,
			       "/lib/x86_64-linux-gnu/libc.so.6", NULL, 0);
	s[1] = (struct report_stack){ .stack_id = 0, .bytes = 1, .blocks = 1,
		.n_frames = 3, .frames = calloc(3, sizeof(struct report_frame)) };
	s[1].frames[0] = frame(0x401005, "main", 0x5, "/usr/bin/app",
			       "/src/main.c", 0);
	s[1].frames[1] = frame(0x401000, NULL, 0, "/usr/bin/app", NULL, 0);
	s[1].frames[1].module_offset = 0x1000;    /* a stripped object: bias 0x400000 */
	s[1].frames[2] = frame(0x7f00deadbeef, NULL, 0, NULL, NULL, 0);
}

/* Run a writer into memory; the text, or NULL.  *rc_ret gets its result. */
static char *write_to_string(int (*writer)(const struct report *, FILE *),
			     const struct report *rep, int *rc_ret)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	*rc_ret = writer(rep, f);
	fclose(f);
	return buf;
}

/* ---- text ------------------------------------------------------------- */

static const char text_full[] =
	"leaktrap: pid 4242 (app) traced 3.0 s: 12 allocs, 2 frees, "
	"10 live blocks (81921 bytes)\n"
	"\n"
	"81920 bytes in 10 allocations from stack\n"
	"    fibonacci+0x1f (app.c:7) [app]\n"
	"    child+0x43 (app.c:14) [app]\n"
	"    start_thread+0xf2 [libc.so.6]\n"
	"\n"
	"1 byte in 1 allocation from stack\n"
	"    main+0x5 (main.c) [app]\n"
	"    app+0x1000 [app]\n"
	"    0x7f00deadbeef [unknown]\n"
	"\n";

static const char text_truncated[] =
	"leaktrap: pid 4242 (app) traced 3.0 s: 12 allocs, 2 frees, "
	"10 live blocks (81921 bytes)\n"
	"leaktrap: 3 frees of blocks allocated before tracing ignored\n"
	"\n"
	"81920 bytes in 10 allocations from stack\n"
	"    fibonacci+0x1f (app.c:7) [app]\n"
	"    child+0x43 (app.c:14) [app]\n"
	"    start_thread+0xf2 [libc.so.6]\n"
	"\n"
	"leaktrap: 4 more stacks not shown (use -T to show more)\n"
	"\n";

static const char text_no_leaks[] =
	"leaktrap: pid 77 (?) traced 0.5 s: 5 allocs, 5 frees, "
	"0 live blocks (0 bytes)\n"
	"leaktrap: 1 free of a block allocated before tracing ignored\n"
	"leaktrap: no leaks: every block allocated while tracing was freed\n";

static void check_text(const struct report *rep, const char *want)
{
	int rc = -1;
	char *got = write_to_string(report_write_text, rep, &rc);

	TEST_ASSERT(rc == 0);
	TEST_ASSERT_STREQ(got, want);
	free(got);
}

static void test_text(void)
{
	struct report rep;
	struct report none = { .pid = 77, .duration_s = 0.46,
		.end_reason = "target-exit", .totals = { 5, 5, 1, 0, 0 } };

	model_init(&rep);
	check_text(&rep, text_full);
	rep.totals.frees_unknown = 3;
	rep.n_stacks = 1;          /* as if built with --top 1 of 5 */
	rep.total_stacks = 5;
	check_text(&rep, text_truncated);
	rep.n_stacks = 2;
	report_release(&rep);
	check_text(&none, text_no_leaks);
}

/* ---- JSON ------------------------------------------------------------- */

static struct json_object *get(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	TEST_ASSERT(json_object_object_get_ex(o, key, &v));
	return v;
}

static int64_t get_int(struct json_object *o, const char *key)
{
	struct json_object *v = get(o, key);

	TEST_ASSERT(json_object_is_type(v, json_type_int));
	return json_object_get_int64(v);
}

static const char *get_str(struct json_object *o, const char *key)
{
	struct json_object *v = get(o, key);

	return json_object_is_type(v, json_type_string) ?
	       json_object_get_string(v) : NULL;
}

static void check_json_top(struct json_object *root)
{
	struct json_object *t = get(root, "totals");

	TEST_ASSERT_STREQ(get_str(root, "schema"), "leaktrap-report/1");
	TEST_ASSERT_EQ_U64(get_int(root, "pid"), 4242);
	TEST_ASSERT_STREQ(get_str(root, "command"), "app");
	TEST_ASSERT(json_object_is_type(get(root, "duration_s"), json_type_double));
	TEST_ASSERT(json_object_get_double(get(root, "duration_s")) == 3.04);
	TEST_ASSERT_STREQ(get_str(root, "end_reason"), "duration");
	TEST_ASSERT_EQ_U64(get_int(root, "threads"), 3);
	TEST_ASSERT_EQ_U64(get_int(root, "functions"), 9);
	TEST_ASSERT_EQ_U64(get_int(t, "allocs"), 12);
	TEST_ASSERT_EQ_U64(get_int(t, "frees"), 2);
	TEST_ASSERT_EQ_U64(get_int(t, "frees_unknown"), 0);
	TEST_ASSERT_EQ_U64(get_int(t, "live_blocks"), 10);
	TEST_ASSERT_EQ_U64(get_int(t, "live_bytes"), 81921);
	TEST_ASSERT_EQ_U64(get_int(root, "total_stacks"), 2);
	TEST_ASSERT_EQ_U64(json_object_array_length(get(root, "stacks")), 2);
}

static void check_json_frames(struct json_object *root)
{
	struct json_object *s0 = json_object_array_get_idx(get(root, "stacks"), 0);
	struct json_object *s1 = json_object_array_get_idx(get(root, "stacks"), 1);
	struct json_object *f0 = json_object_array_get_idx(get(s0, "frames"), 0);
	struct json_object *f2 = json_object_array_get_idx(get(s0, "frames"), 2);
	struct json_object *g1 = json_object_array_get_idx(get(s1, "frames"), 1);
	struct json_object *g2 = json_object_array_get_idx(get(s1, "frames"), 2);

	TEST_ASSERT_EQ_U64(get_int(s0, "bytes"), 81920);
	TEST_ASSERT_EQ_U64(get_int(s0, "blocks"), 10);
	TEST_ASSERT_EQ_U64(json_object_array_length(get(s0, "frames")), 3);
	TEST_ASSERT_STREQ(get_str(f0, "pc"), "0x40113f");
	TEST_ASSERT_STREQ(get_str(f0, "function"), "fi\"bo\\na\x01\tcci");
	TEST_ASSERT_EQ_U64(get_int(f0, "offset"), 0x1f);
	TEST_ASSERT_STREQ(get_str(f0, "module"), "/usr/bin/app");
	TEST_ASSERT_EQ_U64(get_int(f0, "module_offset"), 0x113f);
	TEST_ASSERT_STREQ(get_str(f0, "file"), "/home/u/src/app.c");
	TEST_ASSERT_EQ_U64(get_int(f0, "line"), 7);
	TEST_ASSERT(get(f2, "file") == NULL && get(f2, "line") == NULL);
	TEST_ASSERT_STREQ(get_str(g2, "pc"), "0x7f00deadbeef");
	TEST_ASSERT(get(g2, "function") == NULL && get(g2, "offset") == NULL);
	TEST_ASSERT(get(g2, "module") == NULL && get(g2, "file") == NULL);
	TEST_ASSERT(get(g2, "module_offset") == NULL);
	/* a stripped object: no function, but module and module offset */
	TEST_ASSERT(get(g1, "function") == NULL && get(g1, "offset") == NULL);
	TEST_ASSERT_STREQ(get_str(g1, "module"), "/usr/bin/app");
	TEST_ASSERT_EQ_U64(get_int(g1, "module_offset"), 0x1000);
}

static void check_json_raw(const char *text)
{
	size_t len = strlen(text);

	TEST_ASSERT(len > 2 && strcmp(text + len - 2, "}\n") == 0);
	TEST_ASSERT(strstr(text, "\"fi\\\"bo\\\\na\\u0001\\tcci\"") != NULL);
	TEST_ASSERT(strstr(text, "\"/usr/bin/app\"") != NULL);   /* no \/ */
	TEST_ASSERT(strstr(text, "\"duration_s\":3.040,") != NULL);
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)text[i] < 0x20 && text[i] != '\n') {
			TEST_ASSERT(!"raw control character in JSON");
			break;
		}
}

static void test_json(void)
{
	struct report rep;
	int rc = -1;
	char *text;
	struct json_object *root;

	model_init(&rep);
	free(rep.stacks[0].frames[0].function);
	rep.stacks[0].frames[0].function = strdup("fi\"bo\\na\x01\tcci");
	text = write_to_string(report_write_json, &rep, &rc);
	TEST_ASSERT(rc == 0 && text != NULL);
	root = json_tokener_parse(text ? text : "");
	TEST_ASSERT(root != NULL);
	if (root) {
		check_json_top(root);
		check_json_frames(root);
	}
	check_json_raw(text ? text : "");
	json_object_put(root);
	free(text);
	report_release(&rep);
}

static void test_json_nulls(void)
{
	struct report rep = { .pid = 1, .end_reason = "exec" };
	int rc = -1;
	char *text = write_to_string(report_write_json, &rep, &rc);
	struct json_object *root = json_tokener_parse(text ? text : "");

	TEST_ASSERT(rc == 0 && root != NULL);
	if (root) {
		TEST_ASSERT(get(root, "command") == NULL);
		TEST_ASSERT(json_object_is_type(get(root, "stacks"),
						json_type_array));
		TEST_ASSERT_EQ_U64(json_object_array_length(get(root, "stacks")), 0);
		TEST_ASSERT_EQ_U64(get_int(root, "total_stacks"), 0);
	}
	json_object_put(root);
	free(text);
}

/* ---- write errors ----------------------------------------------------- */

static void test_write_errors(void)
{
	struct report rep;
	FILE *full = fopen("/dev/full", "w");

	if (!full) {
		fprintf(stderr, "skipping write-error tests: no /dev/full\n");
		return;
	}
	model_init(&rep);
	TEST_ASSERT(report_write_text(&rep, full) == -EIO);
	clearerr(full);
	TEST_ASSERT(report_write_json(&rep, full) == -EIO);
	fclose(full);
	report_release(&rep);
}

static void test_demangle(void)
{
	static const struct { const char *in, *want; } cases[] = {
		{ "_Z3fooi", "foo(int)" },
		{ "_ZN2ns5Cache4growEm", "ns::Cache::grow(unsigned long)" },
		{ "_ZnwmPv", "operator new(unsigned long, void*)" },
		{ "_Zbroken", "_Zbroken" },          /* does not demangle: kept */
		{ "fibonacci", "fibonacci" },         /* C: untouched */
	};
	enum { N = sizeof(cases) / sizeof(cases[0]) };
	struct report rep = { 0 };
	struct report_stack st = { .n_frames = N + 1 };
	st.frames = calloc(N + 1, sizeof(*st.frames));
	for (unsigned i = 0; i < N; i++)
		st.frames[i].function = strdup(cases[i].in);
	rep.stacks = malloc(sizeof(st));
	rep.stacks[0] = st;
	rep.n_stacks = 1;
	report_demangle(&rep);
	for (unsigned i = 0; i < N; i++)
		TEST_ASSERT_STREQ(rep.stacks[0].frames[i].function, cases[i].want);
	TEST_ASSERT(rep.stacks[0].frames[N].function == NULL);   /* unknown stays */
	report_release(&rep);
}

int main(void)
{
	test_demangle();
	test_build();
	test_build_empty();
	test_build_unknown_id();
	test_text();
	test_json();
	test_json_nulls();
	test_write_errors();
	return test_summary();
}
