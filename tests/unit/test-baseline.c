/* SPDX-License-Identifier: MIT */
/*
 * test-baseline.c - reading an earlier JSON report and keeping only the
 * stacks that grew: matching by function@module (not addresses), summing
 * equal signatures, several reports in one file (an exec, forks), loss
 * records matched by (kind, stack), malformed input with its message.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "leaktrap/baseline.h"
#include "test.h"

static const char *old_report =
	"{\"schema\":\"leaktrap-report/1\",\"stacks\":["
	"{\"bytes\":100,\"blocks\":1,\"frames\":["
	"  {\"pc\":\"0x1\",\"function\":\"leak\",\"module\":\"/usr/bin/app\"},"
	"  {\"pc\":\"0x2\",\"function\":\"main\",\"module\":\"/usr/bin/app\"}]},"
	"{\"bytes\":50,\"blocks\":1,\"frames\":["
	"  {\"pc\":\"0x3\",\"function\":null,\"module\":\"/lib/libx.so\"}]},"
	"{\"bytes\":20,\"blocks\":1,\"frames\":["
	"  {\"pc\":\"0x9\",\"function\":\"leak\",\"module\":\"/opt/app\"},"
	"  {\"pc\":\"0xa\",\"function\":\"main\",\"module\":\"/opt/app\"}]}]}";

static struct report_frame frame(const char *fn, const char *mod)
{
	struct report_frame f = { .pc = 0x1234 };
	f.function = fn ? strdup(fn) : NULL;
	f.module = mod ? strdup(mod) : NULL;
	return f;
}

static void add_stack(struct report *rep, uint64_t bytes, const char *fn1, const char *fn2,
		      const char *mod)
{
	struct report_stack *rs = &rep->stacks[rep->n_stacks++];
	memset(rs, 0, sizeof(*rs));
	rs->bytes = bytes, rs->blocks = 1;
	rs->frames = calloc(2, sizeof(*rs->frames));
	rs->frames[rs->n_frames++] = frame(fn1, mod);
	if (fn2)
		rs->frames[rs->n_frames++] = frame(fn2, mod);
}

static void test_lookup_and_filter(void)
{
	struct baseline *b = NULL;
	char err[256] = "";
	TEST_ASSERT(baseline_parse("old.json", old_report, &b, err, sizeof(err)) == 0);
	struct report rep = { 0 };
	rep.stacks = calloc(4, sizeof(*rep.stacks));
	add_stack(&rep, 130, "leak", "main", "/elsewhere/app");  /* grew: 120 before */
	add_stack(&rep, 120, "leak", "main", "/usr/bin/app");    /* same signature: 120 */
	add_stack(&rep, 50, NULL, NULL, "/lib/libx.so");         /* unchanged */
	add_stack(&rep, 10, "fresh", NULL, "/usr/bin/app");      /* new */
	TEST_ASSERT_EQ_U64(baseline_bytes(b, &rep.stacks[0]), 120);
	TEST_ASSERT_EQ_U64(baseline_bytes(b, &rep.stacks[2]), 50);
	TEST_ASSERT_EQ_U64(baseline_bytes(b, &rep.stacks[3]), 0);
	baseline_filter(b, &rep);
	TEST_ASSERT_EQ_U64(rep.n_stacks, 2);
	TEST_ASSERT_EQ_U64(rep.stacks[0].bytes, 130);
	TEST_ASSERT_STREQ(rep.stacks[1].frames[0].function, "fresh");
	report_release(&rep);
	baseline_destroy(b);
}

/* Two reports one after the other, as an exec'd program or --follow-forks
 * writes them: the stacks of both count. */
static void test_several_reports(void)
{
	static const char *two =
		"{\"schema\":\"leaktrap-report/1\",\"stacks\":["
		"{\"bytes\":30,\"blocks\":1,\"frames\":["
		"  {\"pc\":\"0x1\",\"function\":\"leak_old\",\"module\":\"/bin/app\"}]}]}\n"
		"{\"schema\":\"leaktrap-report/1\",\"stacks\":["
		"{\"bytes\":40,\"blocks\":1,\"frames\":["
		"  {\"pc\":\"0x1\",\"function\":\"leak_new\",\"module\":\"/bin/app\"}]}]}\n";
	struct baseline *b = NULL;
	char err[256] = "";
	if (!TEST_ASSERT(baseline_parse("two.json", two, &b, err, sizeof(err)) == 0)) {
		fprintf(stderr, "  got '%s'\n", err);
		return;
	}
	struct report rep = { 0 };
	rep.stacks = calloc(2, sizeof(*rep.stacks));
	add_stack(&rep, 30, "leak_old", NULL, "/bin/app");
	add_stack(&rep, 40, "leak_new", NULL, "/bin/app");
	TEST_ASSERT_EQ_U64(baseline_bytes(b, &rep.stacks[0]), 30);
	TEST_ASSERT_EQ_U64(baseline_bytes(b, &rep.stacks[1]), 40);
	report_release(&rep);
	baseline_destroy(b);
	/* a broken second report is still an error */
	b = (struct baseline *)0x1;
	TEST_ASSERT(baseline_parse("two.json", "{\"schema\":\"leaktrap-report/1\",\"stacks\":[]} {",
				   &b, err, sizeof(err)) == -EINVAL);
	TEST_ASSERT(b == (struct baseline *)0x1);
	TEST_ASSERT(!strncmp(err, "two.json: not JSON", 18));
}

