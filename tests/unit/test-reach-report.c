/* SPDX-License-Identifier: MIT */
/*
 * test-reach-report.c - the report side of --reachability: report_build()
 * with a scan's classification groups blocks into loss records keyed by
 * (kind, stack) in memcheck's order (total bytes, kind, blocks) with
 * record numbers and indirect sizes; a block the scan did not see counts
 * as reachable; report_select_kinds() counts the error kinds and keeps the
 * shown ones; report_truncate() keeps the largest (last) records; the text
 * writer prints memcheck's record lines and LEAK SUMMARY, the JSON writer
 * the kind, summary and reachability objects; a scan that did not finish
 * gives the plain report with its note.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "leaktrap/report.h"
#include "test.h"

struct fixture {
	struct ledger *lg;
	struct stacks *st;
	struct reach_report rr;
	struct reach_entry e[16];
};

static void alloc(struct fixture *fx, uint64_t addr, uint64_t size, uint32_t stack,
		  int kind, uint64_t indirect)
{
	struct ledger_block b = { .addr = addr, .size = size, .stack_id = stack };
	TEST_ASSERT(ledger_alloc(fx->lg, &b) == 0);
	if (kind >= 0)
		fx->e[fx->rr.n_entries++] = (struct reach_entry){
			addr, { (uint8_t)kind, 0, indirect } };
}

/* Stacks 0..2 (one frame each).  Records:
 *   (definite, 0): 2 x 16 B, one holding 48 B indirectly -> total 80
 *   (indirect, 1): 3 x 16 B                               -> 48
 *   (possible, 1): 1 x 16 B                               -> 16
 *   (reachable, 2): 16 B + a block the scan did not see (32 B) -> 48
 * memcheck order: 16 possible, 48 indirect, 48 reachable, 80 definite. */
static void setup(struct fixture *fx)
{
	memset(fx, 0, sizeof(*fx));
	fx->lg = ledger_create();
	fx->st = stacks_create();
	for (uint32_t k = 0; k < 3; k++) {
		uint64_t pc = 0x1000 + k;
		uint32_t id;
		TEST_ASSERT(stacks_intern(fx->st, &pc, 1, &id) == 0);
	}
	fx->rr.entries = fx->e;
	alloc(fx, 0x100, 16, 0, REACH_DEFINITE, 48);
	alloc(fx, 0x200, 16, 0, REACH_DEFINITE, 0);
	alloc(fx, 0x300, 16, 1, REACH_INDIRECT, 0);
	alloc(fx, 0x400, 16, 1, REACH_INDIRECT, 0);
	alloc(fx, 0x500, 16, 1, REACH_INDIRECT, 0);
	alloc(fx, 0x600, 16, 1, REACH_POSSIBLE, 0);
	alloc(fx, 0x700, 16, 2, REACH_REACHABLE, 0);
	alloc(fx, 0x800, 32, 2, -1, 0);                 /* not seen by the scan */
	fx->rr.done = 1;
	fx->rr.stop_s = 0.25;
	fx->rr.heuristics = REACH_H_ALL;
	fx->rr.sum.bytes[REACH_DEFINITE] = 32, fx->rr.sum.blocks[REACH_DEFINITE] = 2;
	fx->rr.sum.bytes[REACH_INDIRECT] = 48, fx->rr.sum.blocks[REACH_INDIRECT] = 3;
	fx->rr.sum.bytes[REACH_POSSIBLE] = 16, fx->rr.sum.blocks[REACH_POSSIBLE] = 1;
	fx->rr.sum.bytes[REACH_REACHABLE] = 16, fx->rr.sum.blocks[REACH_REACHABLE] = 1;
	fx->rr.sum.h_bytes[REACH_H_STDSTRING] = 16, fx->rr.sum.h_blocks[REACH_H_STDSTRING] = 1;
}

static void teardown(struct fixture *fx)
{
	ledger_destroy(fx->lg);
	stacks_destroy(fx->st);
}

static int build(struct fixture *fx, struct report *rep)
{
	struct report_options o = { .sort = REPORT_SORT_BYTES, .reach = &fx->rr };
	return report_build(fx->lg, fx->st, &o, rep);
}

