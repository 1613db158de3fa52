/* SPDX-License-Identifier: MIT */
/*
 * test-report-formats.c - unit tests for the folded and SVG writers, fed
 * report models built by hand.  Folded: exact output (frame order, merging
 * of equal lines and the order after it, sanitized names, frames without a
 * function or module, a stack without frames), then the output parsed back
 * and summed.  SVG: well-formedness (a small checker here, and python3's
 * minidom when python3 is installed), one <rect> per call-tree node plus
 * the background, positions and widths proportional to bytes, escaping,
 * label truncation, stable colors.  Both: write errors on /dev/full.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "leaktrap/report.h"
#include "test.h"

/* ---- building models ---------------------------------------------------- */

struct fspec {
	uint64_t pc;
	const char *function;
	const char *module;
};

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

/* Append a stack of bytes with frames f[n] (innermost first) to rep. */
static void add_stack(struct report *rep, uint64_t bytes,
		      const struct fspec *f, unsigned n)
{
	struct report_stack *rs;

	rep->stacks = realloc(rep->stacks, (rep->n_stacks + 1) * sizeof(*rs));
	TEST_ASSERT(rep->stacks != NULL);
	rs = &rep->stacks[rep->n_stacks];
	*rs = (struct report_stack){ .stack_id = rep->n_stacks, .bytes = bytes,
		.blocks = 1, .n_frames = n,
		.frames = n ? calloc(n, sizeof(*rs->frames)) : NULL };
	for (unsigned i = 0; i < n; i++)
		rs->frames[i] = (struct report_frame){ .pc = f[i].pc,
			.function = dup_or_null(f[i].function),
			.offset = f[i].function ? 4 : 0,
			.module = dup_or_null(f[i].module) };
	rep->n_stacks++;
	rep->total_stacks++;
	rep->totals.live_blocks++;
	rep->totals.live_bytes += bytes;
	rep->totals.allocs++;
}