/* --reachability: one stack is a loss record per kind; a definite record
 * is compared with the baseline's definite one, not with the sum of all
 * kinds.  A baseline without kinds matches any kind. */
static void test_kinds(void)
{
	static const char *reach =
		"{\"schema\":\"leaktrap-report/1\",\"stacks\":["
		"{\"bytes\":16,\"blocks\":1,\"kind\":\"definite\",\"frames\":["
		"  {\"pc\":\"0x1\",\"function\":\"leak\",\"module\":\"/bin/app\"}]},"
		"{\"bytes\":64,\"blocks\":4,\"kind\":\"reachable\",\"frames\":["
		"  {\"pc\":\"0x1\",\"function\":\"leak\",\"module\":\"/bin/app\"}]}]}";
	struct baseline *b = NULL;
	char err[256] = "";
	TEST_ASSERT(baseline_parse("reach.json", reach, &b, err, sizeof(err)) == 0);
	struct report rep = { 0 };
	rep.stacks = calloc(3, sizeof(*rep.stacks));
	add_stack(&rep, 32, "leak", NULL, "/bin/app");
	rep.stacks[0].kind = REACH_DEFINITE;            /* grew from 16 */
	add_stack(&rep, 64, "leak", NULL, "/bin/app");
	rep.stacks[1].kind = REACH_REACHABLE;           /* unchanged */
	add_stack(&rep, 80, "leak", NULL, "/bin/app");
	rep.stacks[2].kind = -1;                        /* a plain report: all kinds */
	TEST_ASSERT_EQ_U64(baseline_bytes(b, &rep.stacks[0]), 16);
	TEST_ASSERT_EQ_U64(baseline_bytes(b, &rep.stacks[1]), 64);
	TEST_ASSERT_EQ_U64(baseline_bytes(b, &rep.stacks[2]), 80);
	baseline_filter(b, &rep);
	TEST_ASSERT_EQ_U64(rep.n_stacks, 1);
	TEST_ASSERT_EQ_U64(rep.stacks[0].bytes, 32);
	report_release(&rep);
	baseline_destroy(b);
	/* a baseline without kinds: the definite record sums every stack */
	TEST_ASSERT(baseline_parse("old.json", old_report, &b, err, sizeof(err)) == 0);
	rep = (struct report){ 0 };
	rep.stacks = calloc(1, sizeof(*rep.stacks));
	add_stack(&rep, 10, "leak", "main", "/usr/bin/app");
	rep.stacks[0].kind = REACH_DEFINITE;
	TEST_ASSERT_EQ_U64(baseline_bytes(b, &rep.stacks[0]), 120);
	report_release(&rep);
	baseline_destroy(b);
}

static void test_malformed(void)
{
	static const struct { const char *json; const char *msg; } cases[] = {
		{ "{", "old.json: not JSON" },
		{ "[]", "old.json: not a leaktrap JSON report" },
		{ "{\"schema\":\"other/1\",\"stacks\":[]}", "old.json: not a leaktrap JSON report" },
		{ "{\"schema\":\"leaktrap-report/1\"}", "old.json: no \"stacks\" array" },
		{ "{\"schema\":\"leaktrap-report/1\",\"stacks\":[{\"frames\":[]}]}",
		  "old.json: a stack without bytes or frames" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct baseline *b = (struct baseline *)0x1;       /* canary */
		char err[256] = "";
		TEST_ASSERT(baseline_parse("old.json", cases[i].json, &b, err, sizeof(err)) == -EINVAL);
		TEST_ASSERT(b == (struct baseline *)0x1);
		if (!TEST_ASSERT(!strncmp(err, cases[i].msg, strlen(cases[i].msg))))
			fprintf(stderr, "  got '%s'\n", err);
	}
	struct baseline *b = NULL;
	char err[256] = "";
	TEST_ASSERT(baseline_load("/nonexistent/old.json", &b, err, sizeof(err)) == -ENOENT);
	TEST_ASSERT(strstr(err, "/nonexistent/old.json") != NULL);
}

int main(void)
{
	test_lookup_and_filter();
	test_several_reports();
	test_kinds();
	test_malformed();
	return test_summary();
}