static void test_records(void)
{
	struct fixture fx;
	struct report rep;
	setup(&fx);
	if (!TEST_ASSERT(build(&fx, &rep) == 0))
		return;
	static const struct { int kind; uint32_t id; uint64_t bytes, blocks, indirect; } want[] = {
		{ REACH_POSSIBLE, 1, 16, 1, 0 },
		{ REACH_INDIRECT, 1, 48, 3, 0 },
		{ REACH_REACHABLE, 2, 48, 2, 0 },
		{ REACH_DEFINITE, 0, 32, 2, 48 },
	};
	TEST_ASSERT_EQ_U64(rep.n_stacks, 4);
	TEST_ASSERT_EQ_U64(rep.n_records, 4);
	for (unsigned i = 0; i < 4 && i < rep.n_stacks; i++) {
		TEST_ASSERT_EQ_U64(rep.stacks[i].kind, want[i].kind);
		TEST_ASSERT_EQ_U64(rep.stacks[i].stack_id, want[i].id);
		TEST_ASSERT_EQ_U64(rep.stacks[i].bytes, want[i].bytes);
		TEST_ASSERT_EQ_U64(rep.stacks[i].blocks, want[i].blocks);
		TEST_ASSERT_EQ_U64(rep.stacks[i].indirect_bytes, want[i].indirect);
		TEST_ASSERT_EQ_U64(rep.stacks[i].record, i + 1);
	}
	/* default kinds: definite, possible; errors for definite only */
	report_select_kinds(&rep, REACH_MASK_DEFAULT, 1u << REACH_DEFINITE);
	TEST_ASSERT_EQ_U64(rep.error_blocks, 2);
	TEST_ASSERT_EQ_U64(rep.error_bytes, 32);
	TEST_ASSERT_EQ_U64(rep.n_stacks, 2);
	report_truncate(&rep, 1);
	TEST_ASSERT_EQ_U64(rep.total_stacks, 2);
	TEST_ASSERT_EQ_U64(rep.leak_blocks, 3);
	TEST_ASSERT_EQ_U64(rep.n_stacks, 1);
	if (rep.n_stacks)
		TEST_ASSERT_EQ_U64(rep.stacks[0].kind, REACH_DEFINITE);  /* the largest */
	report_release(&rep);
	teardown(&fx);
}

static char *text_of(const struct report *rep, int json)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return NULL;
	int err = json ? report_write_json(rep, f) : report_write_text(rep, f);
	fclose(f);
	TEST_ASSERT(err == 0);
	return buf;
}

static void test_writers(void)
{
	struct fixture fx;
	struct report rep;
	setup(&fx);
	if (!TEST_ASSERT(build(&fx, &rep) == 0))
		return;
	report_select_kinds(&rep, REACH_MASK_ALL, REACH_MASK_DEFAULT);
	report_truncate(&rep, 0);
	char *t = text_of(&rep, 0);
	TEST_ASSERT(t && strstr(t, "\n80 (32 direct, 48 indirect) bytes in 2 blocks are definitely "
				"lost in loss record 4 of 4\n"));
	TEST_ASSERT(t && strstr(t, "\n48 bytes in 3 blocks are indirectly lost in loss record 2 "
				"of 4\n"));
	TEST_ASSERT(t && strstr(t, "\nLEAK SUMMARY:\n   definitely lost: 32 bytes in 2 blocks\n"
				"   indirectly lost: 48 bytes in 3 blocks\n"
				"     possibly lost: 16 bytes in 1 blocks\n"
				"   still reachable: 16 bytes in 1 blocks\n"
				"                      of which reachable via heuristic:\n"
				"                        stdstring          : 16 bytes in 1 blocks\n"
				"        suppressed: 0 bytes in 0 blocks\n"));
	TEST_ASSERT(t && strstr(t, "leaktrap: reachability: target stopped 0.250 s"));
	free(t);
	char *j = text_of(&rep, 1);
	struct json_object *o = j ? json_tokener_parse(j) : NULL, *v, *k;
	TEST_ASSERT(o != NULL);
	if (o) {
		TEST_ASSERT(json_object_object_get_ex(o, "stacks", &v) &&
			    json_object_array_length(v) == 4);
		struct json_object *last = json_object_array_get_idx(v, 3);
		TEST_ASSERT(json_object_object_get_ex(last, "kind", &k) &&
			    !strcmp(json_object_get_string(k), "definite"));
		TEST_ASSERT(json_object_object_get_ex(last, "indirect_bytes", &k) &&
			    json_object_get_int64(k) == 48);
		TEST_ASSERT(json_object_object_get_ex(o, "summary", &v) &&
			    json_object_object_get_ex(v, "indirect", &k) &&
			    json_object_object_get_ex(k, "blocks", &k) &&
			    json_object_get_int64(k) == 3);
		TEST_ASSERT(json_object_object_get_ex(o, "reachability", &v) &&
			    json_object_object_get_ex(v, "error_blocks", &k) &&
			    json_object_get_int64(k) == 3);
		json_object_put(o);
	}
	free(j);
	report_release(&rep);
	teardown(&fx);
}

/* The scan did not finish: the plain report, with the note. */
static void test_not_done(void)
{
	struct fixture fx;
	struct report rep;
	setup(&fx);
	fx.rr.done = 0;
	snprintf(fx.rr.note, sizeof(fx.rr.note), "the target called exec");
	if (!TEST_ASSERT(build(&fx, &rep) == 0))
		return;
	report_select_kinds(&rep, REACH_MASK_DEFAULT, REACH_MASK_DEFAULT);
	report_truncate(&rep, 0);
	TEST_ASSERT_EQ_U64(rep.n_stacks, 3);            /* by stack, all blocks */
	TEST_ASSERT_EQ_U64(rep.leak_blocks, 8);
	char *t = text_of(&rep, 0);
	TEST_ASSERT(t && strstr(t, "leaktrap: no reachability: the target called exec;"));
	TEST_ASSERT(t && !strstr(t, "LEAK SUMMARY"));
	free(t);
	char *j = text_of(&rep, 1);
	TEST_ASSERT(j && strstr(j, "\"summary\":null") && strstr(j, "\"kind\":null"));
	free(j);
	report_release(&rep);
	teardown(&fx);
}

int main(void)
{
	test_records();
	test_writers();
	test_not_done();
	return test_summary();
}