static uint64_t sum_bytes(const struct report *rep)
{
	uint64_t sum = 0;

	for (unsigned i = 0; i < rep->n_stacks; i++)
		sum += rep->stacks[i].bytes;
	return sum;
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

#define APP "/usr/bin/app"
#define LIBC "/lib/x86_64-linux-gnu/libc.so.6"
#define START { 0x401020, "_start", APP }
#define LIBC_START { 0x7f0000029d90, "__libc_start_main", LIBC }
#define MAIN { 0x401150, "main", APP }
#define DASH "\xe2\x80\x94"   /* the em dash of the SVG titles */
#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* ---- folded ------------------------------------------------------------- */

static void folded_model(struct report *rep)
{
	static const struct fspec s0[] = { { 0x401130, "leak_here", APP },
					   MAIN, LIBC_START, START };
	static const struct fspec s1[] = { { 0x401140, "op new(int;x)\r\n\t",
					     APP }, MAIN, LIBC_START, START };
	static const struct fspec s2[] = { { 0x401000, NULL, APP },
					   { 0x7f00deadbeef, NULL, NULL } };
	static const struct fspec s3[] = { { 0x401160, "helper", APP },
					   MAIN, LIBC_START, START };
	static const struct fspec s4[] = { { 0x401166, "helper", APP },
					   { 0x401177, "main", APP },
					   LIBC_START, START };
	static const struct fspec s5[] = { { 0x10, "", LIBC },
					   { 0xabc, NULL, "" } };
	static const struct fspec s6[] = { { 0x401180, "zeta", APP },
					   MAIN, LIBC_START, START };

	*rep = (struct report){ .pid = 4242, .command = strdup("app") };
	add_stack(rep, 4096, s0, 4);
	add_stack(rep, 100, s1, 4);
	add_stack(rep, 60, s2, 2);
	add_stack(rep, 40, s3, 4);
	add_stack(rep, 30, NULL, 0);
	add_stack(rep, 25, s4, 4);   /* the same line as s3: 65 bytes */
	add_stack(rep, 60, s6, 4);   /* ties with s2: ordered by text */
	add_stack(rep, 5, s5, 2);
	rep->total_stacks = 12;      /* as if --top had dropped some */
}

static const char folded_want[] =
	"_start;__libc_start_main;main;leak_here 4096\n"
	"_start;__libc_start_main;main;op_new(int_x)___ 100\n"
	"_start;__libc_start_main;main;helper 65\n"
	"0x7f00deadbeef;[app] 60\n"
	"_start;__libc_start_main;main;zeta 60\n"
	"[unknown] 30\n"
	"0xabc;[libc.so.6] 5\n";

static void test_folded_exact(void)
{
	struct report rep;
	int rc = -1;
	char *got;

	folded_model(&rep);
	got = write_to_string(report_write_folded, &rep, &rc);
	TEST_ASSERT(rc == 0);
	TEST_ASSERT_STREQ(got, folded_want);
	free(got);
	report_release(&rep);
}

/* Check one folded line (without its newline); its bytes, or UINT64_MAX. */
static uint64_t parse_folded_line(char *line)
{
	char *space = strrchr(line, ' '), *end, *frame, *save = NULL;
	unsigned long long bytes;
	unsigned frames = 0;

	if (!TEST_ASSERT(space && space > line && space[1]))
		return UINT64_MAX;
	*space = '\0';
	errno = 0;
	bytes = strtoull(space + 1, &end, 10);
	TEST_ASSERT(errno == 0 && *end == '\0');
	TEST_ASSERT(strchr(line, ' ') == NULL && strstr(line, ";;") == NULL);
	TEST_ASSERT(line[0] != ';' && line[strlen(line) - 1] != ';');
	for (frame = strtok_r(line, ";", &save); frame;
	     frame = strtok_r(NULL, ";", &save))
		frames++;
	TEST_ASSERT(frames >= 1);
	return bytes;
}

static void test_folded_parse_back(void)
{
	struct report rep;
	int rc = -1;
	char *text, *line, *save = NULL;
	uint64_t sum = 0;
	unsigned lines = 0;

	folded_model(&rep);
	text = write_to_string(report_write_folded, &rep, &rc);
	TEST_ASSERT(rc == 0 && text != NULL);
	TEST_ASSERT(text && text[strlen(text) - 1] == '\n');
	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save), lines++)
		sum += parse_folded_line(line);
	TEST_ASSERT_EQ_U64(lines, 7);   /* 8 stacks, two merged */
	TEST_ASSERT_EQ_U64(sum, sum_bytes(&rep));
	TEST_ASSERT_EQ_U64(sum, rep.totals.live_bytes);
	free(text);
	report_release(&rep);
}

static void test_folded_empty(void)
{
	struct report rep = { .pid = 1 };
	int rc = -1;
	char *got = write_to_string(report_write_folded, &rep, &rc);

	TEST_ASSERT(rc == 0);
	TEST_ASSERT_STREQ(got, "");
	free(got);
}

/* ---- a small XML well-formedness checker -------------------------------- */

struct xml_state {
	const char *p;
	const char *open[32];   /* names of the open elements */
	size_t open_len[32];
	unsigned depth;
	unsigned roots;
};

static size_t name_len(const char *p)
{
	size_t n = 0;

	while (p[n] && (strchr(":_-.", p[n]) || (p[n] >= 'a' && p[n] <= 'z') ||
			(p[n] >= 'A' && p[n] <= 'Z') ||
			(p[n] >= '0' && p[n] <= '9')))
		n++;
	return n;
}

/* Character data up to '<' (or, in a value, quote): '&' only as an
 * entity, no raw '<' or '>'.  0 or -1. */
static int xml_chars_ok(struct xml_state *x, char stop)
{
	static const char *const ents[] = { "&amp;", "&lt;", "&gt;",
					    "&quot;", "&apos;" };

	for (; *x->p && *x->p != '<' && *x->p != stop; x->p++) {
		size_t i = 0;

		if (*x->p == '>')
			return -1;
		if (*x->p != '&')
			continue;
		while (i < 5 && strncmp(x->p, ents[i], strlen(ents[i])) != 0)
			i++;
		if (i == 5)
			return -1;
		x->p += strlen(ents[i]) - 1;
	}
	return *x->p == '<' || *x->p == stop || stop == 0 ? 0 : -1;
}

/* After an element name: attributes name="value", then "/>" or ">". */
static int xml_attrs(struct xml_state *x, int *empty_ret)
{
	for (;;) {
		size_t n;

		while (*x->p == ' ' || *x->p == '\n')
			x->p++;
		if (strncmp(x->p, "/>", 2) == 0 || *x->p == '>') {
			*empty_ret = *x->p == '/';
			x->p += *empty_ret ? 2 : 1;
			return 0;
		}
		n = name_len(x->p);
		if (n == 0 || x->p[n] != '=' || x->p[n + 1] != '"')
			return -1;
		x->p += n + 2;
		if (xml_chars_ok(x, '"') != 0 || *x->p != '"')
			return -1;
		x->p++;
		if (*x->p != ' ' && *x->p != '/' && *x->p != '>')
			return -1;
	}
}

static int xml_close(struct xml_state *x)
{
	size_t n = name_len(x->p + 2);

	if (x->depth == 0 || n != x->open_len[x->depth - 1] ||
	    strncmp(x->p + 2, x->open[x->depth - 1], n) != 0 ||
	    x->p[2 + n] != '>')
		return -1;
	x->depth--;
	x->p += n + 3;
	return 0;
}

static int xml_open(struct xml_state *x)
{
	size_t n = name_len(x->p + 1);
	int empty = 0;

	if (n == 0 || x->depth == 32)
		return -1;
	if (x->depth == 0)
		x->roots++;
	x->open[x->depth] = x->p + 1;
	x->open_len[x->depth] = n;
	x->p += n + 1;
	if (xml_attrs(x, &empty) != 0)
		return -1;
	if (!empty)
		x->depth++;
	return 0;
}

/* 1 if s is one well-formed element after an optional <?xml ...?>. */
static int xml_well_formed(const char *s)
{
	struct xml_state x = { .p = s };

	if (strncmp(x.p, "<?xml ", 6) == 0 && strstr(x.p, "?>"))
		x.p = strstr(x.p, "?>") + 2;
	while (*x.p) {
		const char *text = x.p;

		if (xml_chars_ok(&x, 0) != 0)
			return 0;
		if (x.depth == 0 && strspn(text, " \n") < (size_t)(x.p - text))
			return 0;
		if (*x.p == '\0')
			break;
		if ((x.p[1] == '/' ? xml_close(&x) : xml_open(&x)) != 0)
			return 0;
	}
	return x.depth == 0 && x.roots == 1;
}

static void test_xml_checker(void)
{
	static const struct {
		const char *doc;
		int ok;
	} cases[] = {
		{ "<a/>", 1 }, { "<a>&amp;&lt;&gt;&quot;&apos;</a>", 1 },
		{ "<?xml version=\"1.0\"?>\n<a x=\"1\"><b/>t</a>\n", 1 },
		{ "<a><b></a></b>", 0 }, { "<a x=1/>", 0 },
		{ "<a>&foo;</a>", 0 },
		{ "<a>x & y</a>", 0 }, { "<a>x > y</a>", 0 }, { "<a>", 0 },
		{ "<a x=\"<\"/>", 0 }, { "<a x=\"1\"y=\"2\"/>", 0 },
		{ "<a></a><b/>", 0 }, { "x<a/>", 0 },
	};

	for (size_t i = 0; i < N_ELEMS(cases); i++)
		if (!TEST_ASSERT(xml_well_formed(cases[i].doc) == cases[i].ok))
			fprintf(stderr, "  case: %s\n", cases[i].doc);
}

/* ---- SVG ---------------------------------------------------------------- */

/* Temporary copies of SVG output for check_minidom(). */
static char minidom_files[4][32];
static unsigned n_minidom;

static void save_for_minidom(const char *svg)
{
	char *path;
	int fd;

	if (!TEST_ASSERT(n_minidom < 4))
		return;
	path = strcpy(minidom_files[n_minidom], "/tmp/leaktrap-svg-XXXXXX");
	fd = mkstemp(path);
	if (!TEST_ASSERT(fd >= 0))
		return;
	TEST_ASSERT(write(fd, svg, strlen(svg)) == (ssize_t)strlen(svg));
	close(fd);
	n_minidom++;
}

/* Parse the saved files with python3's minidom, in one run (python3 may
 * be slow to start); skipped when python3 is not installed. */
static void check_minidom(void)
{
	char cmd[512] = "python3 -c 'import sys, xml.dom.minidom as m; "
			"[m.parse(f) for f in sys.argv[1:]]'";

	for (unsigned i = 0; i < n_minidom; i++)
		strcat(strcat(cmd, " "), minidom_files[i]);
	if (system("command -v python3 >/dev/null 2>&1") != 0)
		fprintf(stderr, "skipping the minidom check: no python3\n");
	else
		TEST_ASSERT(system(cmd) == 0);
	for (unsigned i = 0; i < n_minidom; i++)
		unlink(minidom_files[i]);
}

static unsigned count(const char *s, const char *what)
{
	unsigned n = 0;

	for (; (s = strstr(s, what)) != NULL; s += strlen(what))
		n++;
	return n;
}

struct drawn {
	double x, width;
	unsigned y;
	char fill[32];
	char label[64];   /* "" without a <text> */
};

/* Find the node whose title starts with title; 0 or -1. */
static int find_node(const char *svg, const char *title, struct drawn *d)
{
	char want[256];
	const char *p, *text;

	snprintf(want, sizeof(want), "<g><title>%s", title);
	p = strstr(svg, want);
	if (!p || !(p = strstr(p, "<rect ")))
		return -1;
	*d = (struct drawn){ .label = "" };
	if (sscanf(p, "<rect x=\"%lf\" y=\"%u\" width=\"%lf\"", &d->x, &d->y,
		   &d->width) != 3 || !(p = strstr(p, "fill=\"")))
		return -1;
	sscanf(p, "fill=\"%31[^\"]", d->fill);
	text = strstr(p, "<text ");
	if (text && text < strstr(p, "</g>"))
		sscanf(strchr(text, '>') + 1, "%63[^<]", d->label);
	return 0;
}

/* Every node's width is its title's bytes times the scale. */
static void check_widths(const char *svg, double px_per_byte)
{
	const char *p = svg;

	while ((p = strstr(p, "<g><title>")) != NULL) {
		const char *dash = strstr(p, DASH " ");
		const char *rect = strstr(p, "<rect x=\"");
		unsigned long long bytes = 0;
		double x, width = -1;
		unsigned y;

		TEST_ASSERT(dash && rect && rect > dash);
		if (!dash || !rect)
			return;
		sscanf(dash + 4, "%llu", &bytes);
		sscanf(rect, "<rect x=\"%lf\" y=\"%u\" width=\"%lf\"", &x, &y,
		       &width);
		TEST_ASSERT(width >= 0 && width - bytes * px_per_byte < 0.006 &&
			    bytes * px_per_byte - width < 0.006);
		p = rect;
	}
}

static void tree_model(struct report *rep)
{
	static const struct fspec s1[] = { { 0x1, "leaf1", APP },
		{ 0x401200, "mid", APP }, MAIN, START };
	static const struct fspec s2[] = { { 0x3, "leaf2", APP },
		{ 0x401200, "mid", APP }, MAIN, START };
	static const struct fspec s3[] = { { 0x4, "other", APP }, MAIN, START };
	static const struct fspec s4[] = { { 0x2, "leaf1", APP },
		{ 0x401210, "mid", APP }, MAIN, START };

	*rep = (struct report){ .pid = 4242, .command = strdup("app") };
	add_stack(rep, 100, s1, 4);
	add_stack(rep, 50, s2, 4);
	add_stack(rep, 30, s3, 3);
	add_stack(rep, 20, s4, 4);
}

/* A node expected in an SVG: its title up to the closing tag, rect x,
 * y (ignored when 0) and width, and label ("" for none). */
struct want_node {
	const char *title;
	double x, width;
	unsigned y;
	const char *label;
};

static int near(double a, double b)
{
	return a > b - 0.006 && a < b + 0.006;
}

static void check_nodes(const char *svg, const struct want_node *want,
			size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct drawn d;

		if (!TEST_ASSERT(find_node(svg, want[i].title, &d) == 0)) {
			fprintf(stderr, "  node: %s\n", want[i].title);
			continue;
		}
		TEST_ASSERT(near(d.x, want[i].x));
		TEST_ASSERT(near(d.width, want[i].width));
		TEST_ASSERT(want[i].y == 0 || d.y == want[i].y);
		TEST_ASSERT_STREQ(d.label, want[i].label);
	}
}

/* height 170 = 56 + 5 rows * 16 + 34; scale 1180 px / 200 bytes; the
 * root at the bottom; siblings by function name */
static const struct want_node tree_want[] = {
	{ "all " DASH " 200 bytes, 100.00%<", 10, 1180, 120, "all" },
	{ "_start (app) " DASH " 200 bytes, 100.00%<", 10, 1180, 104,
	  "_start" },
	{ "main (app) " DASH " 200 bytes, 100.00%<", 10, 1180, 88, "main" },
	{ "mid (app) " DASH " 170 bytes, 85.00%<", 10, 1003, 72, "mid" },
	{ "other (app) " DASH " 30 bytes, 15.00%<", 1013, 177, 72,
	  "other" },
	{ "leaf1 (app) " DASH " 120 bytes, 60.00%<", 10, 708, 56, "leaf1" },
	{ "leaf2 (app) " DASH " 50 bytes, 25.00%<", 718, 295, 56, "leaf2" },
};

static void test_svg_tree(void)
{
	struct report rep;
	int rc = -1;
	char *svg, *again;

	tree_model(&rep);
	svg = write_to_string(report_write_svg, &rep, &rc);
	TEST_ASSERT(rc == 0 && svg != NULL);
	if (!svg)
		return;
	TEST_ASSERT(xml_well_formed(svg));
	save_for_minidom(svg);
	/* the background and one per node */
	TEST_ASSERT_EQ_U64(count(svg, "<rect "), 1 + 7);
	TEST_ASSERT_EQ_U64(count(svg, "<title>"), 7);
	TEST_ASSERT(strstr(svg, "height=\"170\"") != NULL);
	TEST_ASSERT(!strstr(svg, "<script") && !strstr(svg, "href"));
	TEST_ASSERT(strstr(svg, ">pid 4242 (app): 4 allocs, 0 frees, 4 live "
			   "blocks (200 bytes); graph: 4 stacks, 200 bytes<"));
	check_nodes(svg, tree_want, N_ELEMS(tree_want));
	check_widths(svg, 1180.0 / 200);
	again = write_to_string(report_write_svg, &rep, &rc);
	TEST_ASSERT_STREQ(again, svg);
	free(again);
	free(svg);
	report_release(&rep);
}

static void odd_model(struct report *rep)
{
	static const struct fspec s1[] = {
		{ 0x1, "a<b>&\"c\"", "/opt/x&y/lib'q.so" }, MAIN };
	static const struct fspec s2[] = { { 0x2, "a_very_long_function_name_"
					     "that_does_not_fit", APP }, MAIN };
	static const struct fspec s3[] = { { 0x3, "t\xffi\x01ny\xc3\xa9", APP },
					   MAIN };
	static const struct fspec s4[] = { { 0x7f00deadbeef, NULL, NULL },
		{ 0x7f0000001234, NULL, "/usr/lib/libfoo.so" }, MAIN };

	*rep = (struct report){ .pid = 7, .command = strdup("x&y\xff<\x1b") };
	add_stack(rep, 900, s1, 2);
	add_stack(rep, 90, s2, 2);
	add_stack(rep, 9, s3, 2);
	add_stack(rep, 1, s4, 3);
	rep->total_stacks = 6;
}

/* scale 1180 px / 1000 bytes; siblings by function, unknown last */
static const struct want_node odd_want[] = {
	{ "a&lt;b&gt;&amp;&quot;c&quot; (lib&apos;q.so) " DASH " 900 bytes, "
	  "90.00%<", 10, 1062, 0, "a&lt;b&gt;&amp;&quot;c&quot;" },
	{ "a_very_long_function_name_that_does_not_fit (app) " DASH " 90 "
	  "bytes, 9.00%<", 1072, 106.2, 0, "a_very_long_.." },
	{ "t?i?ny\xc3\xa9 (app) " DASH " 9 bytes, 0.90%<", 1178.2, 10.62, 0,
	  "" },
	{ "[libfoo.so] " DASH " 1 byte, 0.10%<", 1188.82, 1.18, 0, "" },
	{ "0x7f00deadbeef " DASH " 1 byte, 0.10%<", 1188.82, 1.18, 0, "" },
};

static void test_svg_escaping(void)
{
	struct report rep;
	int rc = -1;
	char *svg;

	odd_model(&rep);
	svg = write_to_string(report_write_svg, &rep, &rc);
	TEST_ASSERT(rc == 0 && svg != NULL);
	if (!svg)
		return;
	TEST_ASSERT(xml_well_formed(svg));
	save_for_minidom(svg);
	TEST_ASSERT_EQ_U64(count(svg, "<rect "), 1 + 7);
	TEST_ASSERT(strstr(svg, "a<b") == NULL && strstr(svg, "\xff") == NULL);
	TEST_ASSERT(strstr(svg, ">pid 7 (x&amp;y?&lt;?): ") != NULL);
	TEST_ASSERT(strstr(svg, "graph: 4 stacks, 1000 bytes "
			   "(the top 4 of 6)<"));
	check_nodes(svg, odd_want, N_ELEMS(odd_want));
	check_widths(svg, 1180.0 / 1000);
	free(svg);
	report_release(&rep);
}

/* The same function has the same warm color in different graphs. */
static void test_svg_colors(void)
{
	struct report a, b;
	int rc = -1;
	char *svg_a, *svg_b;
	struct drawn da, db;
	unsigned r = 0, g = 999, bl = 999;

	tree_model(&a);
	odd_model(&b);
	svg_a = write_to_string(report_write_svg, &a, &rc);
	svg_b = write_to_string(report_write_svg, &b, &rc);
	TEST_ASSERT(find_node(svg_a ? svg_a : "", "main (app)", &da) == 0);
	TEST_ASSERT(find_node(svg_b ? svg_b : "", "main (app)", &db) == 0);
	TEST_ASSERT_STREQ(da.fill, db.fill);
	TEST_ASSERT(sscanf(da.fill, "rgb(%u,%u,%u)", &r, &g, &bl) == 3);
	TEST_ASSERT(r >= 205 && r <= 255 && g <= 230 && bl <= 55);
	free(svg_a);
	free(svg_b);
	report_release(&a);
	report_release(&b);
}

static void test_svg_empty(void)
{
	struct report rep = { .pid = 1 };
	int rc = -1;
	char *svg = write_to_string(report_write_svg, &rep, &rc);
	struct drawn d;

	TEST_ASSERT(rc == 0 && svg != NULL);
	TEST_ASSERT(xml_well_formed(svg ? svg : ""));
	TEST_ASSERT_EQ_U64(count(svg ? svg : "", "<rect "), 2);
	TEST_ASSERT(find_node(svg ? svg : "", "all " DASH " 0 bytes, 0.00%",
			      &d) == 0);
	TEST_ASSERT(d.width == 0);
	free(svg);
}

/* ---- write errors ------------------------------------------------------- */

static void test_write_errors(void)
{
	struct report rep;
	FILE *full = fopen("/dev/full", "w");

	if (!full) {
		fprintf(stderr, "skipping write-error tests: no /dev/full\n");
		return;
	}
	tree_model(&rep);
	TEST_ASSERT(report_write_folded(&rep, full) == -EIO);
	clearerr(full);
	TEST_ASSERT(report_write_svg(&rep, full) == -EIO);
	fclose(full);
	report_release(&rep);
}

int main(void)
{
	test_folded_exact();
	test_folded_parse_back();
	test_folded_empty();
	test_xml_checker();
	test_svg_tree();
	test_svg_escaping();
	test_svg_colors();
	test_svg_empty();
	test_write_errors();
	check_minidom();
	return test_summary();
}
